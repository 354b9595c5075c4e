//! Child processes with hard limits: every script runs in a process group of its own, so that on
//! time-out or cancellation the whole group (the script and every tool it started) is stopped.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Spawn `cmd` as the leader of a new process group.
pub fn spawn_group(cmd: &mut Command) -> std::io::Result<Child> {
    cmd.process_group(0).spawn()
}

/// Signal a whole process group (ignoring a group that is already gone).
pub fn signal_group(child: &Child, sig: i32) {
    // SAFETY: kill(2) with a negative pid addresses the process group the child leads.
    unsafe {
        libc::kill(-(child.id() as i32), sig);
    }
}

/// Signal one process.
pub fn signal(child: &Child, sig: i32) {
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

/// How a bounded wait ended.
pub struct Ended {
    pub status: Option<ExitStatus>,
    /// Stopped by us at the limit (or on cancellation).
    pub killed: bool,
}

/// Wait for `child` at most `limit`; past it (or when `cancel` is set) send SIGINT to its group, then
/// SIGKILL 3 s later.
pub fn wait_bounded(child: &mut Child, limit: Duration, cancel: &AtomicBool) -> Ended {
    let started = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Ended {
                status: Some(st),
                killed: false,
            };
        }
        if started.elapsed() >= limit || cancel.load(Ordering::SeqCst) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_group(child, libc::SIGINT);
    let stopping = Instant::now();
    while stopping.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(st)) = child.try_wait() {
            return Ended {
                status: Some(st),
                killed: true,
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_group(child, libc::SIGKILL);
    Ended {
        status: child.wait().ok(),
        killed: true,
    }
}

/// Run a command to completion with a limit; its output goes where `cmd` says.
pub fn run_bounded(cmd: &mut Command, limit: Duration, cancel: &AtomicBool) -> anyhow::Result<()> {
    let mut child = spawn_group(cmd)
        .map_err(|e| anyhow::anyhow!("cannot start {:?}: {e}", cmd.get_program()))?;
    let ended = wait_bounded(&mut child, limit, cancel);
    match ended.status {
        Some(st) if st.success() && !ended.killed => Ok(()),
        Some(st) => anyhow::bail!("{:?} failed ({st})", cmd.get_program()),
        None => anyhow::bail!("{:?} did not end", cmd.get_program()),
    }
}
