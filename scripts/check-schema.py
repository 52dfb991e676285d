#!/usr/bin/env python3
"""Developer check: schemas/recipe.schema.json is a valid JSON Schema draft 2020-12, and the shipped recipes that do
not use `extends` validate against it with the reference `jsonschema` implementation too (CI skips this; it needs
the jsonschema and PyYAML packages). Usage: python3 scripts/check-schema.py"""
import importlib.metadata, json, pathlib, sys
import jsonschema, yaml

root = pathlib.Path(__file__).resolve().parent.parent
schema = json.loads((root / "schemas/recipe.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
checked = 0
for path in sorted((root / "recipes").rglob("*.yaml")):
    doc = yaml.safe_load(path.read_text())
    if "extends" in doc:
        continue
    errors = list(validator.iter_errors(doc))
    for e in errors:
        print(f"{path.name}: {'.'.join(map(str, e.path))}: {e.message}")
    if errors:
        sys.exit(1)
    checked += 1
print(f"schema is valid draft 2020-12; {checked} standalone recipes valid under jsonschema {importlib.metadata.version('jsonschema')}")
