#!/usr/bin/env python3
"""Check that LightGBM text models written by mlids-train load in Python LightGBM and predict the
same values as our flat predictor (relative difference <= 1e-9), on rows with missing values.

Usage:
    python3 scripts/lightgbm_interop.py [FIXTURE_DIR]

Without FIXTURE_DIR, the fixtures are generated first with
the workspace's `interop_fixture` example (CARGO_TARGET_DIR is honoured).
Needs `pip install lightgbm numpy`. Exits non-zero on any mismatch.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

try:
    import lightgbm as lgb
except ImportError:
    sys.exit("lightgbm_interop: Python LightGBM is not installed (pip install lightgbm)")


def main() -> int:
    if len(sys.argv) > 1:
        return compare(sys.argv[1])
    # Generated fixtures are this run's alone: removed afterwards, whatever the outcome.
    fixtures = tempfile.mkdtemp(prefix="mlids-interop-")
    try:
        generate(fixtures)
        return compare(fixtures)
    finally:
        shutil.rmtree(fixtures, ignore_errors=True)


def generate(fixtures: str) -> None:
    """Write the fixtures with the workspace's `interop_fixture` example."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # Build through the workspace, not `-p mlids-train`: a single-package build unifies
    # dependency features differently and would recompile half the dependency tree in CI.
    subprocess.run(["cargo", "build", "-q", "--workspace", "--all-targets"], cwd=repo, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(repo, "target")
    subprocess.run(
        [os.path.join(target, "debug", "examples", "interop_fixture"), fixtures],
        cwd=repo,
        check=True,
    )


def compare(fixtures: str) -> int:
    """Predict the fixture rows with Python LightGBM and compare with ours; 1 on any mismatch."""
    rows = np.loadtxt(os.path.join(fixtures, "rows.csv"), delimiter=",", ndmin=2)
    features = open(os.path.join(fixtures, "features.txt")).read().split()
    failures = 0
    checked = 0
    for name in ("binary", "multiclass"):
        booster = lgb.Booster(model_file=os.path.join(fixtures, f"{name}.txt"))
        if booster.feature_name() != features:
            print(f"FAIL {name}: feature names {booster.feature_name()} != {features}")
            failures += 1
        theirs = np.asarray(booster.predict(rows)).reshape(len(rows), -1)
        ours = np.loadtxt(os.path.join(fixtures, f"{name}_ours.csv"), delimiter=",", ndmin=2)
        if theirs.shape != ours.shape:
            print(f"FAIL {name}: shapes {theirs.shape} (LightGBM) vs {ours.shape} (ours)")
            failures += 1
            continue
        rel = np.abs(theirs - ours) / np.maximum(np.abs(theirs), 1e-300)
        worst = float(rel.max())
        bad = int((rel > 1e-9).sum())
        checked += theirs.size
        status = "ok" if bad == 0 else "FAIL"
        print(f"{status} {name}: {theirs.size} predictions, {bad} differ by > 1e-9 relative (worst {worst:.3e}); "
              f"LightGBM {lgb.__version__}, {booster.num_trees()} trees")
        failures += bad > 0
    print(f"{checked} predictions checked, {failures} model(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
