#!/usr/bin/env python3
"""Writes Tests/SFTRunKitTests/Fixtures/tokenize_cli.json: what transformers 5.24 gives for `apply_chat_template`
(tokenize=True) and plain encoding with the SmolLM2 tokenizer fixture and SmolLM2's real chat template, so the
`sftrun tokenize` test compares the whole command against the reference.
Usage: .venv-ref/bin/python scripts/make_tokenize_cli_fixtures.py"""
import json, pathlib
import transformers
from transformers import PreTrainedTokenizerFast

root = pathlib.Path(__file__).resolve().parent.parent
cases = json.loads((root / "Tests/JinjaTests/Fixtures/real_templates.json").read_text())["cases"]
template = next(c["template"] for c in cases if c["name"].startswith("smollm2"))
tok = PreTrainedTokenizerFast(tokenizer_file=str(root / "Tests/TokenizationTests/Fixtures/smollm2/tokenizer.json"),
                              bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|im_end|>", unk_token="<|endoftext|>")
tok.chat_template = template
conversations = [
    [{"role": "user", "content": "What is the capital of France?"}, {"role": "assistant", "content": "Paris."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi 😀"}, {"role": "assistant", "content": "Hello!"},
     {"role": "user", "content": "Count: 12345"}, {"role": "assistant", "content": "1 2 3 4 5"}],
]
texts = ["Hello world 123", "  leading spaces and\ttabs\n", "<|im_start|>inline special", ""]
out = {"versions": {"transformers": transformers.__version__}, "chat_template": template, "chats": [], "texts": []}
for conv in conversations:
    for gen in (False, True):
        msgs = conv[:-1] if gen else conv
        out["chats"].append({"messages": msgs, "add_generation_prompt": gen,
                             "text": tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen),
                             "ids": tok.apply_chat_template(msgs, tokenize=True, add_generation_prompt=gen, return_dict=True)["input_ids"]})
for t in texts:
    out["texts"].append({"text": t, "ids": tok(t)["input_ids"], "decoded": tok.decode(tok(t)["input_ids"])})
path = root / "Tests/SFTRunKitTests/Fixtures/tokenize_cli.json"
path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print("wrote", path)
