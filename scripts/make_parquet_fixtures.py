#!/usr/bin/env python3
"""Developer-time: writes the small Parquet files under Tests/DatasetsTests/Fixtures/parquet/ that the Swift Parquet
reader is checked against, each with its rows as pyarrow reads them (`<name>.json`, `to_pylist()`), so the tests can
compare every row exactly. Usage: /work/main/.venv-ref/bin/python scripts/make_parquet_fixtures.py

Conventions the Swift reader follows, applied here to the expected rows: byte arrays without a string annotation
become strings when they are UTF-8 and base64 text otherwise; maps become objects keyed by the key's text."""
import base64, json, pathlib
import pyarrow as pa
import pyarrow.parquet as pq

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/DatasetsTests/Fixtures/parquet"
out.mkdir(parents=True, exist_ok=True)


def plain(value, kind):
    """pyarrow's Python values → the JSON the Swift reader's Values should equal, by the column's Arrow type."""
    if value is None:
        return None
    if pa.types.is_map(kind):
        return {str(k): plain(v, kind.item_type) for k, v in value}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return [plain(v, kind.value_type) for v in value]
    if pa.types.is_struct(kind):
        return {f.name: plain(value[f.name], f.type) for f in kind}
    if pa.types.is_decimal(kind):
        return float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    return value


def write(name, table, rows_name=None, **options):
    """Writes `<name>.parquet` and the rows pyarrow reads back to `<rows_name or name>.json` (files that hold the same
    rows in different layouts share one)."""
    path = out / f"{name}.parquet"
    pq.write_table(table, path, **options)
    read = pq.read_table(path)
    # Dates and timestamps come back as their stored integers (days, or the column's time unit).
    for i, f in enumerate(read.schema):
        if pa.types.is_date32(f.type) or pa.types.is_timestamp(f.type):
            read = read.set_column(i, f.name, read.column(i).cast(pa.int32() if pa.types.is_date32(f.type) else pa.int64()))
    rows = [{f.name: plain(r[f.name], f.type) for f in read.schema} for r in read.to_pylist()]
    (out / f"{rows_name or name}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    return path


flat = pa.table({
    "b": pa.array([True, False, None, True, False, True, None], pa.bool_()),
    "i8": pa.array([1, -2, None, 127, -128, 0, 5], pa.int8()),
    "i16": pa.array([300, None, -300, 32767, -32768, 0, 7], pa.int16()),
    "i32": pa.array([None, 1, -1, 2147483647, -2147483648, 42, 0], pa.int32()),
    "i64": pa.array([9007199254740993, -9223372036854775808, None, 9223372036854775807, 0, 1, -1], pa.int64()),
    "u8": pa.array([255, 0, None, 1, 2, 3, 4], pa.uint8()),
    "u32": pa.array([4294967295, 0, 1, None, 2, 3, 4], pa.uint32()),
    "u64": pa.array([18446744073709551615, 0, 1, None, 2, 3, 4], pa.uint64()),
    "f": pa.array([1.5, -0.25, None, 0.1, 3.4e38, 0.0, -1.0], pa.float32()),
    "d": pa.array([2.0, None, -1e-300, 0.1, 1.7976931348623157e308, 0.0, 3.141592653589793], pa.float64()),
    "s": pa.array(["héllo", "", None, "日本語", "a\nb", "tab\tquote\"", "x" * 40], pa.string()),
    "ls": pa.array(["large", None, "s", "t", "r", "i", "ng"], pa.large_string()),
    "bin": pa.array([b"bytes", b"\xff\x00\x01", None, b"", b"z", b"\xc3\xa9", b"k"], pa.binary()),
    "fixed": pa.array([b"abcd", b"\x00\x01\x02\x03", None, b"wxyz", b"1234", b"5678", b"9012"], pa.binary(4)),
    "req": pa.array([10, 20, 30, 40, 50, 60, 70], pa.int64()),
})
flat = flat.cast(flat.schema.set(flat.schema.get_field_index("req"), pa.field("req", pa.int64(), nullable=False)))
write("flat_plain_v1", flat, compression="none", use_dictionary=False, data_page_version="1.0")
write("flat_snappy_v2", flat, compression="snappy", use_dictionary=False, data_page_version="2.0")

message = pa.struct([("role", pa.string()), ("content", pa.string())])
chat = pa.table({
    "messages": pa.array([
        [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        [],
        None,
        [{"role": "user", "content": None}, None, {"role": "assistant", "content": "ok " * 50}],
    ], pa.list_(message)),
    "source": pa.array(["a", "b", None, "d", "e"]),
})
write("chat_snappy", chat, compression="snappy")
write("chat_uncompressed_v2", chat, compression="none", data_page_version="2.0")

# The same rows with pyarrow's older list naming (`list.item`), and with every level required.
write("chat_item_lists", chat, compression="snappy", use_compliant_nested_type=False)
required_message = pa.struct([pa.field("role", pa.string(), nullable=False), pa.field("content", pa.string(), nullable=False)])
required_chat = pa.table({"messages": pa.array(
    [[{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}] * (1 + i % 2) for i in range(6)],
    pa.list_(pa.field("element", required_message, nullable=False)))})
required_chat = required_chat.cast(pa.schema([pa.field("messages", required_chat.schema.field("messages").type, nullable=False)]))
write("chat_required", required_chat, compression="snappy")
write("empty", pa.table({"text": pa.array([], pa.string())}), compression="snappy")

prompts = [f"Question {i}: what is {i} times {i + 1}?" for i in range(10)]
completions = [f" {i * (i + 1)}" for i in range(10)]
write("prompt_completion", pa.table({"prompt": prompts, "completion": completions}),
      compression="snappy", row_group_size=3)

labels = ["positive", "negative", "neutral", None]
dictionary = pa.table({
    "label": pa.array([labels[i % 4] for i in range(40)]),
    "score": pa.array([(i % 3) - 1 for i in range(40)], pa.int64()),
    "weight": pa.array([[0.5, 1.0, None][i % 3] for i in range(40)], pa.float64()),
})
write("dictionary_v1", dictionary, compression="snappy", use_dictionary=True, data_page_version="1.0")
write("dictionary_v2", dictionary, compression="none", use_dictionary=True, data_page_version="2.0", row_group_size=16)

nested = pa.table({
    "ints": pa.array([[1, None, 3], [], None, [4], [5, 6, 7, 8]], pa.list_(pa.int64())),
    "grid": pa.array([[["a", "b"], []], None, [None, ["c"]], [[]], [["d", None]]], pa.list_(pa.list_(pa.string()))),
    "point": pa.array([{"x": 1, "tags": ["p"]}, None, {"x": None, "tags": None}, {"x": 4, "tags": []}, {"x": 5, "tags": ["q", "r"]}],
                      pa.struct([("x", pa.int32()), ("tags", pa.list_(pa.string()))])),
    "attrs": pa.array([[("k", 1), ("l", 2)], [], None, [("m", None)], [("n", 5)]], pa.map_(pa.string(), pa.int64())),
})
write("nested", nested, compression="snappy")

# Many small pages and a long repetitive text, so snappy's back-references and page boundaries are exercised.
long_text = [("The quick brown fox jumps over the lazy dog. " * (3 + i % 7)) + str(i) for i in range(120)]
write("many_pages", pa.table({"text": long_text, "n": list(range(120))}), compression="snappy",
      data_page_size=512, use_dictionary=False, write_batch_size=10)

delta = pa.table({
    "i": pa.array([5, 7, 9, None, -100, 1 << 40, 3, 3, 3, -(1 << 40)] * 13, pa.int64()),
    "j": pa.array(list(range(0, 390, 3)), pa.int32()),
    "s": pa.array([f"item-{i:03d}" if i % 5 else None for i in range(130)]),
    "t": pa.array([f"prefix/shared/{i // 4}/{i}" for i in range(130)]),
})
write("delta", delta, compression="none", use_dictionary=False,
      column_encoding={"i": "DELTA_BINARY_PACKED", "j": "DELTA_BINARY_PACKED", "s": "DELTA_LENGTH_BYTE_ARRAY", "t": "DELTA_BYTE_ARRAY"})

temporal = pa.table({
    "day": pa.array([0, 19000, None, -1], pa.date32()),
    "ms": pa.array([0, 1_700_000_000_123, None, -5], pa.timestamp("ms")),
    "price": pa.array([None, "123.45", "-0.01", "99999999.99"], pa.string()).cast(pa.decimal128(10, 2)),
})
write("temporal", temporal, compression="snappy")
write("int96", pa.table({"at": pa.array([0, 1_700_000_000_123_456_789, None, -1_000], pa.timestamp("ns"))}),
      compression="snappy", use_deprecated_int96_timestamps=True)

write("byte_stream_split", pa.table({
    "f": pa.array([1.5, None, -2.25, 3.0e-5, 0.0], pa.float32()),
    "d": pa.array([0.1, 2.0, None, -1e300, 5.5], pa.float64()),
}), compression="snappy", use_dictionary=False, column_encoding={"f": "BYTE_STREAM_SPLIT", "d": "BYTE_STREAM_SPLIT"})

# GZIP and ZSTD pages (read through Debian's zlib and libzstd): strings, integers, floats, nulls and the nested
# messages column, plain and dictionary values, data pages v1 and v2, several pages per column. The eight files hold
# the same rows, so they share compressed.json.
roles = ["system", "user", "assistant"]
compressed = pa.table({
    "text": pa.array([None if i % 7 == 3 else f"row {i}: " + "lorem ipsum " * (i % 5) for i in range(48)]),
    "n": pa.array([None if i % 5 == 4 else (i * 7919) % 1000 - 500 for i in range(48)], pa.int64()),
    "x": pa.array([None if i % 6 == 5 else i / 8 - 2.5 for i in range(48)], pa.float64()),
    "f": pa.array([float(i % 4) - 0.5 for i in range(48)], pa.float32()),
    "label": pa.array([["yes", "no", None][i % 3] for i in range(48)]),
    "messages": pa.array([None if i % 11 == 10 else
                          [{"role": roles[(i + j) % 3], "content": None if (i + j) % 9 == 8 else f"turn {j} of {i}"} for j in range(i % 4)]
                          for i in range(48)], pa.list_(message)),
})
for codec in ("gzip", "zstd"):
    for version in ("1.0", "2.0"):
        for dictionary in (False, True):
            write(f"{codec}_{'dictionary' if dictionary else 'plain'}_v{version[0]}", compressed, rows_name="compressed",
                  compression=codec, use_dictionary=dictionary, data_page_version=version, data_page_size=256, write_batch_size=8)

# Raw GZIP and ZSTD streams of known text, for the codec tests (truncated at every length, sizes wrong).
stream_text = ("Parquet page bytes, said twice. " * 2 + "0123456789" * 3).encode()
(out / "stream.txt").write_bytes(stream_text)
(out / "stream.gz").write_bytes(pa.compress(stream_text, "gzip", asbytes=True))
(out / "stream.zst").write_bytes(pa.compress(stream_text, "zstd", asbytes=True))


def damaged(name, source, magic, start, length):
    """A copy of `source` whose first compressed page (found by its stream magic) has `length` bytes overwritten
    from `start` bytes into the stream: the page headers stay intact, so only the codec can notice."""
    whole = bytearray((out / f"{source}.parquet").read_bytes())
    at = whole.index(magic, 4)
    whole[at + start: at + start + length] = b"\xa5" * length
    (out / f"{name}.parquet").write_bytes(bytes(whole))


damaged("gzip_damaged", "gzip_plain_v1", b"\x1f\x8b\x08", 12, 6)
damaged("zstd_damaged", "zstd_plain_v1", b"\x28\xb5\x2f\xfd", 6, 3)

# Files the reader refuses, with a message saying what to do.
pq.write_table(pa.table({"text": ["brotli row"]}), out / "brotli.parquet", compression="brotli")
whole = (out / "chat_snappy.parquet").read_bytes()
(out / "truncated.parquet").write_bytes(whole[: len(whole) // 2])

print("wrote", ", ".join(sorted(p.name for p in out.iterdir())))
print("total bytes", sum(p.stat().st_size for p in out.iterdir()))
