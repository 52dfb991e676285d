#!/usr/bin/env python3
"""Tiny random models of every supported family, saved with transformers' save_pretrained, plus one batch and
what transformers computes on it: logits at real tokens, the mean loss over shifted labels, and the gradient of
that loss for every parameter. Used by Tests/ModelsTests (forward/backward parity of the whole graph).

Run with the reference venv:  .venv-ref/bin/python scripts/make_model_fixtures.py
"""
import json
import pathlib

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, GPT2Config, GPTNeoConfig, LlamaConfig, MistralConfig, OPTConfig, Qwen2Config

root = pathlib.Path(__file__).resolve().parent.parent / "Tests/ModelsTests/Fixtures"
V, C = 64, 16
common = dict(vocab_size=V, bos_token_id=1, eos_token_id=2, pad_token_id=0)
configs = {
    "llama": LlamaConfig(hidden_size=C, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=32, tie_word_embeddings=True, rms_norm_eps=1e-5, **common),
    "mistral": MistralConfig(hidden_size=C, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                             max_position_embeddings=32, sliding_window=3, tie_word_embeddings=False, **common),
    "qwen2": Qwen2Config(hidden_size=C, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=32, tie_word_embeddings=True, **common),
    "gpt2": GPT2Config(n_embd=C, n_layer=2, n_head=4, n_positions=32, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **common),
    "opt": OPTConfig(hidden_size=C, ffn_dim=24, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=32,
                     dropout=0.0, attention_dropout=0.0, do_layer_norm_before=True, word_embed_proj_dim=C, **common),
    "opt350m": OPTConfig(hidden_size=C, ffn_dim=24, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=32,
                         dropout=0.0, attention_dropout=0.0, do_layer_norm_before=False, word_embed_proj_dim=8, **common),
    "gpt_neo": GPTNeoConfig(hidden_size=C, num_layers=2, num_heads=4, max_position_embeddings=32, window_size=3,
                            attention_types=[[["global", "local"], 1]], embed_dropout=0.0, resid_dropout=0.0, attention_dropout=0.0,
                            **common),
}

input_ids = torch.tensor([[1, 5, 9, 13, 17, 21, 2], [1, 7, 11, 19, 2, 0, 0]])
attention_mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]])
labels = input_ids.clone()
labels[attention_mask == 0] = -100
labels[0, 2] = -100

for name, cfg in configs.items():
    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager").float()
    with torch.no_grad():  # non-trivial norms and biases so their gradients are tested too
        for pname, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
    model.train()
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    out.loss.backward()
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    grads = {n: p.grad.contiguous() for n, p in model.named_parameters()}
    real = attention_mask.bool()
    save_file({"input_ids": input_ids.to(torch.int32), "attention_mask": attention_mask.to(torch.int32), "labels": labels.to(torch.int32),
               "logits": out.logits[real].detach().contiguous(), "loss": out.loss.detach().reshape(1)},
              str(folder / "batch.safetensors"))
    save_file(grads, str(folder / "grads.safetensors"))
    (folder / "generation_config.json").unlink(missing_ok=True)
    print(name, "loss", out.loss.item(), "params", sum(p.numel() for p in model.parameters()))

# A complete tiny model folder for the command-line tests: a random llama whose vocabulary is the small
# Metaspace tokenizer's (600 tokens), saved with that tokenizer like a Hub model folder.
import shutil
cli = pathlib.Path(__file__).resolve().parent.parent / "Tests/SFTRunKitTests/Fixtures/tiny-llama"
cli.mkdir(parents=True, exist_ok=True)
torch.manual_seed(2)
cfg = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=128, vocab_size=600, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
AutoModelForCausalLM.from_config(cfg).float().save_pretrained(cli, safe_serialization=True)
(cli / "generation_config.json").unlink(missing_ok=True)
tok = pathlib.Path(__file__).resolve().parent.parent / "Tests/TokenizationTests/Fixtures/metaspace_first"
for f in ["tokenizer.json", "tokenizer_config.json"]:
    shutil.copy(tok / f, cli / f)
print("tiny-llama", sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(cli).parameters()))
