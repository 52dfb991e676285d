"""Fixtures for PyTorchCheckpointTests: torch.save files and the values torch reads back from them.
Run with /work/main/.venv-ref/bin/python. The malicious files are only written here, never loaded."""
import collections, json, os
import torch

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "WeightFilesTests", "Fixtures", "pickle")
os.makedirs(out, exist_ok=True)
DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64",
      torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def expect(path, sd):
    """What torch itself reads back: state-dict order, dtype, shape, storage identity and the values widened to f64."""
    loaded = torch.load(path, weights_only=False)  # our own file; torch's weights_only unpickler lacks FRAME
    keys = {}
    rows = []
    for name, t in loaded.items():
        ptr = t.untyped_storage().data_ptr()
        keys.setdefault(ptr, len(keys))
        rows.append({"name": name, "dtype": DT[t.dtype], "shape": list(t.shape), "stride": list(t.stride()),
                     "storage_offset": t.storage_offset(), "storage": keys[ptr],
                     "values": [float(x) for x in t.flatten().double().tolist()]})
    json.dump({"tensors": rows}, open(path + ".json", "w"))


def save(name, sd, **kw):
    path = os.path.join(out, name)
    torch.save(sd, path, **kw)
    expect(path, sd)


vals = [0.0, 1.0, -2.5, 3.140625, 1e-3, 65504.0]
dtypes = collections.OrderedDict([
    ("f32", torch.tensor(vals, dtype=torch.float32).reshape(2, 3)),
    ("f16", torch.tensor(vals, dtype=torch.float16)),
    ("bf16", torch.tensor(vals, dtype=torch.bfloat16)),
    ("f64", torch.tensor(vals, dtype=torch.float64)),
    ("i64", torch.tensor([-3, 0, 2**40], dtype=torch.int64)),
    ("i32", torch.tensor([-3, 0, 7], dtype=torch.int32)),
    ("i16", torch.tensor([-3, 0, 7], dtype=torch.int16)),
    ("i8", torch.tensor([-3, 0, 7], dtype=torch.int8)),
    ("u8", torch.tensor([0, 200, 7], dtype=torch.uint8)),
    ("bool", torch.tensor([True, False, True])),
    ("scalar", torch.tensor(5.0)),
    ("empty", torch.zeros(0, 4)),
])
save("dtypes.pt", dtypes)

# Views into shared storages: a tied pair, a transpose (non-contiguous), a slice with a storage offset,
# a strided column and a Parameter (written through _rebuild_parameter). Protocol 4 brings FRAME/MEMOIZE/STACK_GLOBAL.
base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4
views = collections.OrderedDict([
    ("embed.weight", base),
    ("lm_head.weight", base),
    ("transposed", base.t()),
    ("rows_1_2", base[1:]),
    ("column_2", base[:, 2]),
    ("every_other", base[::2, 1::2]),
    ("param", torch.nn.Parameter(torch.tensor([0.5, -0.25]))),
    ("half_t", torch.arange(6, dtype=torch.float16).reshape(2, 3).t()),
])
save("views.pt", views, pickle_protocol=4)

# An OPT-shaped state dict from a real module (OrderedDict with _metadata via BUILD, tied embed/lm_head),
# with weights on a 1/8 grid so the expected JSON stays short and exact.
from transformers import OPTConfig, OPTForCausalLM
torch.manual_seed(0)
cfg = OPTConfig(vocab_size=16, hidden_size=8, num_hidden_layers=1, ffn_dim=8, num_attention_heads=2,
                max_position_embeddings=4, word_embed_proj_dim=8)
model = OPTForCausalLM(cfg)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.randint(-8, 8, p.shape).float() / 8)
save("opt_like.bin", model.state_dict())

# The pre-1.6 format, for the "legacy format" refusal.
torch.save({"w": torch.ones(2)}, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)

MARK = "/tmp/sftrun-pickle-fixture-executed"


class SystemCall:
    def __reduce__(self):
        return (os.system, ("touch " + MARK,))


class EvalCall:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch " + MARK + "')",))


torch.save({"w": torch.ones(2), "x": SystemCall()}, os.path.join(out, "malicious_system.pt"))
torch.save({"x": EvalCall()}, os.path.join(out, "malicious_eval.pt"))
torch.save({"x": EvalCall()}, os.path.join(out, "malicious_eval_p4.pt"), pickle_protocol=4)  # STACK_GLOBAL builtins.eval
