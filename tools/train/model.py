"""The seed's character-level transformer (DESIGN.md section 2), written so that every block
intermediate can be returned. Attention keeps the seed's per-head key/query/value projections as
one fused Linear(384, 3*384) whose rows are the heads' weights stacked: the same function, fewer,
larger matrix products on the CPU."""
import math

import torch
import torch.nn as nn
from torch.nn import functional as F

N_EMBED = 384
N_HEAD = 6
N_LAYER = 6
BLOCK_SIZE = 256


class Block(nn.Module):
    def __init__(self, n_embed, n_head, dropout):
        super().__init__()
        self.n_head = n_head
        self.ln1 = nn.LayerNorm(n_embed)
        self.ln2 = nn.LayerNorm(n_embed)
        # rows [0, C) are the heads' keys, [C, 2C) queries, [2C, 3C) values; head h owns
        # rows h*hs .. (h+1)*hs of each third, as concatenating the seed's per-head Linears would.
        self.qkv = nn.Linear(n_embed, 3 * n_embed, bias=False)
        self.proj = nn.Linear(n_embed, n_embed)
        self.ffwd = nn.Sequential(
            nn.Linear(n_embed, 4 * n_embed), nn.ReLU(), nn.Linear(4 * n_embed, n_embed)
        )
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        B, T, C = x.shape
        hs = C // self.n_head
        k, q, v = self.qkv(self.ln1(x)).split(C, dim=-1)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        w = (q @ k.transpose(-2, -1)) * (hs ** -0.5)
        w = w.masked_fill(mask[:T, :T] == 0, float("-inf"))
        w = self.attn_dropout(F.softmax(w, dim=-1))
        heads = (w @ v).transpose(1, 2).reshape(B, T, C)
        proj = self.resid_dropout(self.proj(heads))
        x = x + proj
        ffwd = self.resid_dropout(self.ffwd(self.ln2(x)))
        x = x + ffwd
        return x, heads, proj, ffwd


class TransformerLanguageModel(nn.Module):
    def __init__(self, vocab_size, n_embed=N_EMBED, n_head=N_HEAD, n_layer=N_LAYER,
                 block_size=BLOCK_SIZE, dropout=0.2):
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, n_embed)
        self.pos_emb = nn.Embedding(block_size, n_embed)
        self.blocks = nn.ModuleList([Block(n_embed, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embed)
        self.lm_head = nn.Linear(n_embed, vocab_size)
        self.register_buffer("mask", torch.tril(torch.ones(block_size, block_size)), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward_all(self, idx):
        """Logits and every intermediate: (logits, embedding, [(heads, proj, ffwd, block_out)])."""
        B, T = idx.shape
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))
        emb = x
        per_block = []
        for blk in self.blocks:
            x, heads, proj, ffwd = blk(x, self.mask)
            per_block.append((heads, proj, ffwd, x))
        logits = self.lm_head(self.ln_f(x))
        return logits, emb, per_block

    def forward(self, idx, targets=None):
        logits, _, _ = self.forward_all(idx)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))
        return logits, loss


class ExportWrapper(nn.Module):
    """Flattens forward_all into the ONNX output order: embedding, per block heads/proj/ffwd/out, logits."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        logits, emb, per_block = self.model.forward_all(tokens)
        outs = [emb]
        for heads, proj, ffwd, out in per_block:
            outs += [heads, proj, ffwd, out]
        outs.append(logits)
        return tuple(outs)


def output_names(n_layer=N_LAYER):
    names = ["embedding"]
    for b in range(n_layer):
        names += [f"block{b}.heads_output", f"block{b}.proj_output",
                  f"block{b}.ffwd_output", f"block{b}.block_output"]
    names.append("logits")
    return names


def load_checkpoint(path):
    """A training checkpoint as (checkpoint dict, eval model with its weights rounded to float16, as
    export.py ships them). Here rather than in export.py so that users of the model (the PyTorch
    extraction baseline) need torch only, not onnx."""
    ck = torch.load(path, map_location="cpu")
    vocab = ck["vocab"]
    cfg = ck.get("config", {})
    model = TransformerLanguageModel(len(vocab), dropout=cfg.get("dropout", 0.0))
    model.load_state_dict(ck["model"])
    model.eval()
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return ck, model
