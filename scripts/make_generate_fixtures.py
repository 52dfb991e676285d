#!/usr/bin/env python3
"""Greedy generation of the tiny CLI model with transformers' generate(do_sample=False), for the `sftrun generate`
parity test. Writes Tests/SFTRunKitTests/Fixtures/generate.json.

Run with the reference venv:  .venv-ref/bin/python scripts/make_generate_fixtures.py
"""
import json
import pathlib

import shutil

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

root = pathlib.Path(__file__).resolve().parent.parent
base = root / "Tests/SFTRunKitTests/Fixtures/tiny-llama"
# The CLI model's shape with large random weights, so greedy decoding does not just repeat one token.
folder = root / "Tests/SFTRunKitTests/Fixtures/tiny-llama-gen"
folder.mkdir(exist_ok=True)
torch.manual_seed(5)
cfg = LlamaConfig.from_pretrained(base)
cfg.initializer_range = 0.5
AutoModelForCausalLM.from_config(cfg).float().save_pretrained(folder, safe_serialization=True)
(folder / "generation_config.json").unlink(missing_ok=True)
for f in ["tokenizer.json", "tokenizer_config.json"]:
    shutil.copy(base / f, folder / f)
model = AutoModelForCausalLM.from_pretrained(folder).float().eval()
tok = AutoTokenizer.from_pretrained(folder)
cases = []
for prompt in ["The quick brown", "To be or not", "A journey of a thousand miles"]:
    ids = tok(prompt, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=0)
    new = out[0, ids.input_ids.shape[1]:].tolist()
    cases.append({"prompt": prompt, "prompt_ids": ids.input_ids[0].tolist(), "new_ids": new,
                  "text": tok.decode(new, skip_special_tokens=True)})
(root / "Tests/SFTRunKitTests/Fixtures/generate.json").write_text(json.dumps(cases, indent=1) + "\n")
print(cases)
