"""Fixtures for WeightFilesTests, written by the Python safetensors library (run with /work/main/.venv-ref/bin/python)."""
import json, os, struct
import torch
from safetensors.torch import save_file

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "WeightFilesTests", "Fixtures")
os.makedirs(out, exist_ok=True)
vals = [0.0, 1.0, -2.5, 3.140625, 1e-3, 65504.0]
tensors = {
    "f64": torch.tensor(vals, dtype=torch.float64),
    "f32": torch.tensor(vals, dtype=torch.float32).reshape(2, 3),
    "f16": torch.tensor(vals, dtype=torch.float16),
    "bf16": torch.tensor(vals, dtype=torch.bfloat16),
    "i64": torch.tensor([-3, 0, 7], dtype=torch.int64),
    "i32": torch.tensor([-3, 0, 7], dtype=torch.int32),
    "i16": torch.tensor([-3, 0, 7], dtype=torch.int16),
    "i8": torch.tensor([-3, 0, 7], dtype=torch.int8),
    "u8": torch.tensor([0, 200, 7], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
    "scalar": torch.tensor(5.0),
    "empty": torch.zeros(0, 4),
}
save_file(tensors, os.path.join(out, "all_dtypes.safetensors"), metadata={"format": "pt", "note": "fixture"})
expect = {k: {"shape": list(v.shape), "values": [float(x) for x in v.flatten().float().tolist()],
              "bytes": v.contiguous().reshape(-1).view(torch.uint8).tolist() if v.numel() else []} for k, v in tensors.items()}
json.dump(expect, open(os.path.join(out, "all_dtypes.json"), "w"))

# bf16/f16 narrowing cases: halfway ties, overflow, subnormals, NaN, infinities.
cases = torch.tensor([1.0 + 2**-8, 1.0 + 3 * 2**-8, 1.0 + 2**-11, 1.0 + 3 * 2**-11, 65520.0, 65519.0, 1e-8, 6e-8,
                      3.4e38, -0.0, float("inf"), float("-inf"), float("nan"), -float("nan"), 0.1, -123.456, 2**-133], dtype=torch.float32)
json.dump({"f32_bits": cases.view(torch.int32).tolist(),
           "bf16_bits": cases.to(torch.bfloat16).view(torch.int16).tolist(),
           "f16_bits": cases.to(torch.float16).view(torch.int16).tolist()},
          open(os.path.join(out, "rounding.json"), "w"))
