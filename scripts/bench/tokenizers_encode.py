#!/usr/bin/env python3
"""The Python side of `sftrun bench tokenize`: Rust `tokenizers` encode_batch throughput (MB/s) on a text file, one
example per line (`encode_batch`, which computes offsets as sftrun does, and `encode_batch_fast`, which skips them), with one thread and with all threads (each in a fresh process, since RAYON_NUM_THREADS is read once).

Usage: .venv-ref/bin/python scripts/bench/tokenizers_encode.py --tokenizer DIR FILE"""
import argparse
import os
import subprocess
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--tokenizer", required=True)
p.add_argument("file")
p.add_argument("--child", action="store_true")
a = p.parse_args()
if not a.child:
    for threads in ["1", str(os.cpu_count())]:
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        subprocess.run([sys.executable, __file__, "--child", "--tokenizer", a.tokenizer, a.file], env=env, check=True)
    sys.exit(0)
from tokenizers import Tokenizer
tok = Tokenizer.from_file(os.path.join(a.tokenizer, "tokenizer.json"))
lines = open(a.file, encoding="utf-8").read().split("\n")
lines = [l for l in lines if l]
mb = sum(len(l.encode()) for l in lines) / 1e6
tok.encode_batch(lines[:200])
for name in ["encode_batch", "encode_batch_fast"]:
    fn = getattr(tok, name, None)
    if fn is None:
        continue
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        fn(lines)
        best = max(best, mb / (time.perf_counter() - t))
    print(f"tokenizers {name} (RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS')}): {best:.2f} MB/s on {mb:.2f} MB")
