"""MLflow serving compatibility, side by side (driven by bench/mlflow_compat.sh).

  export BUNDLE OUT [--signature]   an MLflow scikit-learn model with the bundle's very trees
  compare BUNDLE ROWS_CSV NAME MLIDS_URL MLFLOW_URL [MLFLOW_URL...]
                                    send every payload form to each server, print one Markdown
                                    table row per payload: status, top-level keys, length and
                                    element types of `predictions`, and whether the shapes agree

The MLflow side is what a user of the seed had: a LightGBM scikit-learn classifier
(`LGBMClassifier`) served by `mlflow models serve`, which answers the predicted class — 0/1 for a
binary classifier trained on 0/1 labels, the label string for a multiclass one.
"""
import csv
import json
import math
import sys
import urllib.error
import urllib.request


def manifest(bundle):
    with open(f"{bundle}/manifest.json") as f:
        return json.load(f)


def classes_of(m):
    """The classes an LGBMClassifier fitted on the bundle's data would have, in booster order."""
    return [0, 1] if m["task"] == "binary" else [label["name"] for label in m["labels"]]


def export(bundle, out, signature):
    import shutil

    import lightgbm as lgb
    import mlflow.sklearn
    import numpy as np
    import pandas as pd

    m = manifest(bundle)
    feats, classes = m["features"], classes_of(m)
    # Fit a throwaway classifier of the right shape (features, classes), then give it the bundle's
    # trees: LGBMClassifier predicts through its booster and maps the arg-max back to its classes.
    k = len(classes)
    x = pd.DataFrame(np.tile(np.arange(k, dtype=float)[:, None], (4, len(feats))), columns=feats)
    y = np.array(classes * 4, dtype=object if isinstance(classes[0], str) else int)
    clf = lgb.LGBMClassifier(n_estimators=1, min_child_samples=1, min_data_in_bin=1, verbose=-1)
    clf.fit(x, y)
    booster = lgb.Booster(model_file=f"{bundle}/model.txt")
    assert booster.num_feature() == len(feats), "the bundle's trees and manifest disagree"
    clf._Booster = booster
    clf._le.classes_ = np.asarray(classes, dtype=y.dtype)
    clf._classes = clf._le.classes_
    clf._n_classes = k
    sig = mlflow.models.infer_signature(x, clf.predict(x)) if signature else None
    shutil.rmtree(out, ignore_errors=True)
    # Explicit requirements: MLflow would otherwise load the model in a subprocess to infer them.
    # Pickled: MLflow 3's default (skops) refuses a LightGBM booster unless its types are listed.
    mlflow.sklearn.save_model(clf, out, signature=sig, serialization_format="cloudpickle",
                              pip_requirements=["lightgbm", "scikit-learn"])


def rows_of(bundle, rows_csv, n=5):
    """`n` flows from an `ml-ids extract --names snake` CSV, every model feature a finite number."""
    feats = manifest(bundle)["features"]
    out = []
    with open(rows_csv) as f:
        for r in csv.DictReader(f):
            try:
                row = [float(r[c]) for c in feats]
            except (KeyError, ValueError):
                continue
            if all(math.isfinite(v) for v in row):
                out.append(row)
            if len(out) == n:
                break
    assert len(out) == n, f"fewer than {n} complete rows in {rows_csv}"
    return feats, out


def payloads(feats, rows):
    """(name, content type, body) of every form `mlflow models serve` documents, plus the ones
    only one of the two servers accepts and a few malformed ones."""
    records = [dict(zip(feats, r)) for r in rows]
    columns = {c: [r[i] for r in rows] for i, c in enumerate(feats)}
    split = {"columns": feats, "data": rows}
    csv_body = ",".join(feats) + "\n" + "".join(",".join(repr(v) for v in r) + "\n" for r in rows)
    js = "application/json"
    return [
        ("dataframe_split", js, {"dataframe_split": split}),
        ("dataframe_split + index + params", js,
         {"dataframe_split": {"index": list(range(len(rows))), **split}, "params": {"alerts": False}}),
        ("dataframe_records", js, {"dataframe_records": records}),
        ("instances (records)", js, {"instances": records}),
        ("instances (arrays)", js, {"instances": rows}),
        ("inputs (columns)", js, {"inputs": columns}),
        ("inputs (arrays)", js, {"inputs": rows}),
        ("text/csv", "text/csv", csv_body),
        ("text/csv; charset=utf-8", "text/csv; charset=utf-8", csv_body),
        ("malformed JSON", js, '{"dataframe_split": {"columns": ['),
        ("no data key", js, {"rows": rows}),
        ("two data keys", js, {"inputs": rows, "dataframe_records": records}),
        ("wrong width (instances)", js, {"instances": [r[:3] for r in rows]}),
        ("text/plain", "text/plain", "hello"),
        ("bare pandas split (MLflow 1)", js, split),
        ("format=pandas-split (the seed's client)", "application/json; format=pandas-split", split),
    ]


def request(method, url, content_type=None, body=None):
    """(status, content type, body text) of one request."""
    data = None
    if body is not None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def shape(status, content_type, text):
    """What the comparison looks at: status, top-level keys (or `text`), and for `predictions`
    its length and element types."""
    try:
        v = json.loads(text)
    except ValueError:
        return {"status": status, "keys": "text", "len": None, "types": None, "body": text}
    if not isinstance(v, dict):
        return {"status": status, "keys": type(v).__name__, "len": None, "types": None, "body": v}
    p = v.get("predictions")
    types = sorted({type(x).__name__ for x in p}) if isinstance(p, list) else None
    return {"status": status, "keys": sorted(v), "len": len(p) if isinstance(p, list) else None,
            "types": types, "body": v}


def agrees(mlflow, ours):
    """Same answer shape: the status, and for a 200 the keys, length and element types; for an
    error, MLflow's error fields (`error_code`, `message`) in both."""
    if mlflow["status"] != ours["status"]:
        return False
    if mlflow["status"] == 200:
        return all(mlflow[k] == ours[k] for k in ("keys", "len", "types"))
    return has_mlflow_error(mlflow) and has_mlflow_error(ours)


def has_mlflow_error(s):
    return isinstance(s["keys"], list) and {"error_code", "message"} <= set(s["keys"])


def verdict(theirs, ours):
    """How ml-ids' answer relates to MLflow's, in words."""
    ok = [t for t in theirs if t["status"] == 200]
    if ok:
        if not all(agrees(t, ours) for t in ok):
            return "**no**"
        return "same" if len(ok) == len(theirs) else "same (as the MLflow model that accepts it)"
    if ours["status"] == 200:
        return "ml-ids also accepts it"
    if all(agrees(t, ours) for t in theirs):
        return "same (status, error_code, message)"
    if all(t["status"] == ours["status"] for t in theirs):
        return "same status; ml-ids' body is JSON" if all(
            t["keys"] == "text" for t in theirs) else "same status; body differs"
    return "**no**"


def describe(s):
    keys = s["keys"] if isinstance(s["keys"], str) else "{" + ", ".join(s["keys"]) + "}"
    if s["len"] is not None:
        return f"{s['status']} {keys} len {s['len']} of {'/'.join(s['types']) or '-'}"
    code = s["body"].get("error_code") if isinstance(s["body"], dict) else None
    return f"{s['status']} {code or ''} {keys}".replace("  ", " ")


def same_values(theirs, ours):
    ok = [t for t in theirs if t["status"] == 200]
    if not ok or ours["status"] != 200:
        return ""
    a, b = ok[0]["body"]["predictions"], ours["body"]["predictions"]
    return f"{sum(x == y for x, y in zip(a, b))}/{len(a)}"


def compare(bundle, rows_csv, name, mlids, mlflows):
    feats, rows = rows_of(bundle, rows_csv)
    for pname, ct, body in payloads(feats, rows):
        theirs = [shape(*request("POST", f"{u}/invocations", ct, body)) for u in mlflows]
        ours = shape(*request("POST", f"{mlids}/invocations", ct, body))
        cells = [describe(t) for t in theirs] + [describe(ours)]
        print(f"| {name} | {pname} | " + " | ".join(cells) +
              f" | {verdict(theirs, ours)} | {same_values(theirs, ours)} |")
    for method, path in (("GET", "/ping"), ("GET", "/health"), ("GET", "/version"),
                         ("GET", "/invocations")):
        theirs = [request(method, f"{u}{path}") for u in mlflows]
        ours = request(method, f"{mlids}{path}")
        cells = [text_cell(*t) for t in theirs] + [text_cell(*ours)]
        if all(t[:2] == ours[:2] and kind(t[2]) == kind(ours[2]) for t in theirs):
            v = "same"
        elif all(t[0] == ours[0] for t in theirs):
            v = "same status; body differs"
        else:
            v = "**no**"
        print(f"| {name} | {method} {path} | " + " | ".join(cells) + f" | {v} | |")


def kind(text):
    """A GET answer's body, by kind: a newline, a version number, JSON keys, or other text."""
    if text == "\n":
        return "newline"
    if text and all(p.isdigit() for p in text.split(".")):
        return "version"
    try:
        return "{" + ", ".join(sorted(json.loads(text))) + "}"
    except (ValueError, TypeError):
        return "text"


def text_cell(status, content_type, text):
    shown = {"newline": "`\\n`", "version": f"`{text}`"}.get(kind(text), kind(text))
    return f"{status} {content_type.split(';')[0]} {shown}"


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "export":
        export(args[0], args[1], "--signature" in args[2:])
    elif cmd == "compare":
        compare(args[0], args[1], args[2], args[3], args[4:])
    else:
        sys.exit(__doc__)
