#!/usr/bin/env python3
"""Writes the incremental ("step") graphs that io.blocksim.model.PrefixExtractor runs, from the
shipped model file itself, so they always match it:

    python3 tools/train/export_step.py [--model artifacts/model/blocksim-shakespeare.onnx]

(export.py calls this after writing the model, so a re-export regenerates them too.)

The step computes one new position t for a batch of prefixes whose keys/values at positions < t are
known. Attention over those few past positions is done in Java (it reads the cached keys/values in
place, where an ONNX graph would need them gathered, sliced and broadcast: several copies of the
whole cache per step). ONNX Runtime does everything else, as n_layer + 1 stage graphs:

  <stem>.step0.onnx   token, position (int64 [batch])  ->  embedding, qkv (of block 0)
  <stem>.step{s}.onnx block s-1's input x and its heads_output (float32 [batch, C])  ->
                      block{s-1}.proj_output, .ffwd_output, .block_output, and qkv of block s
                      (not for the last stage)

qkv is [batch, 3C]: keys, queries, values, as the fused Linear of model.py lays them out. The math
is the main graph's, node for node (same LayerNormalization epsilon, bias-add and residual order).

Weights are not copied: every initializer is ONNX external data pointing at the float16 raw bytes
inside the main .onnx file (location = its file name, offset, length), each followed by a Cast to
float32 as in the main graph. The stage files hold only nodes (a few KB each) and record the main
file's sha256, which the Java side checks before use.
"""
import argparse
import hashlib
import os
import sys

import onnx
from onnx import TensorProto, helper

STAGE_FORMAT = 1


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stage_path(model_path, s):
    stem = model_path[:-len(".onnx")] if model_path.endswith(".onnx") else model_path
    return f"{stem}.step{s}.onnx"


class MainModel:
    """The main graph's weights, found by structure, with the byte range of each in the file."""

    def __init__(self, path):
        self.path = path
        self.file_bytes = open(path, "rb").read()
        self.model = onnx.load_from_string(self.file_bytes)
        g = self.model.graph
        self.inits = {i.name: i for i in g.initializer}
        self.cast_src = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Cast"}
        self.consumers = {}
        for n in g.node:
            for x in n.input:
                self.consumers.setdefault(x, []).append(n)
        self.meta = {p.key: p.value for p in self.model.metadata_props}
        self.n_layer = int(self.meta["n_layer"])
        self.n_embed = int(self.meta["n_embed"])
        self.n_head = int(self.meta["n_head"])

    def only_consumer(self, tensor, op_type):
        found = [n for n in self.consumers.get(tensor, []) if n.op_type == op_type]
        if len(found) != 1:
            sys.exit(f"{self.path}: expected one {op_type} reading {tensor}, found {len(found)}")
        return found[0]

    @staticmethod
    def other_input(node, tensor):
        rest = [x for x in node.input if x != tensor]
        if len(rest) != 1:
            sys.exit(f"node {node.name} has inputs {list(node.input)}")
        return rest[0]

    def external(self, float_name):
        """A float16 TensorProto named `float_name`__fp16 whose data lies in the main file."""
        src = self.cast_src.get(float_name)
        init = self.inits.get(src)
        if init is None or init.data_type != TensorProto.FLOAT16 or not init.raw_data:
            sys.exit(f"{self.path}: {float_name} is not a float16 initializer with raw data")
        raw = init.raw_data
        offset = self.file_bytes.find(raw)
        # equal bytes are equal values, so any occurrence would do; still, insist on an unambiguous one
        # for the large tensors so a mismatch cannot go unnoticed
        if offset < 0 or (len(raw) >= 4096 and self.file_bytes.find(raw, offset + 1) >= 0):
            sys.exit(f"{self.path}: cannot locate the bytes of {src} in the file")
        t = TensorProto()
        t.name = src
        t.data_type = TensorProto.FLOAT16
        t.dims.extend(init.dims)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", os.path.basename(self.path)), ("offset", str(offset)), ("length", str(len(raw)))):
            e = t.external_data.add()
            e.key, e.value = k, v
        return t

    def block_weights(self, b):
        """Float32 tensor names (Cast outputs) of block b, traced from its LayerNorm weights."""
        w = {}
        ln1 = self.only_consumer(f"model.blocks.{b}.ln1.weight", "LayerNormalization")
        w["ln1"] = (ln1.input[1], ln1.input[2])
        w["eps"] = next(a.f for a in ln1.attribute if a.name == "epsilon")
        w["qkv"] = self.only_consumer(ln1.output[0], "MatMul").input[1]
        heads = f"block{b}.heads_output"
        proj = self.only_consumer(heads, "MatMul")
        w["proj"] = proj.input[1]
        w["proj_b"] = self.other_input(self.only_consumer(proj.output[0], "Add"), proj.output[0])
        ln2 = self.only_consumer(f"model.blocks.{b}.ln2.weight", "LayerNormalization")
        w["ln2"] = (ln2.input[1], ln2.input[2])
        f1 = self.only_consumer(ln2.output[0], "MatMul")
        w["ff1"] = f1.input[1]
        a1 = self.only_consumer(f1.output[0], "Add")
        w["ff1_b"] = self.other_input(a1, f1.output[0])
        relu = self.only_consumer(a1.output[0], "Relu")
        f2 = self.only_consumer(relu.output[0], "MatMul")
        w["ff2"] = f2.input[1]
        w["ff2_b"] = self.other_input(self.only_consumer(f2.output[0], "Add"), f2.output[0])
        return w


class StageBuilder:
    def __init__(self, main):
        self.main = main
        self.nodes, self.inits, self.casts = [], [], set()

    def weight(self, name):
        """The float32 tensor `name`, cast from its external float16 bytes (once per graph)."""
        if name not in self.casts:
            ext = self.main.external(name)
            self.inits.append(ext)
            self.nodes.append(helper.make_node("Cast", [ext.name], [name], to=TensorProto.FLOAT, name=name + "__cast"))
            self.casts.add(name)
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], name=output + "__" + op, **attrs))
        return output

    def layer_norm(self, x, wb, eps, out):
        return self.node("LayerNormalization", [x, self.weight(wb[0]), self.weight(wb[1])], out, axis=-1, epsilon=eps)

    def qkv(self, x, w, b):
        h = self.layer_norm(x, w["ln1"], w["eps"], f"b{b}.ln1")
        return self.node("MatMul", [h, self.weight(w["qkv"])], "qkv")

    def block_tail(self, x, heads, w, b):
        """Everything of block b after attention: the main graph's proj, residual, ln2, ffwd, residual."""
        pm = self.node("MatMul", [heads, self.weight(w["proj"])], f"b{b}.proj_mm")
        proj = self.node("Add", [self.weight(w["proj_b"]), pm], f"block{b}.proj_output")
        x1 = self.node("Add", [x, proj], f"b{b}.resid1")
        h2 = self.layer_norm(x1, w["ln2"], w["eps"], f"b{b}.ln2")
        f1 = self.node("MatMul", [h2, self.weight(w["ff1"])], f"b{b}.ff1_mm")
        a1 = self.node("Add", [self.weight(w["ff1_b"]), f1], f"b{b}.ff1")
        r = self.node("Relu", [a1], f"b{b}.relu")
        f2 = self.node("MatMul", [r, self.weight(w["ff2"])], f"b{b}.ff2_mm")
        ffwd = self.node("Add", [self.weight(w["ff2_b"]), f2], f"block{b}.ffwd_output")
        return self.node("Add", [x1, ffwd], f"block{b}.block_output")

    def model(self, inputs, outputs, stage, meta):
        # Casts first keeps the node list topologically sorted
        casts = [n for n in self.nodes if n.op_type == "Cast"]
        rest = [n for n in self.nodes if n.op_type != "Cast"]
        g = helper.make_graph(casts + rest, f"blocksim_step{stage}", inputs, outputs, initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.main.model.opset_import[0].version)],
                              producer_name="blocksim tools/train/export_step.py")
        m.ir_version = self.main.model.ir_version
        for k, v in meta.items():
            m.metadata_props.add(key=k, value=str(v))
        return m


def build_stages(main):
    C, n = main.n_embed, main.n_layer
    vec = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", C])
    qkv_info = helper.make_tensor_value_info("qkv", TensorProto.FLOAT, ["batch", 3 * C])
    sha = sha256_file(main.path)
    weights = [main.block_weights(b) for b in range(n)]
    stages = []
    for s in range(n + 1):
        sb = StageBuilder(main)
        meta = dict(main.meta)
        meta.update({"step_format": STAGE_FORMAT, "step_stage": s, "step_stages": n + 1,
                     "base_model_file": os.path.basename(main.path), "base_model_sha256": sha})
        if s == 0:
            tok = sb.node("Gather", [sb.weight("model.tok_emb.weight"), "token"], "tok")
            pos = sb.node("Gather", [sb.weight("model.pos_emb.weight"), "position"], "pos")
            emb = sb.node("Add", [tok, pos], "embedding")
            sb.qkv(emb, weights[0], 0)
            inputs = [helper.make_tensor_value_info("token", TensorProto.INT64, ["batch"]),
                      helper.make_tensor_value_info("position", TensorProto.INT64, ["batch"])]
            outputs = [vec("embedding"), qkv_info]
        else:
            b = s - 1
            out = sb.block_tail("x", "heads", weights[b], b)
            outputs = [vec(f"block{b}.proj_output"), vec(f"block{b}.ffwd_output"), vec(out)]
            if b + 1 < n:
                sb.qkv(out, weights[b + 1], b + 1)
                outputs.append(qkv_info)
            inputs = [vec("x"), vec("heads")]
        stages.append(sb.model(inputs, outputs, s, meta))
    return stages


def write_step_graphs(model_path):
    """Writes the stage graphs beside `model_path`; returns their paths."""
    main = MainModel(model_path)
    paths = []
    for s, m in enumerate(build_stages(main)):
        p = stage_path(model_path, s)
        onnx.save(m, p)
        onnx.checker.check_model(p)  # a path, so the external data is checked too
        paths.append(p)
    # drop stale stages of a deeper model
    s = len(paths)
    while os.path.exists(stage_path(model_path, s)):
        os.remove(stage_path(model_path, s))
        s += 1
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="artifacts/model/blocksim-shakespeare.onnx")
    args = ap.parse_args()
    for p in write_step_graphs(args.model):
        print(f"{p}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
