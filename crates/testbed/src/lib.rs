//! The ml-ids attack testbed: a small recreation of what CIC did for CSE-CIC-IDS2018 — real services,
//! real benign users, real attack tools, every packet captured and labelled — on one Linux host.
//!
//! ```text
//!   mlt-RUN-sw: bridge br0 ◄── tcpdump (capture.pcap; optionally streamed to ml-ids serve)
//!     ├─ mlt-RUN-vic   10.77.0.10   nginx+php-fpm (Testbed Shop), vsftpd, sshd, dnsmasq
//!     ├─ mlt-RUN-h21…  10.77.0.21…  benign users (web, TLS, downloads, ssh, ftp, dns, mail, ntp)
//!     ├─ mlt-RUN-h101… 10.77.0.101… one attacker host per attack scenario
//!     └─ mlt-RUN-h201… 10.77.0.201… DDoS bots, the bot scenario's infected host
//! ```
//! The shell scripts under `testbed/` (embedded, see [`scripts`]) do the networking, the services and
//! each scenario; this crate plans, runs and bounds them, cleans up, and turns the capture into
//! per-scenario pcaps and labelled flows with the ml-ids flow pipeline. See docs/testbed.md.

pub mod catalog;
pub mod eval;
pub mod extract;
pub mod manifest;
pub mod pcap;
pub mod proc;
pub mod routing;
pub mod run;
pub mod scripts;
pub mod stream;

pub use catalog::{Kind, Scale, Scenario, CATALOGUE};
pub use eval::{evaluate, EvalReport};
pub use manifest::{LinkDelay, Manifest};
pub use run::{run, RunOptions};

/// Namespaces left behind by runs whose process is gone (killed with SIGKILL, machine trouble):
/// delete them, with every process inside. Returns the run ids cleaned.
pub fn clean_stale() -> std::io::Result<Vec<String>> {
    use std::collections::BTreeSet;
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()?;
    let mut runs = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if let Some(rest) = name.strip_prefix("mlt-") {
            if let Some((run, _)) = rest.split_once('-') {
                runs.insert(run.to_string());
            }
        }
    }
    let mut cleaned = Vec::new();
    for run in runs {
        let owner = std::path::Path::new(run::OWNERS_DIR).join(&run);
        let alive = std::fs::read_to_string(&owner)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            // SAFETY: signal 0 only checks that the process exists.
            .is_some_and(|pid| unsafe { libc::kill(pid, 0) } == 0);
        if alive {
            continue;
        }
        let dir = tempdir_for_clean()?;
        scripts::install(&dir)?;
        std::process::Command::new("bash")
            .arg(dir.join("lib/net.sh"))
            .args(["down", &run])
            .status()?;
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&owner);
        let _ = std::fs::remove_dir_all(format!("/tmp/mlids-testbed-{run}"));
        cleaned.push(run);
    }
    Ok(cleaned)
}

fn tempdir_for_clean() -> std::io::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("mlids-testbed-clean-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
