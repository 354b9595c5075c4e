//! Helpers shared by the ml-ids integration tests (a dev-dependency of the test crates, never
//! published):
//!
//! - [`shared_data`]: the one rule for finding the real third-party data (`MLIDS_SHARED_DATA`, else
//!   `../shared/data` next to the workspace root);
//! - [`require`] / [`skip`]: a test whose prerequisite is missing prints `SKIP: …` and returns,
//!   unless `MLIDS_REQUIRE_ALL=1` (as `./run test` sets), where it fails instead, so CI can never
//!   pass by skipping;
//! - [`nats_server`]: the `nats-server` binary for the bus tests;
//! - [`capture`]: running the flow pipeline over synthesised captures (`mlids_flow::synth`);
//! - [`process`]: servers started on a port they chose themselves and reported in their log;
//! - [`models`] (feature `models`): the fixture models of the server, watch, bus and cli tests
//!   (small GBDTs trained in a second or two) and split files in the dataset schema.

pub mod capture;
#[cfg(feature = "models")]
pub mod models;
pub mod process;

use std::fmt::Display;
use std::path::{Path, PathBuf};

/// The environment variable that turns every skip into a failure.
pub const REQUIRE_ALL: &str = "MLIDS_REQUIRE_ALL";

/// Whether `MLIDS_REQUIRE_ALL` asks that no test be skipped (`1`, `true` or `yes`).
pub fn require_all() -> bool {
    std::env::var(REQUIRE_ALL)
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// A prerequisite of the running test is missing: print `SKIP: <what>` (the caller then returns),
/// or panic with `<what>` when `MLIDS_REQUIRE_ALL=1`.
#[track_caller]
pub fn skip(what: impl Display) {
    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(|n| format!(" [{n}]"))
        .unwrap_or_default();
    if require_all() {
        panic!("{what}{test} ({REQUIRE_ALL}=1: missing prerequisites fail instead of skipping)");
    }
    eprintln!("SKIP: {what}{test}");
}

/// `present`, or else [`skip`] with `what`: `if !require(have_root, "needs root") { return; }`.
#[track_caller]
pub fn require(present: bool, what: impl Display) -> bool {
    if !present {
        skip(what);
    }
    present
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Where the shared data is expected: `MLIDS_SHARED_DATA`, else `../shared/data` next to the
/// workspace root. Use [`shared_data`] in tests; this is for messages and scripts.
pub fn shared_data_dir() -> PathBuf {
    match std::env::var_os("MLIDS_SHARED_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join("../shared/data"),
    }
}

/// The shared third-party data directory (see its MANIFEST.md), or `None` after [`skip`] when it
/// is absent: `let Some(data) = shared_data() else { return };`.
#[track_caller]
pub fn shared_data() -> Option<PathBuf> {
    let dir = shared_data_dir();
    require(
        dir.is_dir(),
        format_args!(
            "the shared data {} is absent (set MLIDS_SHARED_DATA); the real-data checks did not run",
            dir.display()
        ),
    )
    .then_some(dir)
}

/// Every file under `dir`, recursively, in name order (the real-capture tests walk the shared
/// data's folders with it).
pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    fn walk(d: &std::path::Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// `nats-server`'s path (PATH, /usr/sbin, /usr/local/bin), or `None` after [`skip`].
#[track_caller]
pub fn nats_server() -> Option<PathBuf> {
    let found = find_program("nats-server");
    require(
        found.is_some(),
        "nats-server is not installed (Debian: apt-get install nats-server)",
    );
    found
}

/// A program on PATH (or in /usr/sbin, /usr/local/bin).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join(name))
        .find(|f| f.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_root_is_found_from_this_crate() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates/test-support").is_dir());
    }

    #[test]
    fn require_passes_through_what_is_present() {
        assert!(require(true, "never printed"));
    }
}
