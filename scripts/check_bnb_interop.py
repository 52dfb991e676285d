#!/usr/bin/env python3
"""Dev check: a folder written by `sftrun quantize` loads in transformers + bitsandbytes (CPU) and gives the logits
of transformers' own `load_in_4bit` / `load_in_8bit` of the original model.

Usage: .venv-ref/bin/python scripts/check_bnb_interop.py [--sftrun .build/release/sftrun] [--model HF_FOLDER | --gguf FILE]
With --gguf, the GGUF is first loaded by transformers (gguf_file=) and saved as a float32 HF folder."""
import argparse
import pathlib
import subprocess
import tempfile

import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

root = pathlib.Path(__file__).resolve().parent.parent
ap = argparse.ArgumentParser()
ap.add_argument("--sftrun", default=str(root / ".build/release/sftrun"))
ap.add_argument("--model", default=str(root / "Tests/ModelsTests/Fixtures/llama"))
ap.add_argument("--gguf")
args = ap.parse_args()
torch.set_num_threads(2)
tmp = pathlib.Path(tempfile.mkdtemp(prefix="bnb-interop-"))
model = args.model
if args.gguf:
    g = pathlib.Path(args.gguf)
    from transformers import AutoConfig
    m = AutoModelForCausalLM.from_pretrained(str(g.parent), gguf_file=g.name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(str(g.parent), gguf_file=g.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(m.state_dict())  # GGUF-loaded models refuse save_pretrained; a plain copy does not
    model = str(tmp / "float")
    plain.save_pretrained(model)

ids = torch.tensor([[1, 9, 17, 33, 5, 12, 40, 2, 7, 21]])
cases = [("nf4+dq", ["--load-in-4bit", "--bnb-4bit-use-double-quant"],
          BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.float32)),
         ("fp4", ["--load-in-4bit", "--bnb-4bit-quant-type", "fp4"],
          BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="fp4", bnb_4bit_compute_dtype=torch.float32)),
         ("int8", ["--load-in-8bit"], BitsAndBytesConfig(load_in_8bit=True))]
for name, flags, cfg in cases:
    out = tmp / name
    subprocess.run([args.sftrun, "quantize", "--model", model, "--output", str(out)] + flags, check=True)
    ours = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32, device_map="cpu")
    theirs = AutoModelForCausalLM.from_pretrained(model, quantization_config=cfg, dtype=torch.float32, device_map="cpu")
    for mod in (ours, theirs):
        mod.train()  # bitsandbytes' training path on CPU (what sftrun trains with)
    with torch.no_grad():
        a, b = ours(ids).logits, theirs(ids).logits
    print(f"{name}: sftrun-quantized folder vs transformers load: max |Δlogit| = {(a - b).abs().max().item():.3g} "
          f"(logit scale {b.abs().max().item():.3g}), identical: {torch.equal(a, b)}")
