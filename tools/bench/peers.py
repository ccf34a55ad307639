#!/usr/bin/env python3
"""Peers for `blocksim bench search`: exact top-k with torch and faiss on the CPU.

Generates float32 data of the same shape as the Java benchmark (uniform in [-1, 1); its own values,
from numpy), then times, for each metric and query count:
  torch  cosine: topk(Xn @ Qn.T) with the rows normalized once beforehand (as blocksim stores norms)
         l2:     topk of |x|^2 - 2 X @ Q.T + |q|^2 (|x|^2 precomputed once), sqrt of the k kept
  faiss  cosine: IndexFlatIP over the normalized rows, queries normalized per search
         l2:     IndexFlatL2 (sqrt of the returned squared distances)
Each search's time includes preparing its queries and selecting the top k.

Prints one JSON object per line in the schema
  {"backend","metric","q","k","rows","dim","median_ms","min_ms","max_ms","floor_ms"}
with floor_ms null (the Java side measures the memory floor). Progress goes to stderr.
"""
import argparse
import gc
import json
import statistics
import sys
import time

# Exactly what this script imports beyond the standard library (module: Debian package): numpy
# always, torch only for --backends torch, faiss only for --backends faiss (a backend whose module
# is missing is skipped with one line on stderr). tools/bench/check_imports.py checks every import.
REQUIRES = {"numpy": "python3-numpy", "torch": "python3-torch", "faiss": "python3-faiss"}

try:
    import numpy as np
except ImportError as e:
    sys.exit(f"peers.py needs python3 with numpy (Debian: python3-numpy): {e}")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def synthetic(rows, dim, seed):
    rng = np.random.default_rng(seed)
    x = np.empty((rows, dim), dtype=np.float32)
    step = 65536
    for i in range(0, rows, step):  # in slices: no float64 temporary of the whole matrix
        block = rng.random((min(step, rows - i), dim), dtype=np.float32)
        block *= 2
        block -= 1
        x[i:i + step] = block
    return x


def queries(q, dim, seed):
    rng = np.random.default_rng(seed + 1000 * q)
    out = rng.random((q, dim), dtype=np.float32)
    out *= 2
    out -= 1
    return out


def measure(fn, repeats, warmups):
    times = []
    for i in range(warmups + repeats):
        t0 = time.perf_counter()
        fn()
        ms = (time.perf_counter() - t0) * 1e3
        if i >= warmups:
            times.append(ms)
    return statistics.median(times), min(times), max(times)


def record(backend, metric, q, args, stats):
    med, lo, hi = stats
    rec = {"backend": backend, "metric": metric, "q": q, "k": args.k, "rows": args.rows, "dim": args.dim,
           "median_ms": med, "min_ms": lo, "max_ms": hi, "floor_ms": None}
    print(json.dumps(rec), flush=True)
    log(f"{backend} {metric} q={q}: median {med:.1f} ms")


def run_torch(x, args, metrics, qs):
    import torch
    torch.set_num_threads(args.threads)
    xt = torch.from_numpy(x)
    eps = 1e-8
    with torch.no_grad():
        if "cosine" in metrics:
            xn = xt / xt.norm(dim=1, keepdim=True).clamp_min(eps)
            for q in qs:
                qt = torch.from_numpy(queries(q, args.dim, args.seed))

                def search():
                    qn = qt / qt.norm(dim=1, keepdim=True).clamp_min(eps)
                    return torch.topk(xn @ qn.T, args.k, dim=0)

                record("torch", "cosine", q, args, measure(search, args.repeats, args.warmups))
            del xn
            gc.collect()
        if "l2" in metrics:
            xsq = (xt * xt).sum(dim=1, keepdim=True)
            for q in qs:
                qt = torch.from_numpy(queries(q, args.dim, args.seed))

                def search():
                    d2 = (xsq - 2 * (xt @ qt.T)) + (qt * qt).sum(dim=1)[None, :]
                    vals, idx = torch.topk(d2, args.k, dim=0, largest=False)
                    return vals.clamp_min(0).sqrt(), idx

                record("torch", "l2", q, args, measure(search, args.repeats, args.warmups))


def run_faiss(x, args, metrics, qs):
    import faiss
    faiss.omp_set_num_threads(args.threads)
    if "cosine" in metrics:
        xn = x.copy()
        faiss.normalize_L2(xn)
        index = faiss.IndexFlatIP(args.dim)
        index.add(xn)
        del xn
        for q in qs:
            qv = queries(q, args.dim, args.seed)

            def search():
                qn = qv.copy()
                faiss.normalize_L2(qn)
                return index.search(qn, args.k)

            record("faiss", "cosine", q, args, measure(search, args.repeats, args.warmups))
        del index
        gc.collect()
    if "l2" in metrics:
        index = faiss.IndexFlatL2(args.dim)
        index.add(x)
        for q in qs:
            qv = queries(q, args.dim, args.seed)

            def search():
                d2, idx = index.search(qv, args.k)
                return np.sqrt(np.maximum(d2, 0)), idx

            record("faiss", "l2", q, args, measure(search, args.repeats, args.warmups))
        del index
        gc.collect()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=858923)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--queries", default="1,2,8,64,512", help="comma-separated query counts")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--metrics", default="cosine,l2")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmups", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--backends", default="torch,faiss")
    args = p.parse_args()
    qs = [int(v) for v in args.queries.split(",") if v]
    metrics = [m.strip().lower() for m in args.metrics.split(",") if m.strip()]
    for m in metrics:
        if m not in ("cosine", "l2"):
            p.error(f"unknown metric {m!r}: use cosine or l2")
    if args.k < 1 or args.k > args.rows:
        p.error(f"k must be between 1 and {args.rows}")
    log(f"peers: generating {args.rows:,} x {args.dim} float32")
    x = synthetic(args.rows, args.dim, args.seed)
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        try:
            if backend == "torch":
                run_torch(x, args, metrics, qs)
            elif backend == "faiss":
                run_faiss(x, args, metrics, qs)
            else:
                p.error(f"unknown backend {backend!r}: use torch and/or faiss")
        except ImportError as e:
            log(f"peers: skipping {backend}: {e}")


if __name__ == "__main__":
    main()
