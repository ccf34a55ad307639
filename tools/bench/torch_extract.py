#!/usr/bin/env python3
"""PyTorch eager baseline for extraction throughput: the full model (tools/train/model.py, weights
rounded to float16 as export.py ships them) over the first N unique length-10 strings of the corpus,
in first-occurrence order, keeping the demo's vectors (proj_output and ffwd_output of every block at
the last position, ffwd_output of the last block at position 8). `blocksim bench extract --peers`
runs it beside the Java engines, in the same sitting.

Without the training checkpoint (it is not committed) the same architecture runs with random
weights: eager PyTorch does the same arithmetic whatever the values, so the time is the same.

    python3 tools/bench/torch_extract.py --data input.txt [--checkpoint build/train/final.pt]
        [--strings 20000] [--repeats 3] [--json]

Needs python3 with numpy and torch only (Debian: python3-numpy python3-torch); the model comes
from tools/train/model.py, which imports torch alone (not onnx, which only export.py needs).
"""
import argparse
import json
import os
import sys
import time

# Exactly what this script imports beyond the standard library (module: Debian package);
# tools/bench/check_imports.py checks it against every import here and in tools/train/model.py.
REQUIRES = {"numpy": "python3-numpy", "torch": "python3-torch"}

try:
    import numpy as np
    import torch
except ImportError as e:
    sys.exit(f"torch_extract.py needs python3 with {' and '.join(REQUIRES)}"
             f" (Debian: {' '.join(REQUIRES.values())}): {e}")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from model import TransformerLanguageModel, load_checkpoint  # noqa: E402  (torch only, not onnx)


def unique_substrings(text, length):
    seen, out = set(), []
    for i in range(len(text) - length + 1):
        s = text[i:i + length]
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="training checkpoint (default: random weights, same time)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--strings", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--length", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON line with the median run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    text = open(args.data, encoding="utf-8").read()
    if args.checkpoint and os.path.exists(args.checkpoint):
        ck, model = load_checkpoint(args.checkpoint)
        vocab, weights = ck["vocab"], "checkpoint"
    else:
        torch.manual_seed(0)
        vocab = sorted(set(text))
        model = TransformerLanguageModel(len(vocab), dropout=0.0).eval()
        weights = "random (no checkpoint)"
    stoi = {c: i for i, c in enumerate(vocab)}
    strings = unique_substrings(text, args.length)[:args.strings]
    ids = torch.tensor([[stoi[c] for c in s] for s in strings], dtype=torch.long)
    n, L = ids.shape
    C = model.tok_emb.embedding_dim
    n_layer = len(model.blocks)
    kept = np.empty((n, 2 * n_layer + 1, C), dtype=np.float32)  # what a store writer would copy out
    flop_per_token = 2.0 * n_layer * 12 * C * C
    with torch.no_grad():
        model.forward_all(ids[:64])  # warm-up
        runs = []
        for _ in range(max(1, args.repeats)):
            t0 = time.perf_counter()
            c0 = time.process_time()
            for a in range(0, n, args.batch):
                _, _, per_block = model.forward_all(ids[a:a + args.batch])
                k = 0
                for heads, proj, ffwd, out in per_block:
                    kept[a:a + args.batch, k] = proj[:, -1].numpy()
                    kept[a:a + args.batch, k + 1] = ffwd[:, -1].numpy()
                    k += 2
                kept[a:a + args.batch, k] = per_block[-1][2][:, L - 2].numpy()
            runs.append((time.perf_counter() - t0, time.process_time() - c0))
    runs.sort()
    sec, cpu = runs[len(runs) // 2]
    tokens = n * L
    notes = (f"torch {torch.__version__} eager, {args.threads} threads, batch {args.batch}, weights {weights},"
             f" OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    if args.json:
        print(json.dumps({"engine": "pytorch", "device": "cpu", "strings": n, "tokens": tokens,
                          "median_s": sec, "min_s": runs[0][0], "max_s": runs[-1][0], "repeats": len(runs),
                          "strings_per_s": n / sec, "tokens_per_s": tokens / sec,
                          "gflop_per_s": tokens * flop_per_token / sec / 1e9, "cpu_s": cpu, "notes": notes}))
        return
    print(f"{notes}: {n:,} strings, {tokens:,} tokens "
          f"in {sec:.1f} s (median of {len(runs)}): {n / sec:,.0f} strings/s, {tokens / sec:,.0f} tokens/s, "
          f"{tokens * flop_per_token / sec / 1e9:.1f} GFLOP/s; all 858,923 strings: {858923 / (n / sec) / 60:.1f} min; "
          f"process CPU {cpu:.1f} s ({cpu / sec:.2f} cores busy)")


if __name__ == "__main__":
    main()
