#!/usr/bin/env python3
"""Developer-time: the two repos the fake Hub (Tests/HubClientTests/Fixtures/fake_hub.py) serves for the end-to-end
`sftrun recipes/opt350m-imdb.yaml` test, in the real repos' layouts, under Tests/HubClientTests/Fixtures/hub/:

- `stanfordnlp--imdb/`: README.md with the real `configs:` front matter and `plain_text/{train,test}-00000-of-00001.parquet`
  (pyarrow, snappy as the Hub writes them), text + label columns, 40 + 8 short reviews.
- `facebook--opt-350m/`: a tiny random OPT with opt-350m's shape features (post-LN, `word_embed_proj_dim` != hidden size),
  saved as `pytorch_model.bin` like the real repo, and a slow GPT-2 tokenizer (`vocab.json` + `merges.txt`) with OPT's
  special tokens `<s>`=0 `<pad>`=1 `</s>`=2 `<unk>`=3, byte-level BPE trained on the reviews (a few hundred tokens).

Usage: /work/main/.venv-ref/bin/python scripts/make_hub_fixtures.py
"""
import json
import pathlib
import random

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import AutoModelForCausalLM, OPTConfig

root = pathlib.Path(__file__).resolve().parent.parent / "Tests/HubClientTests/Fixtures/hub"
imdb, opt = root / "stanfordnlp--imdb", root / "facebook--opt-350m"
(imdb / "plain_text").mkdir(parents=True, exist_ok=True)
opt.mkdir(parents=True, exist_ok=True)

rng = random.Random(7)
good = ["a wonderful film", "great acting", "a moving story", "I loved every minute", "beautifully shot", "the cast shines"]
bad = ["a boring mess", "terrible acting", "the plot makes no sense", "I wanted my money back", "badly edited", "the cast looks lost"]
def review(label):
    words = good if label else bad
    return (" and ".join(rng.sample(words, 2)) + ". " + rng.choice(["Watch it.", "Skip it.", "Ten out of ten.", "Meh."])).capitalize()

def rows(n):
    labels = [i % 2 for i in range(n)]
    return {"text": [review(l) for l in labels], "label": labels}

train, test = rows(40), rows(8)
for name, cols in [("train", train), ("test", test)]:
    table = pa.table({"text": pa.array(cols["text"], pa.string()), "label": pa.array(cols["label"], pa.int64())})
    pq.write_table(table, imdb / "plain_text" / f"{name}-00000-of-00001.parquet")
(imdb / "README.md").write_text("""---
language:
- en
license: other
task_categories:
- text-classification
pretty_name: IMDB
dataset_info:
  config_name: plain_text
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': neg
          '1': pos
configs:
- config_name: plain_text
  data_files:
  - split: train
    path: plain_text/train-*
  - split: test
    path: plain_text/test-*
  default: true
---

# Tiny stand-in for stanfordnlp/imdb (fake Hub fixture)
""")

bpe = ByteLevelBPETokenizer()
bpe.train_from_iterator(train["text"] + test["text"], vocab_size=340, min_frequency=2,
                        special_tokens=["<s>", "<pad>", "</s>", "<unk>"], show_progress=False)
bpe.save_model(str(opt))
vocab = json.loads((opt / "vocab.json").read_text())
assert [vocab[t] for t in ["<s>", "<pad>", "</s>", "<unk>"]] == [0, 1, 2, 3]
special = {"bos_token": "</s>", "eos_token": "</s>", "unk_token": "</s>", "pad_token": "<pad>"}
(opt / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
(opt / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": True, "add_prefix_space": False, "errors": "replace",
                                                       "model_max_length": 64, "tokenizer_class": "GPT2Tokenizer", **special},
                                                      indent=2) + "\n")

vocab_size = (len(vocab) + 7) // 8 * 8
cfg = OPTConfig(vocab_size=vocab_size, hidden_size=16, ffn_dim=32, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=64, do_layer_norm_before=False, word_embed_proj_dim=8, dropout=0.0,
                attention_dropout=0.0, bos_token_id=2, eos_token_id=2, pad_token_id=1, _name_or_path="facebook/opt-350m")
torch.manual_seed(0)
model = AutoModelForCausalLM.from_config(cfg).float()
model.config.architectures = ["OPTForCausalLM"]
(opt / "config.json").write_text(model.config.to_json_string())
(opt / "generation_config.json").write_text(json.dumps({"bos_token_id": 2, "eos_token_id": 2, "pad_token_id": 1}, indent=2) + "\n")
state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
torch.save(state, opt / "pytorch_model.bin")

# What transformers reads back, so a broken fixture fails here and not in the Swift test.
from transformers import AutoTokenizer
reloaded = AutoModelForCausalLM.from_pretrained(opt)
tok = AutoTokenizer.from_pretrained(opt)
ids = tok(train["text"][0])["input_ids"]
assert ids[0] == 2 and max(ids) < vocab_size, ids
print("ok:", len(vocab), "tokens;", sum(p.numel() for p in reloaded.parameters()), "parameters;",
      sum(f.stat().st_size for f in root.rglob("*") if f.is_file()), "bytes")
