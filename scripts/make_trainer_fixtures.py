#!/usr/bin/env python3
"""Reference training runs for the trainer parity test: a plain PyTorch loop that follows TRL 1.16 / transformers
5.24's rules (../shared/notes/trl-training-semantics.md) on the tiny fixture models of Tests/ModelsTests/Fixtures:
no shuffle, right padding masked, one token-weighted mean per optimizer step over its accumulated micro-batches,
accumulation groups that never span epochs, pre-clip grad norm, AdamW with transformers' decay grouping, linear
warmup. Writes per-step loss, grad_norm and learning_rate to Tests/TrainingTests/Fixtures/trainer/<model>.json.

Run with the reference venv:  .venv-ref/bin/python scripts/make_trainer_fixtures.py
"""
import json
import math
import pathlib

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM

root = pathlib.Path(__file__).resolve().parent.parent
out_dir = root / "Tests/TrainingTests/Fixtures/trainer"
out_dir.mkdir(parents=True, exist_ok=True)

g = torch.Generator().manual_seed(3)
examples = []
for i in range(11):
    n = 3 + (i * 5) % 9
    ids = torch.randint(3, 60, (n,), generator=g).tolist()
    labels = list(ids)
    if i % 3 == 0:  # completion-only: the prompt carries no loss
        labels[: n // 2] = [-100] * (n // 2)
    examples.append({"input_ids": ids, "labels": labels})

settings = dict(batch_size=2, accumulation=2, steps=10, lr=1e-3, warmup=2, max_grad_norm=1.0, weight_decay=0.01,
                pad_id=0)


def collate(batch):
    L = max(len(e["input_ids"]) for e in batch)
    ids = torch.tensor([e["input_ids"] + [settings["pad_id"]] * (L - len(e["input_ids"])) for e in batch])
    labels = torch.tensor([e["labels"] + [-100] * (L - len(e["labels"])) for e in batch])
    mask = torch.tensor([[1] * len(e["input_ids"]) + [0] * (L - len(e["input_ids"])) for e in batch])
    return ids, labels, mask


def train_loop(model, params, opt):
    """TRL's step: micro-batches grouped within an epoch, one token-weighted mean, pre-clip norm, lr of the step."""
    bs, acc, total, warm = settings["batch_size"], settings["accumulation"], settings["steps"], settings["warmup"]
    micro = [examples[i:i + bs] for i in range(0, len(examples), bs)]
    steps_per_epoch = math.ceil(len(micro) / acc)
    log = []
    for s in range(total):
        in_epoch = s % steps_per_epoch
        batches = [collate(b) for b in micro[in_epoch * acc:(in_epoch + 1) * acc]]
        num_items = sum(int((lab[:, 1:] != -100).sum()) for _, lab, _ in batches)
        step_loss = 0.0
        for ids, lab, mask in batches:
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100,
                                   reduction="sum") / num_items
            loss.backward()
            step_loss += loss.item()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, settings["max_grad_norm"]).item()
        lr = settings["lr"] * (s / warm if s < warm else max(0.0, (total - s) / (total - warm)))
        for grp in opt.param_groups:
            grp["lr"] = lr
        opt.step()
        opt.zero_grad()
        log.append({"step": s + 1, "loss": step_loss, "grad_norm": grad_norm, "learning_rate": lr})
    return log


def run(name):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(root / "Tests/ModelsTests/Fixtures" / name, attn_implementation="eager").float()
    model.train()
    no_decay = [n for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n or "ln_" in n or "layer_norm" in n]
    groups = [{"params": [p for n, p in model.named_parameters() if n not in no_decay], "weight_decay": settings["weight_decay"]},
              {"params": [p for n, p in model.named_parameters() if n in no_decay], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=settings["lr"], betas=(0.9, 0.999), eps=1e-8)
    return train_loop(model, list(model.parameters()), opt)


def run_lora(name):
    """The same loop with a peft LoRA adapter (r=4, alpha=8, all-linear) whose starting weights are saved next to
    the log, so sftrun starts from the identical adapter (peft.adapter_path)."""
    from peft import LoraConfig, get_peft_model
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(root / "Tests/ModelsTests/Fixtures" / name, attn_implementation="eager").float()
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.02)
    start = out_dir / f"{name}-lora-start"
    model.save_pretrained(start)
    (start / "README.md").unlink(missing_ok=True)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    return train_loop(model, params, opt)


def run_qlora(name, quant_type, double_quant):
    """QLoRA's arithmetic without a CUDA kernel: every linear weight of the blocks is quantized with bitsandbytes'
    `quantize_4bit` and replaced by its `dequantize_4bit` (what Linear4bit's forward and input-gradient use), then
    the same LoRA run starts from the same saved adapter."""
    import bitsandbytes.functional as BF
    from peft import PeftModel
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(root / "Tests/ModelsTests/Fixtures" / name, attn_implementation="eager").float()
    with torch.no_grad():
        for module_name, module in base.named_modules():
            if isinstance(module, torch.nn.Linear) and ".layers." in module_name:
                q, state = BF.quantize_4bit(module.weight.data, blocksize=64, compress_statistics=double_quant, quant_type=quant_type)
                module.weight.data = BF.dequantize_4bit(q, state)
    model = PeftModel.from_pretrained(base, out_dir / f"{name}-lora-start", is_trainable=True)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    return train_loop(model, params, opt)


for name in ["llama", "opt350m"]:
    log = run_lora(name)
    lora_settings = dict(settings, weight_decay=0.0)
    (out_dir / f"{name}-lora.json").write_text(json.dumps({"settings": lora_settings, "examples": examples, "log": log}, indent=1) + "\n")
    print(name, "lora", [round(e["loss"], 5) for e in log])

for quant_type, double_quant in [("nf4", True), ("fp4", False)]:
    log = run_qlora("llama", quant_type, double_quant)
    tag = f"llama-qlora-{quant_type}{'-dq' if double_quant else ''}"
    (out_dir / f"{tag}.json").write_text(json.dumps({"settings": dict(settings, weight_decay=0.0), "examples": examples, "log": log}, indent=1) + "\n")
    print(tag, [round(e["loss"], 5) for e in log])

for name in ["llama", "mistral", "qwen2", "gpt2", "opt", "opt350m", "gpt_neo"]:
    log = run(name)
    (out_dir / f"{name}.json").write_text(json.dumps({"settings": settings, "examples": examples, "log": log}, indent=1) + "\n")
    print(name, [round(e["loss"], 5) for e in log])
