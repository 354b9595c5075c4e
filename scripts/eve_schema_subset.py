#!/usr/bin/env python3
"""The part of Suricata's EVE schema (etc/schema.json) that ml-ids's EVE events touch.

    scripts/eve_schema_subset.py SURICATA_CHECKOUT [COMMIT] > crates/watch/tests/fixtures/suricata_eve_schema_subset.json
    scripts/eve_schema_subset.py --check SCHEMA_JSON EVE_FILE

The first form writes a reduced JSON Schema: the required fields and every top-level field's
name and JSON type (event payload objects other than `alert` and `flow` reduced to
`{"type": "object"}`), and the names, types, enums and nesting of the `alert` and `flow`
objects. Only field names and types are taken (facts about the format, not Suricata's code);
descriptions and keyword notes are dropped. `crates/watch/tests/eve_schema.rs` checks ml-ids's
events against it. Suricata is GPL-2.0-only; its schema is at
https://github.com/OISF/suricata/blob/master/etc/schema.json.

The second form validates every line of an EVE file against a full Suricata schema with the
`jsonschema` package, after taking out the one extension ml-ids adds (its `ml_ids` and
`ml_ids_incident` objects), for a maintainer with a Suricata checkout at hand.
"""

import json
import subprocess
import sys

KEEP = ("type", "properties", "additionalProperties", "required", "enum", "pattern")
EXTENSIONS = ("ml_ids", "ml_ids_incident")


def reduce(node, defs):
    """Names, types and structure of a schema node; `$ref`s resolved."""
    if "$ref" in node:
        node = defs[node["$ref"].split("/")[-1]]
    out = {k: node[k] for k in KEEP if k in node and k != "properties"}
    if "properties" in node:
        out["properties"] = {
            name: reduce(sub, defs) for name, sub in sorted(node["properties"].items())
        }
    return out


def subset(schema, commit):
    defs = schema.get("$defs", {})
    top = {}
    for name, sub in sorted(schema["properties"].items()):
        if name in ("alert", "flow"):
            top[name] = reduce(sub, defs)
        else:
            r = reduce(sub, defs)
            top[name] = {"type": r["type"]} if r.get("type") == "object" else r
    return {
        "$comment": (
            "Derived by scripts/eve_schema_subset.py from Suricata's etc/schema.json "
            f"(https://github.com/OISF/suricata, commit {commit}; Suricata is GPL-2.0-only). "
            "Field names, JSON types and structure only."
        ),
        "type": "object",
        "additionalProperties": schema.get("additionalProperties", True),
        "required": schema["required"],
        "properties": top,
    }


def check(schema_path, eve_path):
    import jsonschema

    schema = json.load(open(schema_path))
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    for n, line in enumerate(open(eve_path), 1):
        event = json.loads(line)
        for k in EXTENSIONS:
            if k in event and not isinstance(event.pop(k), dict):
                print(f"{eve_path}:{n}: {k} is not an object")
                bad += 1
        for err in validator.iter_errors(event):
            print(f"{eve_path}:{n}: {err.json_path}: {err.message}")
            bad += 1
    print(f"{n} events, {bad} errors", file=sys.stderr)
    return 1 if bad else 0


def main():
    if sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    repo = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    sha = subprocess.check_output(["git", "-C", repo, "rev-parse", commit], text=True).strip()
    text = subprocess.check_output(["git", "-C", repo, "show", f"{sha}:etc/schema.json"], text=True)
    json.dump(subset(json.loads(text), sha), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
