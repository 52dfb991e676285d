#!/usr/bin/env python3
"""Dev check: an adapter that sftrun trains with modules_to_save on a tied model (the tiny llama of
Tests/SFTRunKitTests/Fixtures, tie_word_embeddings: true) loads in peft and merges as transformers expects.

For modules_to_save [lm_head], [embed_tokens, lm_head] and [lm_head] with ensure_weight_tying: `sftrun train`
(3 steps, LoRA on q/v), then
- peft's PeftModel.from_pretrained(base, adapter) logits vs transformers on `sftrun merge`'s folder (max |Δ|),
- the merged config.json must say tie_word_embeddings: false and model.safetensors must hold lm_head.weight
  (with ensure_weight_tying: stay tied, no lm_head.weight; peft's lm_head shares the embedding's tensor),
- `sftrun eval` of the adapter on one row vs the same row's loss under peft (|Δ|).

Run after a debug build:  .venv-ref/bin/python scripts/check_tied_lora_interop.py [path/to/sftrun]
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

repo = pathlib.Path(__file__).resolve().parent.parent
sftrun = sys.argv[1] if len(sys.argv) > 1 else str(repo / ".build/debug/sftrun")
base = repo / "Tests/SFTRunKitTests/Fixtures/tiny-llama"
lines = ["The quick brown fox jumps over the lazy dog.", "A journey of a thousand miles begins with a single step.",
         "To be or not to be, that is the question.", "All that glitters is not gold."]


def run(*args):
    r = subprocess.run([sftrun, *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"sftrun {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r


worst = 0.0
scratch = tempfile.TemporaryDirectory()
env = dict(os.environ, SFTRUN_CACHE=scratch.name)  # the runs' data cache, not the user's
for modules, ensure in ((["lm_head"], False), (["embed_tokens", "lm_head"], False), (["lm_head"], True)):
    with tempfile.TemporaryDirectory() as t:
        d = pathlib.Path(t)
        (d / "train.jsonl").write_text("".join(json.dumps({"text": s}) + "\n" for s in lines * 3))
        (d / "eval.jsonl").write_text(json.dumps({"text": lines[1]}) + "\n")
        (d / "r.yaml").write_text(f"""model: {{name_or_path: {base}}}
data:
  train: [{{path: {d / 'train.jsonl'}}}]
  max_length: 64
peft: {{r: 4, lora_alpha: 8, target_modules: [q_proj, v_proj], modules_to_save: {json.dumps(modules)}, ensure_weight_tying: {json.dumps(ensure)}}}
training: {{output_dir: {d / 'out'}, max_steps: 3, per_device_train_batch_size: 4, learning_rate: 1.0e-2, logging_steps: 1, save_steps: 100}}
""")
        run("train", str(d / "r.yaml"))
        run("merge", "--model", str(base), "--adapter", str(d / "out"), "--output", str(d / "merged"))
        keys = sorted(k for k in load_file(str(d / "out/adapter_model.safetensors")) if "lora" not in k)
        merged_config = json.loads((d / "merged/config.json").read_text())
        assert merged_config.get("tie_word_embeddings", True) is ensure, merged_config
        assert ("lm_head.weight" in load_file(str(d / "merged/model.safetensors"))) is not ensure
        ev = json.loads(run("eval", str(d / "r.yaml"), "--set", f"peft.adapter_path={d / 'out'}",
                            "--set", f"data.eval=[{{path: {d / 'eval.jsonl'}}}]").stdout.strip().splitlines()[-1])
        ids_line = subprocess.run([sftrun, "tokenize", "--tokenizer", str(base)], input=json.dumps({"text": lines[1] + "</s>"}) + "\n",
                                            capture_output=True, text=True, check=True).stdout
        ids = torch.tensor([json.loads(ids_line)["ids"]])

        peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base).float(), d / "out").eval()
        merged = AutoModelForCausalLM.from_pretrained(d / "merged").float().eval()
        with torch.no_grad():
            a = peft_model(input_ids=ids).logits
            b = merged(input_ids=ids).logits
            loss = F.cross_entropy(a[0, :-1], ids[0, 1:]).item()
        inner = peft_model.base_model.model
        assert (inner.lm_head.weight.data_ptr() == inner.model.embed_tokens.weight.data_ptr()) is ensure
        d_logits = (a - b).abs().max().item()
        d_loss = abs(loss - ev["eval_loss"])
        worst = max(worst, d_logits, d_loss)
        print(f"modules_to_save={modules} ensure_weight_tying={ensure}: adapter keys {keys}; peft vs merged logits max|Δ| {d_logits:.2e}; "
              f"sftrun eval_loss {ev['eval_loss']:.6f} vs peft {loss:.6f} (|Δ| {d_loss:.2e})")
print("ok" if worst < 1e-4 else "MISMATCH", f"worst {worst:.2e}")
sys.exit(0 if worst < 1e-4 else 1)
