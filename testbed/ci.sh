#!/usr/bin/env bash
# The testbed's CI check (root): install the packages, then the small-scale end-to-end test
# (crates/cli/tests/testbed_e2e.rs): a run with seed 1 → dataset → model → `ml-ids serve`; a run with
# seed 2 streamed live to the server; every attack scenario must raise WebSocket alerts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash testbed/install.sh
# Workspace-wide cargo commands, never `-p ml-ids`: a single-package build unifies dependency
# features differently and would recompile much of the tree that `./run test` has already built.
cargo build -q --workspace --all-targets
# Namespaces of earlier runs that were killed (none normally).
"${CARGO_TARGET_DIR:-target}/debug/ml-ids" testbed clean
cargo test --workspace --test testbed_e2e -- --ignored --nocapture
