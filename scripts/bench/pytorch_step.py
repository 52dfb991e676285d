#!/usr/bin/env python3
"""The PyTorch side of `sftrun bench step`: one forward+backward of a randomly initialised SmolLM2-135M-shaped
LlamaForCausalLM (fp32, eager attention off: sdpa), batch × seq tokens, median of N timed steps after a warm-up,
with the same FLOP count (6·N_matmul + 12·L·T·d). Prints tokens/s and peak RSS.

  .venv-ref/bin/python scripts/bench/pytorch_step.py --threads 2 --batch 4 --seq-len 512 --steps 3
Run it right after `.build/release/sftrun bench step` on a quiet machine (never at the same time).
"""
import argparse
import resource
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--seq-len", type=int, default=512)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--checkpointing", action="store_true")
p.add_argument("--lora", type=int, default=0, help="LoRA rank on all linear layers through peft (0: full fine-tune)")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                  num_key_value_heads=3, max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=100000.0,
                  tie_word_embeddings=True)
model = LlamaForCausalLM(cfg).float().train()
if a.lora:
    from peft import LoraConfig, get_peft_model
    model = get_peft_model(model, LoraConfig(r=a.lora, lora_alpha=2 * a.lora, target_modules="all-linear", task_type="CAUSAL_LM"))
if a.checkpointing:
    model.gradient_checkpointing_enable()
ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq_len))
times = []
for i in range(a.steps + 1):
    t = time.perf_counter()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    model.zero_grad(set_to_none=False)
    if i:
        times.append(time.perf_counter() - t)
s = sorted(times)[len(times) // 2]
n_matmul = 30 * (576 * 576 * 2 + 576 * 192 * 2 + 3 * 576 * 1536) + 49152 * 576
flops = 6 * n_matmul + 12 * 30 * a.seq_len * 576
tokens = a.batch * a.seq_len
print(f"pytorch {torch.__version__}{f' + peft LoRA r={a.lora}' if a.lora else ''}: {s:.2f} s/step, {tokens / s:.1f} tokens/s, {flops * tokens / s / 1e9:.1f} GFLOP/s, "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
