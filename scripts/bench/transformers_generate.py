#!/usr/bin/env python3
"""The transformers side of `sftrun bench generate`: greedy generation at batch 1 with the KV cache, model loaded
from the same GGUF (`gguf_file=`, dequantized to float32), torch threads 2 by default. EOS is suppressed
(min_new_tokens = max_new_tokens) so both sides make the same number of tokens. Prefill is timed to the first new
token (the streamer's second put), decode from there to the end, as sftrun times them; one JSON line with the
same keys.

  .venv-ref/bin/python scripts/bench/transformers_generate.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf
Run it right after `.build/release/sftrun bench generate --model ... --threads 2` on a quiet machine, with the
same --prompt and --max-new-tokens (never at the same time).
"""
import argparse
import json
import os
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.generation.streamers import BaseStreamer

p = argparse.ArgumentParser()
p.add_argument("--model", required=True, help="a .gguf file (or an HF folder)")
p.add_argument("--prompt", default="The history of the printing press begins in")
p.add_argument("--max-new-tokens", type=int, default=64)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)

if a.model.endswith(".gguf"):
    folder, name = os.path.split(os.path.abspath(a.model))
    kwargs = {"gguf_file": name}
else:
    folder, kwargs = a.model, {}
tok = AutoTokenizer.from_pretrained(folder, **kwargs)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs).eval()
ids = tok(a.prompt, return_tensors="pt").input_ids


class Clock(BaseStreamer):
    """Notes when the first new token arrives (put is called once with the prompt, then once per token)."""

    def __init__(self):
        self.puts, self.first = 0, None

    def put(self, value):
        self.puts += 1
        if self.puts == 2:
            self.first = time.perf_counter()

    def end(self):
        pass


clock = Clock()
with torch.inference_mode():
    start = time.perf_counter()
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=a.max_new_tokens,
                         min_new_tokens=a.max_new_tokens, streamer=clock, pad_token_id=tok.pad_token_id or 0)
    stop = time.perf_counter()
new = out.shape[1] - ids.shape[1]
prefill, decode = clock.first - start, stop - clock.first
print(json.dumps({
    "bench": "generate", "implementation": f"transformers {__import__('transformers').__version__}", "model": a.model,
    "threads": a.threads, "prompt_tokens": ids.shape[1], "new_tokens": new,
    "prefill_seconds": prefill, "prefill_tokens_per_second": ids.shape[1] / prefill,
    "decode_seconds": decode, "decode_tokens_per_second": (new - 1) / decode,
}))
