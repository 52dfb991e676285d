#!/usr/bin/env python3
"""Preprocessing benchmark, TRL side: deterministic synthetic rows (plain text and chat) as JSONL, prepared by TRL
1.16's SFTTrainer (its dataset preparation runs when the trainer is constructed: EOS added, chat template applied,
tokenized, truncated to max_length) with the SmolLM2 tokenizer of Tests/TokenizationTests/Fixtures/smollm2 and a
tiny random model (the model plays no part in the timing). Prints rows/s, tokens/s and peak RSS per kind.

It also writes, next to the data, the recipes that `sftrun bench prepare` times on the identical rows:

    .venv-ref/bin/python scripts/bench/preprocess_trl.py --rows 100000 --out /tmp/prep-bench
    sftrun bench prepare /tmp/prep-bench/text.yaml
    sftrun bench prepare /tmp/prep-bench/chat.yaml

Run them one after the other on an otherwise idle machine. `--num-proc` is TRL's `dataset_num_proc` (default: one
process, TRL's default); sftrun always tokenizes on all cores.
"""
import argparse
import json
import pathlib
import random
import resource
import time

import datasets
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from trl import SFTConfig, SFTTrainer

repo = pathlib.Path(__file__).resolve().parents[2]
words = ("the of and to in is was for on that with as by at from his her an which or be are this had not but have "
         "were one all she he they their we you can there time more would about some these other into has two first "
         "model data train token learn small large quick brown fox lazy dog river mountain city garden music window").split()


def sentence(rng, n):
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


def make_rows(n, kind, seed=0):
    rng = random.Random(seed)
    for i in range(n):
        if kind == "text":
            yield {"text": " ".join(sentence(rng, rng.randint(6, 18)) for _ in range(rng.randint(2, 8)))}
        else:
            turns = []
            for _ in range(rng.randint(1, 3)):
                turns.append({"role": "user", "content": sentence(rng, rng.randint(5, 20))})
                turns.append({"role": "assistant", "content": " ".join(sentence(rng, rng.randint(6, 16)) for _ in range(rng.randint(1, 4)))})
            yield {"messages": turns}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--out", default="/tmp/sftrun-prep-bench")
    ap.add_argument("--kinds", default="text,chat")
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--num-proc", type=int, default=None)
    ap.add_argument("--tokenizer", default=str(repo / "Tests/TokenizationTests/Fixtures/smollm2"))
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    datasets.disable_caching()
    tokenizer = AutoTokenizer.from_pretrained(a.tokenizer)
    tiny = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=a.max_length))
    for kind in a.kinds.split(","):
        data = out / f"{kind}.jsonl"
        with data.open("w") as f:
            for row in make_rows(a.rows, kind):
                f.write(json.dumps(row) + "\n")
        (out / f"{kind}.yaml").write_text(
            f"# made by scripts/bench/preprocess_trl.py: time with `sftrun bench prepare {out / (kind + '.yaml')}`\n"
            f"model: {{name_or_path: {a.tokenizer}}}\n"
            f"data:\n  train: [{{path: {data}}}]\n  max_length: {a.max_length}\n"
            f"training: {{output_dir: {out / 'unused'}}}\n")
        ds = datasets.load_dataset("json", data_files=str(data), split="train", cache_dir=str(out / "hf-datasets-cache"))
        config = SFTConfig(output_dir=str(out / "trl-unused"), max_length=a.max_length, dataset_num_proc=a.num_proc, report_to=[], use_cpu=True, bf16=False,
                           packing=False)
        baseline = peak_rss_mb()
        start = time.perf_counter()
        trainer = SFTTrainer(model=tiny, args=config, train_dataset=ds, processing_class=tokenizer)
        seconds = time.perf_counter() - start
        prepared = trainer.train_dataset
        tokens = sum(len(ids) for ids in prepared["input_ids"])
        print(f"TRL {kind}: {len(prepared)} rows, {tokens} tokens in {seconds:.2f} s: {len(prepared) / seconds:.0f} rows/s, "
              f"{tokens / seconds:.0f} tokens/s; peak RSS {peak_rss_mb():.0f} MB ({baseline:.0f} MB before preparing); num_proc {a.num_proc or 1}")


if __name__ == "__main__":
    main()
