#!/usr/bin/env python3
"""Writes Tests/DatasetsTests/Fixtures/packing.json: TRL 1.16 `pack_dataset` output for each strategy on seeded
example lengths (more than one 1000-row map batch, so per-batch packing is covered). Token j of example i is
i * 1000 + j and its completion_mask (i + j) % 3, so the fixture stores only lengths and the packed rows.
Usage: .venv-ref/bin/python scripts/make_packing_fixtures.py"""
import json, pathlib, random
import datasets, trl
from trl import pack_dataset

rng = random.Random(0)
lengths = [rng.choice([0] + list(range(1, 25))) if i % 97 else 45 for i in range(1050)]
ids = [[i * 1000 + j for j in range(n)] for i, n in enumerate(lengths)]
mask = [[(i + j) % 3 for j in range(n)] for i, n in enumerate(lengths)]
ds = datasets.Dataset.from_dict({"input_ids": ids, "completion_mask": mask})
out = {"versions": {"trl": trl.__version__, "datasets": datasets.__version__}, "lengths": lengths, "seq_length": 32, "cases": []}
for strategy in ["bfd", "bfd_split", "wrapped"]:
    packed = pack_dataset(ds, 32, strategy=strategy)[:]
    out["cases"].append({"strategy": strategy, "input_ids": packed["input_ids"],
                         "completion_mask_matches": all(m == [((t // 1000) + (t % 1000)) % 3 for t in r] for r, m in zip(packed["input_ids"], packed["completion_mask"])),
                         "seq_lengths": packed.get("seq_lengths")})
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/DatasetsTests/Fixtures/packing.json"
path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
print("wrote", path, path.stat().st_size, "bytes")
