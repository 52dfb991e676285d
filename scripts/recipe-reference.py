#!/usr/bin/env python3
"""Prints the README's recipe reference table (Markdown) from schemas/recipe.schema.json, standard library only.
Usage: python3 scripts/recipe-reference.py"""
import json, pathlib, re

root = pathlib.Path(__file__).resolve().parent.parent
schema = json.loads((root / "schemas/recipe.schema.json").read_text())

def resolve(s):
    if "$ref" in s:
        target = schema
        for part in s["$ref"][2:].split("/"):
            target = target[part]
        merged = dict(resolve(target)); merged.update({k: v for k, v in s.items() if k != "$ref"}); return merged
    return s

def type_of(s):
    s = resolve(s)
    if "enum" in s: return " \\| ".join(f"`{v}`" for v in s["enum"])
    if "oneOf" in s: return " or ".join(type_of(a) for a in s["oneOf"])
    t = s.get("type", "any")
    if isinstance(t, list): return " or ".join(t)
    if t == "array" and "items" in s: return f"list of {type_of(s['items'])}"
    return t

def mirrors(desc):
    m = re.findall(r"\(`([^`]+)`", desc)
    return f"`{m[0]}`" if m else ""

rows = []
def walk(s, prefix):
    s = resolve(s)
    for key, p in s.get("properties", {}).items():
        p = resolve(p); name = f"{prefix}{key}"
        desc = p.get("description", "").replace("|", "\\|")
        default = f"`{json.dumps(p['default'])}`" if "default" in p else ""
        if p.get("type") == "object" and "properties" in p:
            rows.append((name, "section", "", "", desc)); walk(p, name + "."); continue
        rows.append((name, type_of(p), default, mirrors(desc), desc))
        if name == "data.train":
            walk(schema["$defs"]["source"], "data.train[].")
walk(schema, "")
print("| key | type | default | mirrors | meaning |\n| --- | --- | --- | --- | --- |")
for r in rows:
    print("| `" + r[0] + "` | " + " | ".join(r[1:]) + " |")
