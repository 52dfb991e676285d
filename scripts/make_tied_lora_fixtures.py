#!/usr/bin/env python3
"""peft's modules_to_save on a model with tied embeddings (the tiny llama of Tests/ModelsTests/Fixtures, tied like
SmolLM2), for Tests/PEFTTests and Tests/TrainingTests.

peft 0.21 with its default `ensure_weight_tying=False` wraps each named module in a ModulesToSaveWrapper holding a
`copy.deepcopy` of it, so the trained lm_head (and embed_tokens) no longer share a tensor: the head copy trains
while the embedding stays frozen (["lm_head"]), or both copies train independently (["embed_tokens", "lm_head"]).
The adapter file holds them as `base_model.model.lm_head.weight` / `base_model.model.model.embed_tokens.weight`.
With `ensure_weight_tying=True` (tied-ensure) peft instead trains the embedding's copy with lm_head pointing at it,
rewrites modules_to_save to ["model.embed_tokens"] and saves the shared matrix under both names.

Per case, under Tests/PEFTTests/Fixtures/<case>/: the adapter (lora_B random and the copies nudged off the base so a
still-tied implementation fails), the loss, logits and gradients of one batch, and train.json: 5 optimizer steps of
peft + torch AdamW (batch 2, lr 1e-3, linear decay, clip 1.0) from that adapter, as the trainer tests log them.

Run with the reference venv:  .venv-ref/bin/python scripts/make_tied_lora_fixtures.py
"""
import json
import pathlib

import torch
import torch.nn.functional as F
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

repo = pathlib.Path(__file__).resolve().parent.parent
base_dir = repo / "Tests/ModelsTests/Fixtures/llama"
root = repo / "Tests/PEFTTests/Fixtures"
# case → (modules_to_save, ensure_weight_tying)
cases = {"tied-head": (["lm_head"], False), "tied-both": (["embed_tokens", "lm_head"], False), "tied-ensure": (["lm_head"], True)}
settings = dict(batch_size=2, accumulation=1, steps=5, lr=1e-3, warmup=0, max_grad_norm=1.0, weight_decay=0.0, pad_id=0)

g = torch.Generator().manual_seed(5)
examples = []
for i in range(10):
    n = 4 + (i * 3) % 7
    ids = torch.randint(3, 60, (n,), generator=g).tolist()
    labels = list(ids)
    if i % 2 == 0:
        labels[: n // 2] = [-100] * (n // 2)
    examples.append({"input_ids": ids, "labels": labels})


def saved_name(n):
    return n.replace(".modules_to_save.default", "").replace(".default", "")


def collate(batch):
    L = max(len(e["input_ids"]) for e in batch)
    ids = torch.tensor([e["input_ids"] + [settings["pad_id"]] * (L - len(e["input_ids"])) for e in batch])
    labels = torch.tensor([e["labels"] + [-100] * (L - len(e["labels"])) for e in batch])
    mask = torch.tensor([[1] * len(e["input_ids"]) + [0] * (L - len(e["input_ids"])) for e in batch])
    return ids, labels, mask


def train(model):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    bs, total = settings["batch_size"], settings["steps"]
    micro = [examples[i:i + bs] for i in range(0, len(examples), bs)]
    log = []
    for s in range(total):
        ids, lab, mask = collate(micro[s % len(micro)])
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        count = int((lab[:, 1:] != -100).sum())
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100,
                               reduction="sum") / count
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, settings["max_grad_norm"]).item()
        lr = settings["lr"] * (total - s) / total
        for grp in opt.param_groups:
            grp["lr"] = lr
        opt.step()
        opt.zero_grad()
        log.append({"step": s + 1, "loss": loss.item(), "grad_norm": grad_norm, "learning_rate": lr})
    return log


batch = load_file(str(base_dir / "batch.safetensors"))
input_ids, attention_mask, labels = (batch[k].long() for k in ("input_ids", "attention_mask", "labels"))

for name, (modules, ensure) in cases.items():
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(base_dir, attn_implementation="eager").float()
    assert model.lm_head.weight is model.model.embed_tokens.weight
    torch.manual_seed(4)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                                                  modules_to_save=list(modules), ensure_weight_tying=ensure, task_type="CAUSAL_LM"))
    peft_model.peft_config["default"].base_model_name_or_path = "Tests/ModelsTests/Fixtures/llama"
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn_like(p) * 0.1)
            if "modules_to_save" in n:
                p.add_(torch.randn_like(p) * 0.05)
    inner = peft_model.base_model.model
    assert (inner.lm_head.weight.data_ptr() == inner.model.embed_tokens.weight.data_ptr()) == ensure, "peft (un)tied as expected"
    peft_model.train()
    out = peft_model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    out.loss.backward()
    peft_model.save_pretrained(folder)
    (folder / "README.md").unlink(missing_ok=True)
    grads = {saved_name(n): p.grad.contiguous() for n, p in peft_model.named_parameters() if p.requires_grad}
    saved = load_file(str(folder / "adapter_model.safetensors"))
    extra = {"base_model.model.lm_head.weight"} if ensure else set()
    assert set(grads) | extra == set(saved), set(grads) ^ set(saved)
    real = attention_mask.bool()
    save_file({"logits": out.logits[real].detach().contiguous(), "loss": out.loss.detach().reshape(1)},
              str(folder / "expected.safetensors"))
    save_file(grads, str(folder / "grads.safetensors"))

    fresh = AutoModelForCausalLM.from_pretrained(base_dir, attn_implementation="eager").float()
    trained = PeftModel.from_pretrained(fresh, folder, is_trainable=True)
    trained.train()
    log = train(trained)
    (folder / "train.json").write_text(json.dumps({"settings": settings, "examples": examples, "log": log}, indent=1) + "\n")
    print(name, sorted(k for k in saved if "lora" not in k), "loss", round(out.loss.item(), 6),
          "steps", [round(e["loss"], 5) for e in log])
