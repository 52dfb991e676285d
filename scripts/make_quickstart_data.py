#!/usr/bin/env python3
"""Writes the quickstart task (standard library only, deterministic): ISO dates to words, as prompt/completion
JSONL, 400 training rows and 40 held-out rows with no date in common. SmolLM2-135M-Instruct gets it wrong zero-shot,
so the exact-match score before and after a short LoRA run shows the fine-tune working.

  python3 scripts/make_quickstart_data.py   # writes recipes/data/dates-train.jsonl, recipes/data/dates-test.jsonl
"""
import datetime
import json
import pathlib
import random

rng = random.Random(20261203)
start, span = datetime.date(1950, 1, 1), 365 * 100
dates = set()
while len(dates) < 440:
    dates.add(start + datetime.timedelta(days=rng.randrange(span)))
dates = sorted(dates)
rng.shuffle(dates)
out = pathlib.Path(__file__).resolve().parent.parent / "recipes/data"
out.mkdir(parents=True, exist_ok=True)
for name, part in [("dates-train.jsonl", dates[:400]), ("dates-test.jsonl", dates[400:])]:
    with open(out / name, "w") as f:
        for d in part:
            f.write(json.dumps({"prompt": f"Date: {d.isoformat()}\nIn words:", "completion": f" {d.strftime('%B')} {d.day}, {d.year}"}) + "\n")
print("wrote", out)
