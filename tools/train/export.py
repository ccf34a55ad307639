#!/usr/bin/env python3
"""Exports a training checkpoint (checkpoint.pt or final.pt) to the shipped ONNX model, golden
outputs and model-info.json.

    python3 tools/train/export.py --checkpoint build/train/final.pt --out artifacts/model \\
        --log build/train/log.jsonl

Writes, under --out:
  blocksim-shakespeare.onnx   opset 17; input `tokens` int64 [batch, seq]; outputs float32
                              `embedding`, `block{b}.{heads,proj,ffwd,block}_output`, `logits`.
                              Weights are stored as float16 (each followed by a Cast to float32),
                              metadata_props carry the vocabulary, shape, corpus hash, config, losses.
  <stem>.step{0..n_layer}.onnx the incremental step graphs (export_step.py), weights shared with the
                              model file through external data.
  golden/*.npy, index.json    every output from PyTorch for a few prompts, for the Java tests.
  model-info.json             facts for the model card (tools/train/model_card.py).

The weights are rounded to float16 in the torch model before anything else, so the goldens, the
sample and the ONNX file all use exactly the shipped weights.
"""
import argparse
import hashlib
import io
import json
import os
import platform
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ExportWrapper, TransformerLanguageModel, load_checkpoint, output_names  # noqa: E402
from export_step import write_step_graphs  # noqa: E402

MODEL_FILE = "blocksim-shakespeare.onnx"
OPSET = 17
FORMAT_VERSION = 1
SAMPLE_SEED = 1337
SAMPLE_CHARS = 300
# The two prompts of the research notebook, a single character (the smallest sequence) and a
# longer corpus excerpt (so attention over many positions is covered).
GOLDEN_PROMPTS = ["my most gr", "is dreams,", "\n", "First Citizen:\nBefore we proceed any furt"]


def last_log_record(log_path, step):
    """The newest log line at or before `step` with sampled losses (checkpoints have no full losses)."""
    if not log_path or not os.path.exists(log_path):
        return None
    best = None
    for line in open(log_path):
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        if "val_loss" in rec and rec.get("step", 0) <= step:
            best = rec
    return best


def loss_curve(log_path, step):
    """The training log's evaluations up to `step`, kept in model-info.json so the card needs no log."""
    if not log_path or not os.path.exists(log_path):
        return []
    recs = [json.loads(x) for x in open(log_path) if x.strip()]
    return [r for r in recs if r.get("step", 0) <= step]


def losses_of(ck, log_path):
    if "final" in ck:
        f = ck["final"]
        return {"kind": "full", "step": f.get("step", ck.get("step")),
                "train_loss": f["train_loss_full"], "val_loss": f["val_loss_full"]}
    rec = last_log_record(log_path, ck.get("step", 0))
    if rec is None:
        return {"kind": "none", "step": ck.get("step")}
    # sampled estimates from the training log: 8 random batches of 16 x 256 characters
    return {"kind": "sampled", "step": rec["step"], "train_loss": rec["train_loss"], "val_loss": rec["val_loss"]}


def export_fp32(model, n_layer):
    names = output_names(n_layer)
    dyn = {"tokens": {0: "batch", 1: "seq"}}
    dyn.update({n: {0: "batch", 1: "seq"} for n in names})
    buf = io.BytesIO()
    example = torch.zeros((2, 10), dtype=torch.long)
    # The wrapper must be in eval mode itself: torch.onnx.export restores the mode of the module it
    # is given afterwards, and a fresh wrapper's training mode would switch dropout back on.
    wrapper = ExportWrapper(model).eval()
    with torch.no_grad():
        torch.onnx.export(wrapper, (example,), buf, opset_version=OPSET,
                          input_names=["tokens"], output_names=names, dynamic_axes=dyn,
                          do_constant_folding=True)
    assert not model.training
    m = onnx.load_from_string(buf.getvalue())
    # The exporter may rename an output that is also an intermediate; force the contract's names.
    got = [o.name for o in m.graph.output]
    if got != names:
        if len(got) != len(names):
            sys.exit(f"exported graph has {len(got)} outputs, expected {len(names)}")
        rename = dict(zip(got, names))
        for node in m.graph.node:
            node.output[:] = [rename.get(x, x) for x in node.output]
            node.input[:] = [rename.get(x, x) for x in node.input]
        for o in m.graph.output:
            o.name = rename[o.name]
        print(f"renamed graph outputs {got} -> {names}", file=sys.stderr)
    return m


def store_weights_fp16(m):
    """Each float32 initializer is stored as float16 and cast back to float32 by a Cast node, which
    ONNX Runtime folds away at load: half the file, identical float32 arithmetic. Only values that
    survive the round trip exactly are converted (all weights do, as they were rounded first).
    Returns how many tensors were converted."""
    g = m.graph
    kept, casts, converted = [], [], 0
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT:
            kept.append(init)
            continue
        arr = numpy_helper.to_array(init)
        half = arr.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), arr, equal_nan=True):
            print(f"keeping {init.name} {arr.shape} as float32: not exactly representable in float16",
                  file=sys.stderr)
            kept.append(init)
            continue
        stored = numpy_helper.from_array(half, init.name + "__fp16")
        kept.append(stored)
        casts.append(helper.make_node("Cast", [stored.name], [init.name], to=TensorProto.FLOAT,
                                      name=init.name + "__cast"))
        converted += 1
    del g.initializer[:]
    g.initializer.extend(kept)
    # Casts first keeps the node list topologically sorted.
    nodes = casts
    # Large float Constant nodes (the exporter puts the causal mask there) get the same treatment,
    # each Cast right after its Constant.
    for node in g.node:
        nodes.append(node)
        if node.op_type != "Constant" or node.attribute[0].name != "value":
            continue
        t = node.attribute[0].t
        if t.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(t)
        half = arr.astype(np.float16)
        if arr.size < 64 or not np.array_equal(half.astype(np.float32), arr, equal_nan=True):
            continue
        out = node.output[0]
        node.output[0] = out + "__fp16"
        node.attribute[0].t.CopyFrom(numpy_helper.from_array(half, t.name))
        nodes.append(helper.make_node("Cast", [node.output[0]], [out], to=TensorProto.FLOAT,
                                      name=out + "__cast"))
        converted += 1
    del g.node[:]
    g.node.extend(nodes)
    # Graph inputs that shadow initializers (older exporters) would now dangle.
    init_names = {i.name for i in g.initializer}
    for inp in list(g.input):
        if inp.name + "__fp16" in init_names:
            g.input.remove(inp)
    return converted


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_goldens(model, vocab, out_dir, n_layer):
    gdir = os.path.join(out_dir, "golden")
    os.makedirs(gdir, exist_ok=True)
    for f in os.listdir(gdir):
        if f.endswith(".npy") or f == "index.json":
            os.remove(os.path.join(gdir, f))
    stoi = {c: i for i, c in enumerate(vocab)}
    names = output_names(n_layer)
    wrapper = ExportWrapper(model).eval()
    assert not any(mod.training for mod in wrapper.modules())
    entries = []
    for p_i, prompt in enumerate(GOLDEN_PROMPTS):
        ids = [stoi[c] for c in prompt]
        with torch.no_grad():
            outs = wrapper(torch.tensor([ids], dtype=torch.long))
        files = {}
        for name, t in zip(names, outs):
            fname = f"p{p_i}.{name}.npy"
            np.save(os.path.join(gdir, fname), t.numpy().astype(np.float32))
            files[name] = fname
        entries.append({"prompt": prompt, "tokens": ids, "outputs": files})
    with open(os.path.join(gdir, "index.json"), "w") as f:
        json.dump({"format_version": FORMAT_VERSION, "dtype": "float32", "tolerance": 1e-4,
                   "prompts": entries}, f, indent=1)
    return sum(os.path.getsize(os.path.join(gdir, x)) for x in os.listdir(gdir))


@torch.no_grad()
def sample(model, vocab, n, seed, start="\n"):
    assert not model.training
    stoi = {c: i for i, c in enumerate(vocab)}
    gen = torch.Generator().manual_seed(seed)
    idx = torch.tensor([[stoi[c] for c in start]], dtype=torch.long)
    out = []
    for _ in range(n):
        logits, _ = model(idx[:, -model.block_size:])
        probs = torch.softmax(logits[:, -1, :], dim=-1)
        nxt = torch.multinomial(probs, 1, generator=gen)
        idx = torch.cat([idx, nxt], dim=1)
        out.append(vocab[nxt.item()])
    return "".join(out)


def machine_description():
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="checkpoint.pt or final.pt from train.py")
    ap.add_argument("--out", default="artifacts/model")
    ap.add_argument("--log", default=None, help="training log.jsonl (default: beside the checkpoint)")
    ap.add_argument("--machine", default=None, help="training machine for the model card (default: this one)")
    ap.add_argument("--fp32-copy", default=None, help="also write the float32-weight graph here (for benchmarks)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    log_path = args.log or os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), "log.jsonl")

    ck, model = load_checkpoint(args.checkpoint)
    vocab = ck["vocab"]
    n_layer, n_embed = len(model.blocks), model.tok_emb.embedding_dim
    n_head, block_size = model.blocks[0].n_head, model.block_size
    step = ck.get("step", ck.get("final", {}).get("step"))
    is_final = "final" in ck
    losses = losses_of(ck, log_path)
    minutes = ck["final"]["minutes"] if is_final else round(ck.get("elapsed", 0.0) / 60, 2)
    config = ck.get("config", {})
    version = f"blocksim-shakespeare-v{FORMAT_VERSION}+step{step}" + ("" if is_final else "-partial")
    os.makedirs(args.out, exist_ok=True)

    m = export_fp32(model, n_layer)
    if args.fp32_copy:
        onnx.save(m, args.fp32_copy)
    converted = store_weights_fp16(m)
    meta = {
        "vocab": json.dumps(vocab),
        "vocab_size": str(len(vocab)),
        "n_layer": str(n_layer), "n_embed": str(n_embed), "n_head": str(n_head),
        "block_size": str(block_size),
        "corpus_sha256": ck.get("corpus_sha256", ""),
        "training_config": json.dumps(config, sort_keys=True),
        "final_losses": json.dumps(losses, sort_keys=True),
        "model_version": version,
        "training_step": str(step),
        "weights_storage": "float16",
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    m.producer_name = "blocksim tools/train/export.py"
    m.doc_string = "Character transformer (TinyShakespeare) returning every block intermediate."
    onnx_path = os.path.join(args.out, MODEL_FILE)
    onnx.save(m, onnx_path)

    # Verify what was written, not what is in memory.
    onnx.checker.check_model(onnx_path)
    back = onnx.load(onnx_path)
    got_out = [o.name for o in back.graph.output]
    if got_out != output_names(n_layer) or [i.name for i in back.graph.input] != ["tokens"]:
        sys.exit(f"unexpected graph interface: inputs {[i.name for i in back.graph.input]}, outputs {got_out}")
    if back.opset_import[0].version != OPSET:
        sys.exit(f"opset {back.opset_import[0].version}, expected {OPSET}")
    left_fp32 = [i.name for i in back.graph.initializer if i.data_type == TensorProto.FLOAT]
    size, sha = os.path.getsize(onnx_path), sha256_file(onnx_path)
    # the step graphs point into this very file's bytes: rewrite them with it
    step_graphs = write_step_graphs(onnx_path)

    golden_bytes = write_goldens(model, vocab, args.out, n_layer)
    sampled = sample(model, vocab, SAMPLE_CHARS, SAMPLE_SEED)
    n_params = sum(p.numel() for p in model.parameters())
    info = {
        "model_file": MODEL_FILE, "model_version": version, "file_size": size, "file_sha256": sha,
        "weights_storage": "float16 initializers, Cast to float32 at load",
        "opset": OPSET,
        "architecture": {"kind": "decoder-only character transformer, pre-LayerNorm, ReLU FFN",
                         "vocab_size": len(vocab), "n_layer": n_layer, "n_embed": n_embed,
                         "n_head": n_head, "head_size": n_embed // n_head, "ffwd_hidden": 4 * n_embed,
                         "block_size": block_size, "layer_norm_eps": 1e-5},
        "params": n_params,
        "outputs": output_names(n_layer),
        "corpus_sha256": ck.get("corpus_sha256"),
        "training": {"checkpoint": os.path.basename(args.checkpoint), "final": is_final, "step": step,
                     "minutes": minutes, "config": config, "machine": args.machine or machine_description(),
                     "loss_curve": loss_curve(log_path, step)},
        "losses": losses,
        "sample": {"seed": SAMPLE_SEED, "start": "\n", "chars": SAMPLE_CHARS,
                   "method": "torch.multinomial over softmax of the last logits, context cropped to block_size",
                   "text": sampled},
        "golden": {"prompts": GOLDEN_PROMPTS, "bytes": golden_bytes},
        "step_graphs": [os.path.basename(p) for p in step_graphs],
    }
    with open(os.path.join(args.out, "model-info.json"), "w") as f:
        json.dump(info, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(json.dumps({"onnx": onnx_path, "bytes": size, "sha256": sha, "fp16_initializers": converted,
                      "fp32_initializers_left": left_fp32, "golden_bytes": golden_bytes,
                      "step_graphs": [os.path.basename(p) for p in step_graphs],
                      "version": version, "losses": losses}, indent=1))


if __name__ == "__main__":
    main()
