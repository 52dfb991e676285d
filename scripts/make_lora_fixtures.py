#!/usr/bin/env python3
"""LoRA adapters made by peft on the tiny models of Tests/ModelsTests/Fixtures, and what peft computes with them on
the same batch: the mean loss, logits at real tokens and the gradient of every trainable parameter, keyed by the
name it has in adapter_model.safetensors. Used by Tests/PEFTTests (parity of the LoRA forward/backward and of the
adapter file layout).

lora_B is set to small random values (peft starts it at zero) so that lora_A's gradients are not zero.

Run with the reference venv:  .venv-ref/bin/python scripts/make_lora_fixtures.py
"""
import pathlib

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

repo = pathlib.Path(__file__).resolve().parent.parent
models = repo / "Tests/ModelsTests/Fixtures"
root = repo / "Tests/PEFTTests/Fixtures"

# fixture name → (base model, LoraConfig arguments)
cases = {
    "llama": ("llama", dict(target_modules="all-linear")),
    "gpt2": ("gpt2", dict(target_modules=["c_attn", "c_proj", "c_fc"], bias="all")),
    "opt": ("opt", dict(target_modules="all-linear", bias="lora_only")),
    # peft's default targets for mistral (q_proj, v_proj), rank-stabilized scaling and a fully trained lm_head
    "mistral": ("mistral", dict(target_modules=None, use_rslora=True, modules_to_save=["lm_head"])),
}


def saved_name(n):
    """A parameter's key in adapter_model.safetensors (peft drops the adapter name)."""
    return n.replace(".modules_to_save.default", "").replace(".default", "")


for name, (base, extra) in cases.items():
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    batch = load_file(str(models / base / "batch.safetensors"))
    input_ids = batch["input_ids"].long()
    attention_mask = batch["attention_mask"].long()
    labels = batch["labels"].long()

    model = AutoModelForCausalLM.from_pretrained(models / base, attn_implementation="eager").float()
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM", **extra)
    torch.manual_seed(2)
    peft_model = get_peft_model(model, config)
    peft_model.peft_config["default"].base_model_name_or_path = f"Tests/ModelsTests/Fixtures/{base}"
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn_like(p) * 0.1)
    peft_model.train()
    out = peft_model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    out.loss.backward()
    peft_model.save_pretrained(folder)
    (folder / "README.md").unlink(missing_ok=True)
    grads = {saved_name(n): p.grad.contiguous() for n, p in peft_model.named_parameters() if p.requires_grad}
    saved = load_file(str(folder / "adapter_model.safetensors"))
    assert set(grads) == set(saved), (set(grads) ^ set(saved))
    real = attention_mask.bool()
    save_file({"logits": out.logits[real].detach().contiguous(), "loss": out.loss.detach().reshape(1)},
              str(folder / "expected.safetensors"))
    save_file(grads, str(folder / "grads.safetensors"))
    for n, p in peft_model.named_parameters():
        assert p.requires_grad or p.grad is None, n
