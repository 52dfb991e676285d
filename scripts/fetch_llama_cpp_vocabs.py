#!/usr/bin/env python3
"""Real vocab-only GGUFs with reference ids, from llama.cpp's tokenizer tests (shipped inside the
llama-cpp-python source package on PyPI), for GGUFTokenizerTests. Copies ggml-vocab-{llama-spm,gpt-2}.gguf with
their .inp (inputs separated by `__ggml_vocab_test__` lines) and .out (ids per line, made by HF tokenizers) into
Tests/SFTRunKitTests/Fixtures/llama-cpp-vocab/, and writes transformers-ids.json: the ids transformers' own GGUF
converter gives for each input (AutoTokenizer.from_pretrained(gguf_file=...), encode without special tokens).

  .venv-ref/bin/python scripts/fetch_llama_cpp_vocabs.py [--sdist llama_cpp_python-0.3.36.tar.gz]
Without --sdist it runs `pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36` (several minutes:
pip prepares the package's build environment before it keeps the download).
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile

from transformers import AutoTokenizer

VERSION = "0.3.36"
NAMES = ["llama-spm", "gpt-2"]  # together about 2.5 MB; llama-bpe (7.8 MB) and qwen2 (5.9 MB) are too big to commit
root = pathlib.Path(__file__).resolve().parent.parent
out = root / "Tests/SFTRunKitTests/Fixtures/llama-cpp-vocab"

p = argparse.ArgumentParser()
p.add_argument("--sdist", help="an already downloaded llama_cpp_python-%s.tar.gz" % VERSION)
a = p.parse_args()

with tempfile.TemporaryDirectory() as tmp:
    sdist = a.sdist
    if sdist is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        f"llama-cpp-python=={VERSION}", "-d", tmp], check=True)
        sdist = next(pathlib.Path(tmp).glob("llama_cpp_python-*.tar.gz"))
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            name = pathlib.PurePosixPath(member.name).name
            if any(name.startswith(f"ggml-vocab-{n}.gguf") for n in NAMES) and "/vendor/llama.cpp/models/" in member.name:
                (out / name).write_bytes(tar.extractfile(member).read())

ids = {}
for n in NAMES:
    tok = AutoTokenizer.from_pretrained(out, gguf_file=f"ggml-vocab-{n}.gguf")
    inputs = (out / f"ggml-vocab-{n}.gguf.inp").read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    ids[n] = [tok.encode(text, add_special_tokens=False) for text in inputs]
(out / "transformers-ids.json").write_text(json.dumps(ids) + "\n")
print({n: len(v) for n, v in ids.items()}, "cases written to", out)
