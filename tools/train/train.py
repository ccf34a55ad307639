#!/usr/bin/env python3
"""Trains the seed's TinyShakespeare transformer (DESIGN.md section 2) reproducibly on the CPU.

Fixed seed, vocabulary = sorted distinct characters, first 90% train / last 10% validation,
AdamW with warm-up and cosine decay, context 256, bfloat16 autocast (about 3x faster than float32
on CPUs with AVX-512 BF16 / AMX). Logs train and validation loss, checkpoints every
--ckpt-every steps and resumes from the last checkpoint when run again with the same --out.

    python3 tools/train/train.py --data ../shared/data/tinyshakespeare/input.txt --out build/train
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import BLOCK_SIZE, TransformerLanguageModel  # noqa: E402

CORPUS_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def default_data():
    for p in (os.environ.get("BLOCKSIM_DATASET"),
              os.path.join(os.path.dirname(__file__), "../../../shared/data/tinyshakespeare/input.txt"),
              os.path.expanduser("~/.cache/blocksim/tinyshakespeare/input.txt")):
        if p and os.path.exists(p):
            return p
    return None


def load_corpus(path):
    raw = open(path, "rb").read()
    text = raw.decode("utf-8")
    vocab = "".join(sorted(set(text)))
    stoi = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return text, vocab, data[:n], data[n:], hashlib.sha256(raw).hexdigest()


def config_from(args):
    return {k: getattr(args, k) for k in
            ("seed", "steps", "batch", "lr", "min_lr", "warmup", "weight_decay", "dropout",
             "grad_clip", "autocast")} | {"context": BLOCK_SIZE, "optimizer": "AdamW(0.9, 0.95)"}


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * min(1.0, frac)))


def sample_batch(data, batch, gen):
    ix = torch.randint(len(data) - BLOCK_SIZE - 1, (batch,), generator=gen)
    x = torch.stack([data[i:i + BLOCK_SIZE] for i in ix])
    y = torch.stack([data[i + 1:i + 1 + BLOCK_SIZE] for i in ix])
    return x, y


@torch.no_grad()
def full_loss(model, data, autocast, batch=16):
    """Mean cross-entropy per character over non-overlapping 256-character windows of `data`."""
    model.eval()
    n_win = (len(data) - 1) // BLOCK_SIZE
    total, count = 0.0, 0
    for s in range(0, n_win, batch):
        idx = [w * BLOCK_SIZE for w in range(s, min(n_win, s + batch))]
        x = torch.stack([data[i:i + BLOCK_SIZE] for i in idx])
        y = torch.stack([data[i + 1:i + 1 + BLOCK_SIZE] for i in idx])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            _, loss = model(x, y)
        total += loss.item() * y.numel()
        count += y.numel()
    model.train()
    return total / count


@torch.no_grad()
def sampled_loss(model, data, gen, autocast, batches=8, batch=16):
    model.eval()
    losses = []
    for _ in range(batches):
        x, y = sample_batch(data, batch, gen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            losses.append(model(x, y)[1].item())
    model.train()
    return sum(losses) / len(losses)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=default_data(), help="corpus text file (TinyShakespeare input.txt)")
    ap.add_argument("--out", default="build/train", help="checkpoint and log folder")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--steps", type=int, default=3600)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--min-lr", dest="min_lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", dest="weight_decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--grad-clip", dest="grad_clip", type=float, default=1.0)
    ap.add_argument("--no-autocast", dest="autocast", action="store_false")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--ckpt-every", type=int, default=100)
    args = ap.parse_args()
    if not args.data:
        sys.exit("no corpus: pass --data PATH or set BLOCKSIM_DATASET")

    torch.set_num_threads(args.threads)
    text, vocab, train, val, sha = load_corpus(args.data)
    if sha != CORPUS_SHA256:
        print(f"warning: corpus sha256 {sha} is not TinyShakespeare's", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    log_path = os.path.join(args.out, "log.jsonl")

    torch.manual_seed(args.seed)
    model = TransformerLanguageModel(len(vocab), dropout=args.dropout)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(args.seed)
    eval_gen = torch.Generator().manual_seed(args.seed + 1)
    step, elapsed = 0, 0.0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        if ck["config"] != config_from(args) or ck["vocab"] != vocab:
            sys.exit(f"{ckpt_path} was made with another configuration or corpus; use another --out")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        eval_gen.set_state(ck["eval_gen"])
        torch.set_rng_state(ck["torch_rng"])
        step, elapsed = ck["step"], ck["elapsed"]
        print(f"resumed at step {step} ({elapsed / 60:.1f} min of training so far)", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params / 1e6:.2f} M parameters, vocab {len(vocab)}, train {len(train)}, val {len(val)}, "
          f"config {json.dumps(config_from(args))}", flush=True)

    def save():
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                    "eval_gen": eval_gen.get_state(), "torch_rng": torch.get_rng_state(), "step": step,
                    "elapsed": elapsed, "config": config_from(args), "vocab": vocab,
                    "corpus_sha256": sha}, tmp)
        os.replace(tmp, ckpt_path)

    def log(rec):
        with open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)

    model.train()
    t_last = time.time()
    while step < args.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        x, y = sample_batch(train, args.batch, gen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
            _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        step += 1
        now = time.time()
        elapsed += now - t_last
        t_last = now
        if step % 20 == 0:
            print(f"step {step} loss {loss.item():.4f} lr {lr_at(step - 1, args):.2e} "
                  f"{elapsed / step:.2f} s/step", flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            log({"step": step, "train_loss": sampled_loss(model, train, eval_gen, args.autocast),
                 "val_loss": sampled_loss(model, val, eval_gen, args.autocast),
                 "minutes": round(elapsed / 60, 2)})
            t_last = time.time()
        if step % args.ckpt_every == 0 or step == args.steps:
            save()
            t_last = time.time()

    final = {"step": step, "final": True, "minutes": round(elapsed / 60, 2),
             "train_loss_full": full_loss(model, train[:len(val)], False),
             "val_loss_full": full_loss(model, val, False)}
    log(final)
    torch.save({"model": model.state_dict(), "config": config_from(args), "vocab": vocab,
                "corpus_sha256": sha, "final": final}, os.path.join(args.out, "final.pt"))


if __name__ == "__main__":
    main()
