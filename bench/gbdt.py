#!/usr/bin/env python3
"""GBDT training and inference benchmark: mlids-model (Rust, LightGBM via lightgbm3 + flat predictor)
against Python LightGBM, XGBoost and CatBoost on the same generated data, same thread count, same
number of trees, side by side in one run.

    bench/gbdt.sh                      # sets up the venv and runs this
    ROWS=200000 bench/gbdt.sh          # smaller run

Env: ROWS (train rows, default 1000000), TEST_ROWS (200000), FEATURES (70), TREES (50),
THREADS (2), LEAVES (255), OUT (bench/out/gbdt), BENCH_BIN (path of the bench_gbdt example binary).
Prints a Markdown table and writes OUT/results.json and OUT/results.md.
"""
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROWS = int(os.environ.get("ROWS", 1_000_000))
TEST_ROWS = int(os.environ.get("TEST_ROWS", 200_000))
NF = int(os.environ.get("FEATURES", 70))
TREES = int(os.environ.get("TREES", 50))
THREADS = int(os.environ.get("THREADS", 2))
LEAVES = int(os.environ.get("LEAVES", 255))
OUT = os.environ.get("OUT", "bench/out/gbdt")
BIN = os.environ["BENCH_BIN"]


def auc(scores, y):
    """ROC-AUC with ties averaged (Mann-Whitney)."""
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    r = np.arange(1, len(s) + 1, dtype=float)
    # average ranks over ties
    _, idx, counts = np.unique(s, return_index=True, return_counts=True)
    avg = r[idx] + (counts - 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    pos = y > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def generate(n, rng):
    """A flow-like binary problem: skewed positive features, interactions, 3% missing values."""
    x = rng.lognormal(mean=0.0, sigma=1.0, size=(n, NF))
    x[:, ::3] = rng.normal(size=(n, len(range(0, NF, 3))))
    w = rng.normal(size=NF) * (rng.random(NF) < 0.3)
    logit = (np.log1p(np.abs(x)) @ w) * 3.0 + 3.0 * np.sin(2 * x[:, 0]) * x[:, 1] + 2.5 * (x[:, 2] > 1.5) - 2.0
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p).astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    return x, y


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(f):
    c0, t0 = cpu(), time.perf_counter()
    v = f()
    return v, time.perf_counter() - t0, cpu() - c0


def main():
    os.makedirs(OUT, exist_ok=True)
    data = os.path.join(OUT, "data")
    os.makedirs(data, exist_ok=True)
    rng = np.random.default_rng(42)
    x_train, y_train = generate(ROWS, rng)
    x_test, y_test = generate(TEST_ROWS, rng)
    x_train.astype("<f8").tofile(os.path.join(data, "x_train.f64"))
    y_train.astype("<f4").tofile(os.path.join(data, "y_train.f32"))
    x_test.astype("<f8").tofile(os.path.join(data, "x_test.f64"))
    y_test.astype("<f4").tofile(os.path.join(data, "y_test.f32"))
    json.dump({"n_train": ROWS, "n_test": TEST_ROWS, "n_features": NF}, open(os.path.join(data, "meta.json"), "w"))
    print(f"data: {ROWS} train + {TEST_ROWS} test rows × {NF} features, {y_train.mean():.3f} positive; "
          f"{TREES} trees, {THREADS} threads, {LEAVES} leaves", file=sys.stderr)

    results = []
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    rs = subprocess.run([BIN, data, str(TREES), str(THREADS), str(LEAVES)], env=env, capture_output=True, text=True, check=True)
    ours = json.loads(rs.stdout.strip().splitlines()[-1])
    results.append({"engine": "mlids-model (Rust)", "train_s": ours["train_seconds"], "train_cpu_s": ours["train_cpu_seconds"],
                    "auc": ours["test_auc"], "predict_rows_per_s": ours["flat_rows_per_s"],
                    "predict_rows_per_cpu_s": ours["flat_rows_per_cpu_s"]})
    print(f"ours: {ours}", file=sys.stderr)

    import lightgbm as lgb
    params = {"objective": "binary", "num_leaves": LEAVES, "learning_rate": 0.1, "num_threads": THREADS,
              "verbosity": -1, "max_bin": 255, "min_data_in_leaf": 20, "seed": 42}
    booster, t, c = timed(lambda: lgb.train(params, lgb.Dataset(x_train, y_train), TREES))
    m = min(TEST_ROWS, 50_000)
    p, pt, pc = timed(lambda: booster.predict(x_test[:m], num_threads=THREADS))
    full = booster.predict(x_test, num_threads=THREADS)
    results.append({"engine": f"LightGBM {lgb.__version__} (Python)", "train_s": t, "train_cpu_s": c, "auc": auc(full, y_test),
                    "predict_rows_per_s": m / pt, "predict_rows_per_cpu_s": m / max(pc, 1e-9)})
    print(f"lightgbm: {results[-1]}", file=sys.stderr)

    import xgboost as xgb
    xp = {"objective": "binary:logistic", "tree_method": "hist", "grow_policy": "lossguide", "max_leaves": LEAVES,
          "max_depth": 0, "eta": 0.1, "nthread": THREADS, "max_bin": 255, "seed": 42}
    dtrain = xgb.DMatrix(x_train, label=y_train, nthread=THREADS)
    bst, t, c = timed(lambda: xgb.train(xp, dtrain, TREES))
    dtest = xgb.DMatrix(x_test, nthread=THREADS)
    p, pt, pc = timed(lambda: bst.predict(dtest))
    results.append({"engine": f"XGBoost {xgb.__version__} (hist, lossguide)", "train_s": t, "train_cpu_s": c, "auc": auc(p, y_test),
                    "predict_rows_per_s": TEST_ROWS / pt, "predict_rows_per_cpu_s": TEST_ROWS / max(pc, 1e-9)})
    print(f"xgboost: {results[-1]}", file=sys.stderr)
    del dtrain

    import catboost as cb
    model = cb.CatBoostClassifier(iterations=TREES, depth=8, learning_rate=0.1, thread_count=THREADS, verbose=False,
                                  random_seed=42, border_count=254)
    _, t, c = timed(lambda: model.fit(x_train, y_train))
    p, pt, pc = timed(lambda: model.predict_proba(x_test, thread_count=THREADS)[:, 1])
    results.append({"engine": f"CatBoost {cb.__version__} (depth 8)", "train_s": t, "train_cpu_s": c, "auc": auc(p, y_test),
                    "predict_rows_per_s": TEST_ROWS / pt, "predict_rows_per_cpu_s": TEST_ROWS / max(pc, 1e-9)})
    print(f"catboost: {results[-1]}", file=sys.stderr)

    lgb_train = results[1]["train_s"]
    cat_pred = results[3]["predict_rows_per_cpu_s"]
    lines = [
        f"Generated data: {ROWS:,} train + {TEST_ROWS:,} test rows × {NF} features (3% missing), "
        f"{TREES} trees, {THREADS} threads, {LEAVES} leaves (CatBoost: depth 8 = 256 leaves).",
        "",
        "| engine | train s | train CPU s | vs LightGBM (Python) | test AUC | predict rows/s | predict rows per CPU-s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['engine']} | {r['train_s']:.1f} | {r['train_cpu_s']:.1f} | {r['train_s'] / lgb_train:.2f}× | "
                     f"{r['auc']:.4f} | {r['predict_rows_per_s']:,.0f} | {r['predict_rows_per_cpu_s']:,.0f} |")
    lines += [
        "",
        f"Flat predictor: {ours['flat_rows_per_s_1thread']:,.0f} rows/s on 1 thread, {ours['flat_rows_per_s']:,.0f} rows/s on "
        f"{THREADS}; {ours['flat_rows_per_cpu_s']:,.0f} rows per CPU-second = "
        f"{ours['flat_rows_per_cpu_s'] / cat_pred:.2f}× CatBoost's predict per CPU-second. LightGBM's own C predictor "
        f"(same trees, via lightgbm3): {ours['lightgbm_rows_per_s']:,.0f} rows/s. Max relative difference flat vs "
        f"LightGBM: {ours['max_rel_diff_vs_lightgbm']:.1e}.",
    ]
    md = "\n".join(lines) + "\n"
    print(md)
    open(os.path.join(OUT, "results.md"), "w").write(md)
    json.dump({"results": results, "ours": ours}, open(os.path.join(OUT, "results.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
