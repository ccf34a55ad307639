#!/usr/bin/env python3
"""Baselines for `blocksim bench similars`: the similar-strings job done with torch on the CPU.

Reads the store's shards with numpy mmap (as the job reads them: the store's own .npy files, no
copy beforehand) and, for the first --samples strings of the job's sample (--sample FILE, int32,
written by the Java side, so both sides query the same strings), finds each one's k nearest rows
at every --entries entry. A string's query at (site, block) is its own stored last-position
vector, as in the job. Two engines:

  seed  the seed's way (SimilarStringsExperiment / the notebook's strings_with_topk_closest_*):
        candidates in batches of --cand-batch (10,000) rows, each batch copied out of its file as
        the seed loads one batch file; L2: torch.cdist(batch, queries); cosine: the seed's
        batch_cosine_sim, F.cosine_similarity(batch.reshape(B, 1, -1).expand(-1, n, -1), queries,
        dim=-1); then topk(k, dim=0) per batch, and the k best across batches from the
        concatenated per-batch top-k (the seed's topk_across_batches). L2 takes --seed-query-batch
        queries at a time (the job's batch: cdist runs a matrix product, faster per query the more
        queries it gets); cosine --seed-cosine-query-batch (2, the notebook's two prompts): on
        torch 1.13 one or two queries cost about 0.27 s per query and entry, 4 to 16 about 2 s
        (the expanded B x n x D operand), so 2 is the seed's fastest.
  tile  torch topk(Q @ X.T) per tile of --tile-rows candidate rows, --query-batch queries at a
        time (the job's batch): cosine divides by the stored row norms (queries normalized once),
        L2 is |x|^2 - 2 q.x + |q|^2 from the stored norms, sqrt of the k kept; the running top-k is
        merged with each tile's (cat + topk).

--gemm also times torch's sgemm on the tile baseline's shape (--query-batch x D times D x
--tile-rows, operands in memory, nothing else), the rate torch's BLAS reaches on this machine.

Prints one JSON object per line: {"record": "peer", "engine", "metric", "site", "block",
"position", "samples", "candidates", "dim", "k", "repeats", "median_s", "min_s", "max_s",
"disk_read_bytes", "notes"} per engine, metric and entry, and {"record": "gemm", "source":
"torch-sgemm", ...} with --gemm. With --ids-out DIR each engine's ids of the last repeat go to
DIR/ENGINE-METRIC-SITE-bB-tT.npy (int32 [samples, k]) for the Java side to compare. Progress on
stderr.
"""
import argparse
import json
import os
import statistics
import sys
import time

# Exactly what this script imports beyond the standard library (module: Debian package).
# tools/bench/check_imports.py checks every import.
REQUIRES = {"numpy": "python3-numpy", "torch": "python3-torch"}

try:
    import numpy as np
except ImportError as e:
    sys.exit(f"similars_peers.py needs python3 with numpy (Debian: python3-numpy): {e}")

EPS = 1e-8


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def disk_read_bytes():
    """Bytes this process caused to be read from storage (page cache misses included), or None."""
    try:
        with open("/proc/self/io", encoding="ascii") as f:
            for line in f:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Entry:
    """One stored (site, block, position): its shards and norms, memory-mapped."""

    def __init__(self, store, manifest, site, block, position):
        self.site, self.block, self.position = site, block, position
        found = [e for e in manifest["entries"]
                 if e["site"] == site and e["block"] == block and e["position"] == position]
        if not found:
            raise SystemExit(f"similars_peers.py: the store has no {site} block {block} position {position}")
        e = found[0]
        self.dim = e["dim"]
        self.rows = e["rows"]
        self.shards = []  # (first row, vectors memmap, norms memmap or None)
        first = 0
        for s in e["shards"]:
            v = np.load(os.path.join(store, s["file"]), mmap_mode="r")
            n = np.load(os.path.join(store, s["norms"]), mmap_mode="r") if s.get("norms") else None
            self.shards.append((first, v, n))
            first += v.shape[0]
        if first != self.rows:
            raise SystemExit(f"similars_peers.py: {site} b{block} t{position}: shards hold {first} rows, manifest {self.rows}")

    def name(self):
        return f"{self.site}-b{self.block}-t{self.position}"

    def slices(self, rows):
        """(first row, float32 array copy, norms copy) of consecutive slices of at most `rows` rows,
        never across a shard boundary (a shard is a file, as the seed's batches were)."""
        for first, v, n in self.shards:
            for a in range(0, v.shape[0], rows):
                b = min(v.shape[0], a + rows)
                x = np.array(v[a:b], dtype=np.float32)  # the copy the seed's torch.load of a batch makes
                norms = np.array(n[a:b], dtype=np.float32) if n is not None else np.linalg.norm(x, axis=1)
                yield first + a, x, norms

    def row(self, r):
        for first, v, _ in self.shards:
            if r < first + v.shape[0]:
                return np.array(v[r - first], dtype=np.float32)
        raise IndexError(r)


def merge(best_v, best_i, v, i, k, largest):
    """The k best of two top-k lists per query (columns): the seed's topk_across_batches step."""
    import torch
    if best_v is None:
        return v, i
    cv = torch.cat([best_v, v], dim=0)
    ci = torch.cat([best_i, i], dim=0)
    vv, idx = torch.topk(cv, k, dim=0, largest=largest)
    return vv, torch.gather(ci, 0, idx)


def seed_way(entry, queries, k, metric, args):
    """Candidates in batches of cand_batch rows: cdist / cosine_similarity, topk per batch, merged."""
    import torch
    import torch.nn.functional as F
    largest = metric == "cosine"
    n = queries.shape[0]
    qb = max(1, min(n, args.seed_cosine_query_batch if metric == "cosine" else args.seed_query_batch))
    ids = np.empty((n, k), dtype=np.int64)
    vals = np.empty((n, k), dtype=np.float32)
    with torch.no_grad():
        for q0 in range(0, n, qb):
            q = torch.from_numpy(queries[q0:q0 + qb])
            nq = q.shape[0]
            per_batch = []
            for first, x, _ in entry.slices(args.cand_batch):
                batch = torch.from_numpy(x)
                b = batch.shape[0]
                if largest:
                    sims = F.cosine_similarity(batch.reshape(b, 1, -1).expand(-1, nq, -1), q, dim=-1)
                else:
                    sims = torch.cdist(batch, q)
                v, i = torch.topk(sims, min(k, b), dim=0, largest=largest)
                per_batch.append((v, i + first))
            # the seed's topk_across_batches: the k best of every batch's k best
            v = torch.cat([p[0] for p in per_batch], dim=0)
            i = torch.cat([p[1] for p in per_batch], dim=0)
            vv, idx = torch.topk(v, k, dim=0, largest=largest)
            ids[q0:q0 + nq] = torch.gather(i, 0, idx).T.numpy()
            vals[q0:q0 + nq] = vv.T.numpy()
    return ids, vals, f"candidate batches of {args.cand_batch:,} rows, {qb} queries at a time"


def tile_way(entry, queries, k, metric, args):
    """topk(Q @ X.T) per tile of candidate rows, the running top-k merged with each tile's."""
    import torch
    largest = metric == "cosine"
    n = queries.shape[0]
    ids = np.empty((n, k), dtype=np.int64)
    vals = np.empty((n, k), dtype=np.float32)
    with torch.no_grad():
        for q0 in range(0, n, args.query_batch):
            q = torch.from_numpy(queries[q0:q0 + args.query_batch])
            if largest:
                q = q / q.norm(dim=1, keepdim=True).clamp_min(EPS)
            else:
                qsq = (q * q).sum(dim=1, keepdim=True)
            best_v = best_i = None
            for first, x, norms in entry.slices(args.tile_rows):
                xt = torch.from_numpy(x)
                nt = torch.from_numpy(norms)
                s = q @ xt.T  # [queries, tile]
                if largest:
                    s = s / nt.clamp_min(EPS)[None, :]
                else:
                    s = (qsq - 2 * s) + (nt * nt)[None, :]
                v, i = torch.topk(s, min(k, s.shape[1]), dim=1, largest=largest)
                best_v, best_i = merge(best_v, best_i, v.T, (i + first).T, k, largest)
            if not largest:
                best_v = best_v.clamp_min(0).sqrt()
            nq = q.shape[0]
            ids[q0:q0 + nq] = best_i.T.numpy()
            vals[q0:q0 + nq] = best_v.T.numpy()
    return ids, vals, f"tiles of {args.tile_rows:,} rows, {args.query_batch} queries at a time"


def time_gemm(dim, args):
    """torch's sgemm rate on the tile baseline's shape: [query_batch, dim] @ [dim, tile_rows]."""
    import torch
    rng = np.random.default_rng(7)
    q = torch.from_numpy(rng.random((args.query_batch, dim), dtype=np.float32))
    x = torch.from_numpy(rng.random((args.tile_rows, dim), dtype=np.float32))
    out = torch.empty((args.query_batch, args.tile_rows), dtype=torch.float32)
    flop = 2.0 * args.query_batch * args.tile_rows * dim
    with torch.no_grad():
        torch.matmul(q, x.T, out=out)
        rates = []
        for _ in range(max(3, args.repeats)):
            t0 = time.perf_counter()
            reps = 0
            while True:
                torch.matmul(q, x.T, out=out)
                reps += 1
                el = time.perf_counter() - t0
                if el >= 0.5:
                    break
            rates.append(reps * flop / el / 1e9)
    rec = {"record": "gemm", "source": "torch-sgemm", "m": args.query_batch, "n": args.tile_rows, "k": dim,
           "threads": args.threads, "gflop_per_s": statistics.median(rates), "samples": rates,
           "notes": f"torch {torch.__version__} matmul [{args.query_batch} x {dim}] @ [{dim} x {args.tile_rows}],"
                    f" operands in memory; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}"}
    print(json.dumps(rec), flush=True)
    log(f"torch sgemm {args.query_batch}x{dim}x{args.tile_rows}: {rec['gflop_per_s']:.1f} GFLOP/s")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", required=True)
    p.add_argument("--entries", required=True, help="SITE:BLOCK:POSITION,... (positions 0..L-1)")
    p.add_argument("--sample", required=True, help="int32 .npy of string indices, in the job's order")
    p.add_argument("--samples", type=int, default=0, help="the first N of the sample (0: all)")
    p.add_argument("--engines", default="seed,tile")
    p.add_argument("--seed-cosine-samples", type=int, default=0,
                   help="samples for the seed's cosine, by far the slowest (0: --samples)")
    p.add_argument("--metrics", default="l2,cosine")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--cand-batch", type=int, default=10000, help="the seed's candidate batch (rows)")
    p.add_argument("--seed-query-batch", type=int, default=512)
    p.add_argument("--seed-cosine-query-batch", type=int, default=2,
                   help="queries per batch of the seed's cosine (its fastest per query on torch 1.13)")
    p.add_argument("--query-batch", type=int, default=512, help="the tile baseline's query batch (the job's)")
    p.add_argument("--tile-rows", type=int, default=65536)
    p.add_argument("--gemm", action="store_true", help="also time torch's sgemm on the tile shape")
    p.add_argument("--ids-out", help="folder for each engine's ids (int32 .npy)")
    args = p.parse_args()
    try:
        import torch
    except ImportError as e:
        sys.exit(f"similars_peers.py needs torch (Debian: python3-torch): {e}")
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.store, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    entries = []
    for spec in [s for s in args.entries.split(",") if s]:
        site, block, position = spec.split(":")
        entries.append(Entry(args.store, manifest, site, int(block), int(position)))
    sample = np.load(args.sample)
    n = len(sample) if args.samples <= 0 else min(args.samples, len(sample))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    metrics = [m.strip().lower() for m in args.metrics.split(",") if m.strip()]
    for m in metrics:
        if m not in ("cosine", "l2"):
            p.error(f"unknown metric {m!r}: use cosine or l2")
    for e in engines:
        if e not in ("seed", "tile"):
            p.error(f"unknown engine {e!r}: use seed and/or tile")
    if args.gemm and entries:
        time_gemm(entries[0].dim, args)
    last = int(manifest["L"]) - 1
    for metric in metrics:
        for entry in entries:
            # the query of a sampled string: its own vector at the same site and block, last position
            qentry = entry if entry.position == last else Entry(args.store, manifest, entry.site, entry.block, last)
            for engine in engines:
                ns = n
                if engine == "seed" and metric == "cosine" and args.seed_cosine_samples > 0:
                    ns = min(n, args.seed_cosine_samples)
                queries = np.stack([qentry.row(int(s)) for s in sample[:ns]])
                fn = seed_way if engine == "seed" else tile_way
                times = []
                disk0 = disk_read_bytes()
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    ids, vals, notes = fn(entry, queries, args.k, metric, args)
                    times.append(time.perf_counter() - t0)
                disk1 = disk_read_bytes()
                rec = {"record": "peer", "engine": "torch-" + engine, "metric": metric, "site": entry.site,
                       "block": entry.block, "position": entry.position, "samples": ns, "candidates": entry.rows,
                       "dim": entry.dim, "k": args.k, "repeats": args.repeats, "median_s": statistics.median(times),
                       "min_s": min(times), "max_s": max(times),
                       "disk_read_bytes": None if disk0 is None else disk1 - disk0,
                       "notes": f"torch {torch.__version__}, {args.threads} threads, {notes}; OPENBLAS_CORETYPE="
                                f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}"}
                print(json.dumps(rec), flush=True)
                log(f"torch-{engine} {metric} {entry.name()}: {ns} queries in {rec['median_s']:.2f} s"
                    f" ({rec['median_s'] / ns * 1e3:.2f} ms per query)")
                if args.ids_out:
                    os.makedirs(args.ids_out, exist_ok=True)
                    np.save(os.path.join(args.ids_out, f"{engine}-{metric}-{entry.name()}.npy"), ids.astype(np.int32))


if __name__ == "__main__":
    main()
