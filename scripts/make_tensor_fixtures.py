#!/usr/bin/env python3
"""Writes Tests/TensorCoreTests/Fixtures/ops.safetensors: inputs, outputs and gradients of every tensor-core op,
computed by PyTorch (float32) and transformers' own modules, for the parity tests in TensorCoreTests.

Run with the reference venv:  .venv-ref/bin/python scripts/make_tensor_fixtures.py
Names are "<case>.<tensor>"; scalar settings go in the file's metadata as JSON ("<case>" -> {...}).
"""
import json
import math
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers.activations import NewGELUActivation
from transformers.models.llama.configuration_llama import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRMSNorm, LlamaRotaryEmbedding, apply_rotary_pos_emb

torch.manual_seed(0)
out, meta = {}, {}


def put(case, **tensors):
    for k, v in tensors.items():
        out[f"{case}.{k}"] = v.detach().contiguous().clone()


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_(True)


# Linear with bias.
x, w, b = leaf(5, 7), leaf(6, 7), leaf(6)
y = F.linear(x, w, b)
dy = torch.randn_like(y)
y.backward(dy)
put("linear", x=x, w=w, b=b, y=y, dy=dy, dx=x.grad, dw=w.grad, db=b.grad)

# Embedding with repeated ids (backward accumulates).
table = leaf(10, 4)
ids = torch.tensor([3, 1, 3, 9, 0, 3], dtype=torch.int32)
y = F.embedding(ids.long(), table)
dy = torch.randn_like(y)
y.backward(dy)
put("embedding", ids=ids, table=table, y=y, dy=dy, dtable=table.grad)

# LayerNorm.
x, w, b = leaf(4, 8, scale=3.0), leaf(8), leaf(8)
y = F.layer_norm(x, (8,), w, b, eps=1e-5)
dy = torch.randn_like(y)
y.backward(dy)
put("layernorm", x=x, w=w, b=b, y=y, dy=dy, dx=x.grad, dw=w.grad, db=b.grad)
meta["layernorm"] = {"eps": 1e-5}

# RMSNorm exactly as Llama computes it.
norm = LlamaRMSNorm(8, eps=1e-6)
with torch.no_grad():
    norm.weight.copy_(torch.randn(8))
x = leaf(4, 8, scale=2.0)
y = norm(x)
dy = torch.randn_like(y)
y.backward(dy)
put("rmsnorm", x=x, w=norm.weight, y=y, dy=dy, dx=x.grad, dw=norm.weight.grad)
meta["rmsnorm"] = {"eps": 1e-6}

# Activations over a spread of inputs.
acts = {"gelu": lambda t: F.gelu(t), "gelu_new": NewGELUActivation(), "relu": F.relu, "silu": F.silu}
for name, fn in acts.items():
    x = torch.linspace(-6, 6, 97).requires_grad_(True)
    y = fn(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    put(f"act_{name}", x=x, y=y, dy=dy, dx=x.grad)

# SwiGLU: silu(gate) * up.
g, u = leaf(3, 8, scale=2.0), leaf(3, 8)
y = F.silu(g) * u
dy = torch.randn_like(y)
y.backward(dy)
put("swiglu", gate=g, up=u, y=y, dy=dy, dgate=g.grad, dup=u.grad)

# Softmax.
x = leaf(3, 10, scale=3.0)
y = torch.softmax(x, dim=-1)
dy = torch.randn_like(y)
y.backward(dy)
put("softmax", x=x, y=y, dy=dy, dx=x.grad)

# Rotary embeddings through transformers' LlamaRotaryEmbedding, for each scaling rule.
rope_cases = {
    "rope_default": dict(rope_theta=10000.0, head_dim=8, max_pos=64, scaling=None),
    "rope_linear": dict(rope_theta=10000.0, head_dim=8, max_pos=64, scaling={"rope_type": "linear", "factor": 2.0}),
    "rope_dynamic": dict(rope_theta=10000.0, head_dim=8, max_pos=4, scaling={"rope_type": "dynamic", "factor": 2.0}),
    "rope_llama3": dict(rope_theta=500000.0, head_dim=16, max_pos=131072,
                        scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
}
for name, c in rope_cases.items():
    d, heads = c["head_dim"], 2
    params = {"rope_type": "default", "rope_theta": c["rope_theta"]}
    if c["scaling"]:
        params.update(c["scaling"])
    cfg = LlamaConfig(hidden_size=d * heads, num_attention_heads=heads, num_key_value_heads=heads, head_dim=d,
                      max_position_embeddings=c["max_pos"], rope_parameters=params)
    rope = LlamaRotaryEmbedding(cfg)
    positions = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 9000 if name == "rope_llama3" else 9]])
    n = positions.shape[1]
    q = leaf(1, heads, n, d)
    cos, sin = rope(q, positions)
    y, _ = apply_rotary_pos_emb(q, q.detach(), cos, sin)
    dy = torch.randn_like(y)
    y.backward(dy)
    # token-major [n, heads, d], as the model lays q out
    tm = lambda t: t[0].transpose(0, 1)
    put(name, positions=positions[0].to(torch.int32), x=tm(q), y=tm(y), dy=tm(dy), dx=tm(q.grad))
    meta[name] = {"theta": c["rope_theta"], "head_dim": d, "max_position_embeddings": c["max_pos"],
                  "scaling": c["scaling"] or {"rope_type": "default"}}


def attention(q, k, v, visible, scale):
    """q [B,T,Hq,D], k/v [B,T,Hkv,D]; visible [B,T(query),T(key)] bool."""
    B, T, Hq, D = q.shape
    g = Hq // k.shape[2]
    k = k.repeat_interleave(g, dim=2)
    v = v.repeat_interleave(g, dim=2)
    s = torch.einsum("bthd,bshd->bhts", q, k) * scale
    s = s.masked_fill(~visible[:, None], float("-inf"))
    p = torch.softmax(s, dim=-1)
    return torch.einsum("bhts,bshd->bthd", p, v)


def visibility(B, T, key_valid, segments, window):
    t = torch.arange(T)
    vis = (t[None, :] <= t[:, None]).expand(B, T, T).clone()
    if window is not None:
        vis &= (t[:, None] - t[None, :]) < window
    if segments is not None:
        vis &= segments[:, :, None] == segments[:, None, :]
    if key_valid is not None:
        vis &= key_valid[:, None, :]
    return vis


attn_cases = {
    "attn_padding": dict(B=2, T=7, Hq=4, Hkv=2, D=8, pad=[0, 2], segments=None, window=None, scale=None),
    "attn_mha": dict(B=1, T=5, Hq=2, Hkv=2, D=4, pad=[0], segments=None, window=None, scale=None),
    "attn_packed": dict(B=2, T=9, Hq=2, Hkv=1, D=8, pad=[0, 1], segments=[[0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 0, 0, 0, 1, 1, 1, 1, 1]],
                        window=None, scale=None),
    "attn_window": dict(B=1, T=9, Hq=3, Hkv=3, D=4, pad=[0], segments=None, window=3, scale=None),
    "attn_neo_unscaled": dict(B=1, T=6, Hq=2, Hkv=2, D=4, pad=[0], segments=None, window=4, scale=1.0),
    "attn_single_token": dict(B=2, T=1, Hq=2, Hkv=1, D=4, pad=[0, 0], segments=None, window=None, scale=None),
    "attn_tiled": dict(B=1, T=140, Hq=3, Hkv=1, D=8, pad=[5], segments=[[0] * 70 + [1] * 70], window=100, scale=None),
}
for name, c in attn_cases.items():
    B, T, Hq, Hkv, D = c["B"], c["T"], c["Hq"], c["Hkv"], c["D"]
    q, k, v = leaf(B, T, Hq, D), leaf(B, T, Hkv, D), leaf(B, T, Hkv, D)
    key_valid = torch.ones(B, T, dtype=torch.bool)
    for bi, p in enumerate(c["pad"]):
        if p:
            key_valid[bi, T - p:] = False
    seg = torch.tensor(c["segments"], dtype=torch.int32) if c["segments"] else None
    scale = c["scale"] if c["scale"] is not None else 1 / math.sqrt(D)
    y = attention(q, k, v, visibility(B, T, key_valid, seg, c["window"]), scale)
    dy = torch.randn_like(y)
    y.backward(dy)
    flat = lambda t: t.reshape(B * T, -1)
    put(name, q=flat(q), k=flat(k), v=flat(v), y=flat(y), dy=flat(dy), dq=flat(q.grad), dk=flat(k.grad), dv=flat(v.grad),
        key_valid=key_valid.reshape(-1).to(torch.int32))
    if seg is not None:
        put(name, segments=seg.reshape(-1))
    meta[name] = {"batch": B, "seq_len": T, "query_heads": Hq, "kv_heads": Hkv, "head_dim": D, "window": c["window"],
                  "scale": scale}

# Cross-entropy of the output projection with ignored labels, summed (the Trainer divides by num_items_in_batch).
h, w = leaf(9, 6), leaf(11, 6)
labels = torch.tensor([3, -100, 0, 10, -100, 7, 7, 2, -100], dtype=torch.int32)
loss = F.cross_entropy(h @ w.T, labels.long(), ignore_index=-100, reduction="sum")
loss.backward()
put("cross_entropy", h=h, w=w, labels=labels, loss=loss.reshape(1), dh=h.grad, dw=w.grad)

path = pathlib.Path(__file__).resolve().parent.parent / "Tests/TensorCoreTests/Fixtures/ops.safetensors"
save_file(out, str(path), metadata={k: json.dumps(v) for k, v in meta.items()})
print(f"wrote {len(out)} tensors to {path} ({path.stat().st_size} bytes)")
