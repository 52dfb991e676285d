#!/usr/bin/env python3
"""Writes Tests/TrainingTests/Fixtures/optim.json: learning-rate sequences of every transformers schedule and
AdamW / SGD trajectories with clipping, from torch 2.15 + transformers 5.24 (seeded).
Usage: .venv-ref/bin/python scripts/make_training_fixtures.py"""
import json, math, pathlib
import torch, transformers
from transformers.optimization import get_scheduler

out = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__}, "schedules": [], "optimizers": []}
for name, kwargs in [("constant", {}), ("constant_with_warmup", {}), ("linear", {}), ("cosine", {}), ("cosine", {"num_cycles": 1.5}),
                     ("cosine_with_min_lr", {"min_lr_rate": 0.1}), ("cosine_with_min_lr", {"min_lr": 1e-4}),
                     ("polynomial", {"power": 2.0, "lr_end": 1e-5})]:
    for total, warmup in [(10, 2), (7, 0), (12, 5)]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1e-3)
        sched = get_scheduler(name, opt, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=kwargs)
        lrs = []
        for _ in range(total + 2):
            lrs.append(opt.param_groups[0]["lr"]); opt.step(); sched.step()
        out["schedules"].append({"name": name, "kwargs": kwargs, "total": total, "warmup": warmup, "base_lr": 1e-3, "lrs": lrs})

torch.manual_seed(0)
for optim, cfg in [("adamw", {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1}),
                   ("adamw", {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.0}),
                   ("sgd", {"lr": 1e-1, "momentum": 0.9, "weight_decay": 0.01}), ("sgd", {"lr": 1e-1, "momentum": 0.0, "weight_decay": 0.0})]:
    p0 = torch.randn(7, dtype=torch.float32)
    grads = [torch.randn(7) * 3 for _ in range(6)]
    p = torch.nn.Parameter(p0.clone())
    o = torch.optim.AdamW([p], **cfg) if optim == "adamw" else torch.optim.SGD([p], **cfg)
    params, norms = [], []
    for g in grads:
        p.grad = g.clone()
        norms.append(float(torch.nn.utils.clip_grad_norm_([p], 1.0)))
        o.step(); o.zero_grad()
        params.append(p.detach().tolist())
    out["optimizers"].append({"optim": optim, "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
                              "initial": p0.tolist(), "grads": [g.tolist() for g in grads], "max_grad_norm": 1.0,
                              "pre_clip_norms": norms, "params_after_each_step": params})
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/TrainingTests/Fixtures/optim.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print("wrote", path, path.stat().st_size, "bytes")
