#!/usr/bin/env python3
"""Reference values for sftrun's bitsandbytes-compatible quantization (Tests/QuantizationTests/Fixtures).

bitsandbytes 0.50 on CPU is the oracle: `quantize_4bit` / `dequantize_4bit` (NF4, FP4, double quantization of the
absmax values), `quantize_blockwise` (the 8-bit dynamic map), `int8_vectorwise_quant` (LLM.int8 row-wise weights).
Weights come from a counter-based generator (splitmix64 of the element index) that the Swift tests reproduce, so
real-shaped matrices are compared by sha256 without committing megabytes. Also writes a tiny Llama quantized and
saved by transformers + bitsandbytes (the `*-bnb-4bit` Hub layout) with its logits.

Run with the reference venv:  .venv-ref/bin/python scripts/make_quant_fixtures.py
"""
import hashlib
import json
import pathlib

import numpy as np
import torch
import bitsandbytes.functional as BF

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "Tests/QuantizationTests/Fixtures"
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)

M64 = (1 << 64) - 1


def weights(n, seed, scale):
    """splitmix64(seed + (i+1)·golden) → 24-bit uniform u; w = (u − 0.5)·scale in float32; every 997th ×8 (outliers)."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
    w = (u - np.float32(0.5)) * np.float32(scale)
    w[996::997] *= np.float32(8)
    return w


def sha(t):
    return hashlib.sha256(t.contiguous().view(torch.uint8).numpy().tobytes() if t.dtype != torch.uint8
                          else t.contiguous().numpy().tobytes()).hexdigest()


def head(t, n=12):
    t = t.reshape(-1)[:n]
    return [int(x) for x in t.tolist()] if t.dtype in (torch.uint8, torch.int8) else [float(x) for x in t.tolist()]


def bits(t):
    return [int(x) for x in t.float().view(torch.int32).reshape(-1).tolist()]


fixture = {
    "dynamic_map_bits": bits(BF.create_dynamic_map()),
    "nf4_bits": bits(BF.get_4bit_type("nf4", device="cpu")),
    "fp4_bits": bits(BF.get_4bit_type("fp4", device="cpu")),
    "four_bit": [], "int8": [], "blockwise": [],
}

# 4-bit: small shapes (odd tails, a zero block), and SmolLM2-135M's real matrix shapes.
cases4 = [([8, 96], 11, 0.1), ([3, 50], 12, 1.0), ([16, 16], 13, 0.02), ([192, 576], 14, 0.05),
          ([576, 576], 15, 0.04), ([1536, 576], 16, 0.03), ([576, 1536], 17, 0.03)]
for shape, seed, scale in cases4:
    n = int(np.prod(shape))
    w = torch.from_numpy(weights(n, seed, scale)).reshape(shape)
    if shape == [8, 96]:
        w[2, :64] = 0  # an all-zero block
    for qt in ["nf4", "fp4"]:
        for dq in [False, True]:
            for dtype in ([torch.float32, torch.bfloat16] if n < 5000 else [torch.float32]):
                a = w.to(dtype)
                q, st = BF.quantize_4bit(a, blocksize=64, compress_statistics=dq, quant_type=qt)
                deq = BF.dequantize_4bit(q, st)
                case = {"shape": shape, "seed": seed, "scale": scale, "quant_type": qt, "double_quant": dq,
                        "dtype": str(dtype).replace("torch.", ""), "packed_sha256": sha(q), "packed_head": head(q),
                        "dequantized_sha256": sha(deq.float()), "dequantized_head": head(deq.float())}
                if dq:
                    case.update(absmax_sha256=sha(st.absmax), absmax_head=head(st.absmax),
                                nested_absmax_bits=bits(st.state2.absmax), offset_bits=bits(st.offset.reshape(1))[0])
                else:
                    case.update(absmax_bits=bits(st.absmax) if st.absmax.numel() <= 64 else None,
                                absmax_sha256=sha(st.absmax), absmax_head=head(st.absmax))
                fixture["four_bit"].append(case)

# The 8-bit blockwise quantizer itself (what double quantization runs on the absmax values), blocks of 256.
for n, seed, scale in [(10, 21, 1.0), (256, 22, 0.3), (300, 23, 0.05), (13824, 24, 0.02)]:
    a = torch.from_numpy(weights(n, seed, scale))
    q, st = BF.quantize_blockwise(a, blocksize=256)
    fixture["blockwise"].append({"n": n, "seed": seed, "scale": scale, "q_sha256": sha(q), "q_head": head(q),
                                 "absmax_bits": bits(st.absmax), "dequantized_sha256": sha(BF.dequantize_blockwise(q, st))})

# int8 row-wise (weights go through float16 first, as Int8Params does).
for shape, seed, scale in [([4, 40], 31, 1.0), ([192, 576], 32, 0.05), ([1536, 576], 33, 0.03)]:
    n = int(np.prod(shape))
    w = torch.from_numpy(weights(n, seed, scale)).reshape(shape)
    cb, scb, _ = BF.int8_vectorwise_quant(w.to(torch.float16))
    deq = cb.float() * (scb.unsqueeze(1) * (1.0 / 127.0))
    fixture["int8"].append({"shape": shape, "seed": seed, "scale": scale, "cb_sha256": sha(cb), "cb_head": head(cb),
                            "scb_sha256": sha(scb), "scb_head": head(scb), "dequantized_sha256": sha(deq),
                            "dequantized_head": head(deq)})

(out / "bnb.json").write_text(json.dumps(fixture, indent=1) + "\n")
print("bnb.json:", len(fixture["four_bit"]), "4-bit cases,", len(fixture["int8"]), "int8,", len(fixture["blockwise"]), "blockwise")

# A tiny Llama quantized by transformers + bitsandbytes and saved (pre-quantized layout), with reference logits.
from transformers import AutoModelForCausalLM, BitsAndBytesConfig
src = root / "Tests/ModelsTests/Fixtures/llama"
ids = torch.tensor([[1, 5, 9, 13, 7, 22, 3, 40]])
for name, cfg in [("llama-nf4-dq", BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                      bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.float32)),
                  ("llama-fp4", BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="fp4",
                                                   bnb_4bit_compute_dtype=torch.float32)),
                  ("llama-int8", BitsAndBytesConfig(load_in_8bit=True))]:
    m = AutoModelForCausalLM.from_pretrained(src, quantization_config=cfg, dtype=torch.float32, device_map="cpu")
    m.train()  # bitsandbytes' training path (weight dequantization on CPU), the one sftrun reproduces
    with torch.no_grad():
        logits = m(ids).logits.float()
    d = out / name
    m.save_pretrained(d)
    (d / "generation_config.json").unlink(missing_ok=True)
    (d / "logits.json").write_text(json.dumps({"input_ids": ids[0].tolist(), "logits": logits[0].tolist()}) + "\n")
    print(name, logits[0, -1, :4].tolist())
