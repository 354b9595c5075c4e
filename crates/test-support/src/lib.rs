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
//! - [`process_scratch_dir`]: a directory for this test process that outlives its statics (a
//!   fixture model trained once per process) and is removed by a later run once the process is gone;
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

/// `mlids-KIND-PID` under the system's temp directory, created for this process, after removing
/// every `mlids-KIND-*` left by a process that no longer runs.
///
/// Why not a guard that removes it on drop: the users are `OnceLock` statics (a fixture model
/// trained once per test process, then read by every test in it), and statics are never dropped.
/// nextest runs each test in its own process, so without reaping a full test run left dozens of
/// trained models in /tmp. Liveness is read from `/proc/PID`; where there is no `/proc` nothing is
/// reaped (the directories then stay, as before).
pub fn process_scratch_dir(kind: &str) -> PathBuf {
    let temp = std::env::temp_dir();
    let prefix = format!("mlids-{kind}-");
    if Path::new("/proc/self").exists() {
        for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix(&prefix));
            let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                // Another test process may be reaping the same directory: losing that race is fine.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = temp.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("create the scratch directory {}: {e}", dir.display()));
    dir
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

    #[test]
    fn a_scratch_dir_of_a_finished_process_is_reaped_and_this_ones_is_kept() {
        if !Path::new("/proc/self").exists() {
            return; // nothing is reaped without /proc, by design
        }
        let kind = "scratch-selftest";
        // Above Linux's largest pid_max (2^22), so no process can have it.
        let stale = std::env::temp_dir().join(format!("mlids-{kind}-4000000000"));
        std::fs::create_dir_all(stale.join("model")).unwrap();
        let mine = process_scratch_dir(kind);
        assert!(!stale.exists(), "{} was left", stale.display());
        assert!(mine.is_dir());
        // A second call in the same process keeps its own directory.
        std::fs::write(mine.join("kept"), b"x").unwrap();
        assert!(process_scratch_dir(kind).join("kept").exists());
        std::fs::remove_dir_all(&mine).unwrap();
    }
}
