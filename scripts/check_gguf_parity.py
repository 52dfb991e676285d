#!/usr/bin/env python3
"""Dev check: the quickstart's eval loss of SmolLM2-135M-Instruct loaded from its GGUF by transformers
(`from_pretrained(..., gguf_file=...)`), computed as TRL/transformers do (completion-only labels, batches of 8, each
batch's mean weighted by rows), next to `sftrun eval recipes/quickstart.yaml` on the same file.

  .venv-ref/bin/python scripts/check_gguf_parity.py   (after scripts/fetch-demo-assets and a release build)
"""
import json
import pathlib
import subprocess

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

root = pathlib.Path(__file__).resolve().parent.parent
gguf = root / "models/SmolLM2-135M-Instruct.Q4_1.gguf"
tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, torch_dtype=torch.float32).eval()
rows = [json.loads(l) for l in open(root / "recipes/data/dates-test.jsonl")]
examples = []
for r in rows:
    completion = r["completion"] + tok.eos_token
    p = tok(r["prompt"]).input_ids
    ids = tok(r["prompt"] + completion).input_ids
    k = 0
    while k < min(len(p), len(ids)) and p[k] == ids[k]:
        k += 1
    examples.append((ids, [-100] * k + ids[k:]))
weighted, n = 0.0, 0
with torch.no_grad():
    for i in range(0, len(examples), 8):
        batch = examples[i:i + 8]
        L = max(len(e[0]) for e in batch)
        ids = torch.tensor([e[0] + [tok.pad_token_id] * (L - len(e[0])) for e in batch])
        labels = torch.tensor([e[1] + [-100] * (L - len(e[1])) for e in batch])
        mask = torch.tensor([[1] * len(e[0]) + [0] * (L - len(e[0])) for e in batch])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss.item()
        weighted += loss * len(batch)
        n += len(batch)
ref = weighted / n
out = subprocess.run([str(root / ".build/release/sftrun"), "eval", str(root / "recipes/quickstart.yaml")], capture_output=True, text=True, cwd=root)
ours = json.loads(out.stdout)["eval_loss"]
print(f"transformers (GGUF loader) eval_loss {ref:.9f}; sftrun {ours:.9f}; relative difference {abs(ours - ref) / ref:.2e}")
