#!/usr/bin/env python3
"""Writes Tests/SFTRunKitTests/Fixtures/trl_pipeline.json: TRL 1.16's own dataset preparation (SFTTrainer on a tiny
random Llama with the SmolLM2 tokenizer fixture) for text and prompt/completion rows, with max_length 16, so the
Swift pipeline (format → EOS → tokenize → completion mask → truncate) is compared with TRL itself.
Usage: .venv-ref/bin/python scripts/make_pipeline_fixtures.py"""
import json, pathlib, tempfile
import datasets, torch, transformers, trl
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from trl import SFTConfig, SFTTrainer

root = pathlib.Path(__file__).resolve().parent.parent
tok = PreTrainedTokenizerFast(tokenizer_file=str(root / "Tests/TokenizationTests/Fixtures/smollm2/tokenizer.json"),
                              bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|im_end|>", unk_token="<|endoftext|>")
torch.manual_seed(0)
model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=1))
texts = ["Hello world", "A longer sentence that will surely be truncated at sixteen tokens, or so we hope.",
         "Ends with EOS already<|im_end|>", "Digits 12345 and émojis 😀"]
pcs = [{"prompt": "Complete the word: inter", "completion": "national"}, {"prompt": "2+2=", "completion": " 4"},
       {"prompt": "Q: What is the capital of France?\nA:", "completion": " Paris, a city with a very long history indeed."}]
out = {"versions": {"trl": trl.__version__, "transformers": transformers.__version__}, "max_length": 16, "cases": []}
for kind, rows in (("text", [{"text": t} for t in texts]), ("instruction", pcs)):
    with tempfile.TemporaryDirectory() as d:
        cfg = SFTConfig(output_dir=d, max_length=16, report_to="none", bf16=False, use_cpu=True, dataset_num_proc=None)
        trainer = SFTTrainer(model=model, args=cfg, train_dataset=datasets.Dataset.from_list(rows), processing_class=tok)
        prepared = trainer.train_dataset
        for row, p in zip(rows, prepared):
            ids = p["input_ids"]
            labels = p["labels"] if "labels" in p else ids
            out["cases"].append({"format": kind, "row": row, "input_ids": ids, "labels": labels})
path = root / "Tests/SFTRunKitTests/Fixtures/trl_pipeline.json"
path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print("wrote", path, len(out["cases"]), "cases")
