#!/usr/bin/env python3
"""PyTorch peer timing for the blocksim search on a GPU: torch.topk(X @ Q.T) for the sizes of the
native harness's timing table (N = 858,923 candidates of D = 384 float32, Q = 1..1024, k = 10),
median of repeats with torch.cuda.synchronize(). FP32 matrix products without TF32 (the blocksim
kernels are exact float32). Also an exact-L2 line (torch.cdist without the matmul expansion)
for small Q.

    python3 tools/bench/torch_gpu.py [--n 858923] [--d 384] [--k 10] [--q 1,2,8,64,512,1024]
"""
import argparse
import statistics
import time

# Exactly what this script imports beyond the standard library (module: Debian package).
REQUIRES = {"torch": "python3-torch"}

import torch  # noqa: E402


def timed(fn, reps):
    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=858923)
    ap.add_argument("--d", type=int, default=384)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--q", default="1,2,8,64,512,1024")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {torch.cuda.get_device_name(0)}; "
          f"TF32 off; N={args.n} D={args.d} k={args.k}")
    g = torch.Generator(device=dev)
    g.manual_seed(7)
    X = torch.rand(args.n, args.d, device=dev, generator=g) * 2 - 1
    nbytes = X.numel() * 4
    dst = torch.empty_like(X)
    t_copy = timed(lambda: dst.copy_(X), 10)
    print(f"device-to-device copy of {nbytes / 1e9:.3f} GB: {t_copy:.3f} ms = "
          f"{2 * nbytes / t_copy / 1e6:.0f} GB/s (read+written)")
    del dst
    norms = X.norm(dim=1)
    print(f"{'op':34s} {'Q':>5s} {'ms':>10s} {'read_GB/s':>10s}")
    for qn in [int(x) for x in args.q.split(",")]:
        Q = torch.rand(qn, args.d, device=dev, generator=g) * 2 - 1
        reps = 30 if qn <= 8 else (10 if qn <= 64 else 3)
        t = timed(lambda: torch.topk(X @ Q.T, args.k, dim=0), reps)
        print(f"{'topk(X @ Q.T)':34s} {qn:5d} {t:10.3f} {nbytes / t / 1e6:10.0f}")
        Qn = Q / Q.norm(dim=1, keepdim=True).clamp_min(1e-8)
        t = timed(lambda: torch.topk((X @ Qn.T) / norms.clamp_min(1e-8)[:, None], args.k, dim=0), reps)
        print(f"{'topk cosine (X @ Qn.T / |x|)':34s} {qn:5d} {t:10.3f} {nbytes / t / 1e6:10.0f}")
        if qn <= 8:
            t = timed(lambda: torch.topk(torch.cdist(Q, X, compute_mode="donot_use_mm_for_euclid_dist"),
                                         args.k, dim=1, largest=False), reps)
            print(f"{'topk exact L2 (cdist, no mm)':34s} {qn:5d} {t:10.3f} {nbytes / t / 1e6:10.0f}")
        del Q, Qn
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
