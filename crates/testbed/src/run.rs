//! `ml-ids testbed run`: network up, services up, capture on, benign users and the bot in the
//! background, attacks one after the other, capture off, network down (always, by a Drop guard), then
//! per-scenario pcaps, labelled flows and the manifest.

use crate::catalog::{Kind, Scale, Scenario};
use crate::extract::{split_and_label, Target};
use crate::manifest::*;
use crate::proc::{self, spawn_group, wait_bounded};
use crate::routing::Routing;
use crate::scripts;
use crate::stream::{AlertListener, Uploader};
use anyhow::{bail, Context, Result};
use mlids_flow::Mode;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const SUBNET: &str = "10.77.0.0/24";
pub const VICTIM_IP: &str = "10.77.0.10";
/// The account the brute forces eventually guess (created by testbed/install.sh).
pub const TB_USER: &str = "mlids-tb";
pub const TB_PASS: &str = "sunshine1";
/// Benign traffic starts this long before the first attack and goes on this long after the last.
const WARMUP_S: u32 = 3;
/// Pause between two attacks.
const GAP_S: u32 = 2;
/// Length of the background phase when only concurrent scenarios are selected.
const ALONE_S: [u32; 2] = [20, 300];

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub out: PathBuf,
    pub scenarios: Vec<&'static Scenario>,
    pub seed: u64,
    pub scale: Scale,
    pub mode: Mode,
    /// Base URL of a running `ml-ids serve` to stream the capture to.
    pub stream_to: Option<String>,
    pub token: Option<String>,
    /// Replace an earlier run in `out`.
    pub force: bool,
}

/// A planned scenario: its hosts and budget.
struct Planned {
    sc: &'static Scenario,
    hosts: Vec<(String, String)>, // (host name in net.sh, ip)
    budget: crate::catalog::Budget,
}

/// Tears the network down (kills everything inside the run's namespaces) and removes the state
/// directory when dropped: after success, failure, panic or Ctrl-C.
struct NetGuard {
    run_id: String,
    net_sh: PathBuf,
    state: PathBuf,
    logs: PathBuf,
    owner_file: PathBuf,
    up: bool,
}

impl NetGuard {
    fn down(&mut self) {
        if self.up {
            let _ = Command::new("bash")
                .arg(&self.net_sh)
                .args(["down", &self.run_id])
                .stdin(Stdio::null())
                .status();
            self.up = false;
        }
        // Keep the daemons' logs, drop the rest (web root with its download files, database, keys).
        if self.state.exists() {
            if let Ok(rd) = std::fs::read_dir(&self.state) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "log") {
                        let _ = std::fs::copy(&p, self.logs.join(e.file_name()));
                    }
                }
            }
            let _ = std::fs::remove_dir_all(&self.state);
        }
        let _ = std::fs::remove_file(&self.owner_file);
    }
}

impl Drop for NetGuard {
    fn drop(&mut self) {
        self.down();
    }
}

/// Where a run registers itself, so `ml-ids testbed clean` can tell live runs from leftovers.
pub const OWNERS_DIR: &str = "/run/mlids-testbed";

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(0);
    format!(
        "{:06x}",
        (nanos ^ ((std::process::id() as u64) << 20)) & 0xff_ffff
    )
}

fn ns_name(run: &str, host: &str) -> String {
    format!("mlt-{run}-{host}")
}

/// The package's installed version (`dpkg-query`), or `?`.
pub fn package_version(pkg: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", pkg])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "?".into())
}

fn have_command(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Refuse early, with the fix, when the machine cannot run the testbed.
fn preflight(scenarios: &[&Scenario]) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the testbed creates network namespaces and must run as root");
    }
    let mut need = vec![
        "ip",
        "tcpdump",
        "ethtool",
        "nginx",
        "php-fpm8.2",
        "vsftpd",
        "/usr/sbin/sshd",
        "dnsmasq",
        "sqlite3",
        "ss",
        "timeout",
        "setsid",
    ];
    for s in scenarios {
        for t in s.tools {
            need.push(match *t {
                "ssh" | "scp" => "ssh",
                t => t,
            });
        }
    }
    need.sort();
    need.dedup();
    let missing: Vec<&str> = need.into_iter().filter(|c| !have_command(c)).collect();
    let user_ok = Command::new("id")
        .arg(TB_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !missing.is_empty() || !user_ok {
        let mut what = missing.join(", ");
        if !user_ok {
            if !what.is_empty() {
                what.push_str(", ");
            }
            what.push_str(&format!("the account {TB_USER}"));
        }
        bail!("missing: {what}. Run `sudo testbed/install.sh` (it installs the Debian packages and creates the account)");
    }
    Ok(())
}

fn plan(opts: &RunOptions) -> Result<(Vec<Planned>, u32)> {
    let (mut benign_i, mut attack_i, mut extra_i) = (0u32, 0u32, 0u32);
    let sequential_s: u32 = opts
        .scenarios
        .iter()
        .filter(|s| !s.concurrent)
        .map(|s| s.budget(opts.scale).seconds + GAP_S)
        .sum();
    let phase_s = if sequential_s == 0 {
        ALONE_S[(opts.scale == Scale::Full) as usize]
    } else {
        WARMUP_S + sequential_s + WARMUP_S
    };
    let mut out = Vec::new();
    for sc in &opts.scenarios {
        let main = match sc.kind {
            Kind::Benign => {
                benign_i += 1;
                20 + benign_i
            }
            Kind::Attack => {
                attack_i += 1;
                100 + attack_i
            }
        };
        if main > 99 + 90 || benign_i > 70 {
            bail!("too many scenarios for the address plan");
        }
        let mut hosts = vec![(format!("h{main}"), format!("10.77.0.{main}"))];
        for _ in 0..sc.extra_hosts {
            extra_i += 1;
            let o = 200 + extra_i;
            if o > 254 {
                bail!("too many bot hosts for the address plan");
            }
            hosts.push((format!("h{o}"), format!("10.77.0.{o}")));
        }
        let mut budget = sc.budget(opts.scale);
        if sc.concurrent {
            budget.seconds = phase_s;
        }
        out.push(Planned { sc, hosts, budget });
    }
    Ok((out, phase_s))
}

/// What the capture gave.
struct CaptureDone {
    bytes: u64,
    captured: Option<u64>,
    dropped: Option<u64>,
    upload: Option<Uploader>,
}

/// tcpdump on the bridge; its output is teed to the capture file and, when streaming, the server.
struct Capture {
    child: std::process::Child,
    tee: std::thread::JoinHandle<Result<(u64, Option<Uploader>)>>,
    stats: std::thread::JoinHandle<(Option<u64>, Option<u64>)>,
    command: String,
}

impl Capture {
    fn start(
        switch_ns: &str,
        file: &Path,
        max_packets: u64,
        upload: Option<Uploader>,
        log: &Path,
    ) -> Result<Capture> {
        let mut args: Vec<String> = ["netns", "exec", switch_ns, "tcpdump", "-i", "br0", "-n"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // Big kernel buffer against drops during floods; packet-buffered only when streaming (so
        // the server sees packets as they happen).
        args.extend(["-s", "0", "-B", "32768"].map(String::from));
        if upload.is_some() {
            args.push("-U".into());
        }
        args.extend([
            "-c".into(),
            max_packets.to_string(),
            "-w".into(),
            "-".into(),
        ]);
        let command = format!("ip {}", args.join(" "));
        let mut child = spawn_group(
            Command::new("ip")
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .context("cannot start tcpdump")?;
        let mut stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let mut log = std::fs::File::create(log)?;
        let stats = std::thread::spawn(move || {
            let (mut captured, mut dropped) = (None, None);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if line.contains("listening on") {
                    let _ = ready_tx.send(());
                }
                let n = line.split_whitespace().next().and_then(|n| n.parse().ok());
                if line.ends_with("packets captured") {
                    captured = n;
                } else if line.ends_with("packets dropped by kernel") {
                    dropped = n;
                }
            }
            (captured, dropped)
        });
        let mut out = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(file)
                .with_context(|| format!("cannot create {}", file.display()))?,
        );
        let tee = std::thread::spawn(move || -> Result<(u64, Option<Uploader>)> {
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0u64;
            loop {
                let n = match stdout.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                out.write_all(&buf[..n])?;
                if let Some(u) = &upload {
                    u.send(&buf[..n]);
                }
                total += n as u64;
            }
            out.flush()?;
            Ok((total, upload))
        });
        if ready_rx.recv_timeout(Duration::from_secs(10)).is_err() {
            proc::signal_group(&child, libc::SIGKILL);
            let _ = child.wait();
            bail!("tcpdump did not start listening on the bridge within 10 s");
        }
        Ok(Capture {
            child,
            tee,
            stats,
            command,
        })
    }

    fn stop(mut self) -> Result<CaptureDone> {
        proc::signal(&self.child, libc::SIGINT);
        let never = AtomicBool::new(false);
        wait_bounded(&mut self.child, Duration::from_secs(10), &never);
        let (bytes, upload) = self
            .tee
            .join()
            .map_err(|_| anyhow::anyhow!("capture thread panicked"))??;
        let (captured, dropped) = self.stats.join().unwrap_or((None, None));
        Ok(CaptureDone {
            bytes,
            captured,
            dropped,
            upload,
        })
    }
}

/// A scenario script in flight.
struct Running {
    index: usize,
    child: std::process::Child,
    start_us: i64,
    limit: Duration,
    started: Instant,
}

/// A script still running when its owner goes away (an error, a panic) is stopped with its tools.
impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            proc::signal_group(&self.child, libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

struct Finished {
    start_us: i64,
    end_us: i64,
    exit_code: Option<i32>,
    killed: bool,
}

fn scenario_env(
    cmd: &mut Command,
    p: &Planned,
    run: &str,
    opts: &RunOptions,
    scripts: &Path,
    state: &Path,
    events: &Path,
) {
    let ns: Vec<String> = p.hosts.iter().map(|(h, _)| ns_name(run, h)).collect();
    cmd.env("TB_SCENARIO", p.sc.name)
        .env("TB_SEED", opts.seed.to_string())
        .env("TB_SECONDS", p.budget.seconds.to_string())
        .env("TB_PACKETS", p.budget.packets.to_string())
        .env("TB_COUNT", p.budget.count.to_string())
        .env("TB_NS", &ns[0])
        .env("TB_IP", &p.hosts[0].1)
        .env("TB_BOTS", ns[1..].join(" "))
        .env("TB_VICTIM", VICTIM_IP)
        .env("TB_USER", TB_USER)
        .env("TB_PASS", TB_PASS)
        .env("TB_STATE", state)
        .env("TB_EVENTS", events)
        .env("TB_LIB", scripts.join("lib"));
}

/// Run the testbed; `progress` gets one line per step. The network is always torn down before this
/// returns, and `cancel` (Ctrl-C) stops the running scenarios and ends the run with an error.
pub fn run(
    opts: &RunOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&str),
) -> Result<Manifest> {
    if opts.scenarios.is_empty() {
        bail!("no scenario selected");
    }
    preflight(&opts.scenarios)?;
    let out = &opts.out;
    if out.join(MANIFEST_FILE).exists() && !opts.force {
        bail!(
            "{} already holds a testbed run (use --force to replace it)",
            out.display()
        );
    }
    for sub in ["pcaps", "logs", "scripts"] {
        let d = out.join(sub);
        if d.exists() {
            std::fs::remove_dir_all(&d).with_context(|| format!("cannot clear {}", d.display()))?;
        }
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let _ = std::fs::remove_file(out.join(MANIFEST_FILE));
    let scripts_dir = std::fs::canonicalize(out.join("scripts"))?;
    scripts::install(&scripts_dir).context("cannot write the scripts")?;
    let logs = std::fs::canonicalize(out.join("logs"))?;
    let (planned, phase_s) = plan(opts)?;
    let run = run_id();
    let started_us = now_us();
    let t0 = Instant::now();
    progress(&format!(
        "run {run}: {} scenario(s), seed {}, scale {}, {} mode; background phase {phase_s} s",
        planned.len(),
        opts.seed,
        opts.scale,
        opts.mode
    ));

    // --- network and services (torn down by the guard, whatever happens next)
    let state = PathBuf::from(format!("/tmp/mlids-testbed-{run}"));
    std::fs::create_dir_all(OWNERS_DIR).ok();
    let owner_file = Path::new(OWNERS_DIR).join(&run);
    std::fs::write(&owner_file, std::process::id().to_string()).ok();
    let mut guard = NetGuard {
        run_id: run.clone(),
        net_sh: scripts_dir.join("lib/net.sh"),
        state: state.clone(),
        logs: logs.clone(),
        owner_file,
        up: true,
    };
    std::fs::create_dir_all(&state)?;
    let mut specs = vec![format!("vic={VICTIM_IP}")];
    for p in &planned {
        specs.extend(p.hosts.iter().map(|(h, ip)| format!("{h}={ip}")));
    }
    let never = AtomicBool::new(false);
    proc::run_bounded(
        Command::new("bash")
            .arg(&guard.net_sh)
            .arg("up")
            .arg(&run)
            .args(&specs)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(logs.join("net.log"))?)
            .stderr(std::fs::File::create(logs.join("net.err.log"))?),
        Duration::from_secs(120),
        &never,
    )
    .context("network setup failed (see logs/net.err.log)")?;
    let victim_ns = ns_name(&run, "vic");
    let switch_ns = ns_name(&run, "sw");
    proc::run_bounded(
        Command::new("bash")
            .arg(scripts_dir.join("lib/services.sh"))
            .env("TB_STATE", &state)
            .env("TB_WWW", scripts_dir.join("www"))
            .env("TB_VICTIM_NS", &victim_ns)
            .env("TB_VICTIM_IP", VICTIM_IP)
            .env("TB_USER", TB_USER)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(logs.join("services.log"))?)
            .stderr(std::fs::File::create(logs.join("services.err.log"))?),
        Duration::from_secs(60),
        &never,
    )
    .context("the victim's services did not start (see logs/services.err.log)")?;
    progress(&format!(
        "network up ({} hosts), victim services up",
        specs.len()
    ));

    // --- alert listener and capture
    let ip_to_scenario: HashMap<String, String> = planned
        .iter()
        .flat_map(|p| {
            p.hosts
                .iter()
                .map(|(_, ip)| (ip.clone(), p.sc.name.to_string()))
        })
        .collect();
    let mut stream_error = None;
    let (listener, uploader) = match &opts.stream_to {
        Some(url) => {
            let l = AlertListener::start(
                url,
                opts.token.as_deref(),
                ip_to_scenario.clone(),
                &out.join("alerts.jsonl"),
            )
            .context("cannot subscribe to the server's alerts")?;
            let u = Uploader::start(url, &format!("testbed-{run}"), opts.token.as_deref())
                .context("cannot open the capture stream to the server")?;
            (Some(l), Some(u))
        }
        None => (None, None),
    };
    let max_packets: u64 = match opts.scale {
        Scale::Small => 3_000_000,
        Scale::Full => 30_000_000,
    };
    let capture_file = out.join("capture.pcap");
    let capture = Capture::start(
        &switch_ns,
        &capture_file,
        max_packets,
        uploader,
        &logs.join("tcpdump.log"),
    )?;
    progress(&format!("capturing on br0 in {switch_ns}"));

    // --- scenarios
    let mut finished: Vec<Option<Finished>> = (0..planned.len()).map(|_| None).collect();
    let start = |i: usize| -> Result<Running> {
        let p = &planned[i];
        let sdir = state.join(p.sc.name);
        std::fs::create_dir_all(&sdir)?;
        let events = logs.join(format!("{}.commands.tsv", p.sc.name));
        std::fs::write(&events, "")?;
        let mut cmd = Command::new("bash");
        cmd.arg(scripts_dir.join(p.sc.script()))
            .current_dir(&sdir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(
                logs.join(format!("{}.log", p.sc.name)),
            )?)
            .stderr(std::fs::File::create(
                logs.join(format!("{}.err.log", p.sc.name)),
            )?);
        scenario_env(&mut cmd, p, &run, opts, &scripts_dir, &sdir, &events);
        let start_us = now_us();
        let child = spawn_group(&mut cmd)
            .with_context(|| format!("cannot start scenario {}", p.sc.name))?;
        Ok(Running {
            index: i,
            child,
            start_us,
            // The scripts stop their tools at the budget; this is the backstop.
            limit: Duration::from_secs(p.budget.seconds as u64 + 20),
            started: Instant::now(),
        })
    };
    let end = |r: &mut Running, cancel: &AtomicBool| -> Finished {
        let left = r.limit.saturating_sub(r.started.elapsed());
        let e = wait_bounded(&mut r.child, left, cancel);
        Finished {
            start_us: r.start_us,
            end_us: now_us(),
            exit_code: e.status.and_then(|s| s.code()),
            killed: e.killed,
        }
    };
    let mut background = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        if p.sc.concurrent {
            background.push(start(i)?);
        }
    }
    if !background.is_empty() {
        let names: Vec<&str> = background
            .iter()
            .map(|r| planned[r.index].sc.name)
            .collect();
        progress(&format!("background: {}", names.join(", ")));
        std::thread::sleep(Duration::from_secs(WARMUP_S as u64));
    }
    let mut cancelled = false;
    for (i, p) in planned.iter().enumerate() {
        if p.sc.concurrent {
            continue;
        }
        if cancel.load(Ordering::SeqCst) {
            cancelled = true;
            break;
        }
        let mut r = start(i)?;
        let f = end(&mut r, cancel);
        progress(&format!(
            "{:<22} {:>5.1} s{}",
            p.sc.name,
            (f.end_us - f.start_us) as f64 / 1e6,
            if f.killed {
                " (stopped at its limit)"
            } else {
                ""
            }
        ));
        finished[i] = Some(f);
        std::thread::sleep(Duration::from_secs(GAP_S as u64));
    }
    // Attacks often end before their budgets (a scan is done, a word list exhausted): the background
    // users and the bot go on for WARMUP_S more, then are stopped (SIGINT) rather than idling on.
    let attacks_ran = planned.iter().any(|p| !p.sc.concurrent);
    if attacks_ran && !background.is_empty() && !cancel.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_secs(WARMUP_S as u64));
    }
    for mut r in background {
        if attacks_ran {
            r.limit = r.started.elapsed();
        }
        let mut f = end(&mut r, cancel);
        // Stopped on schedule with the attack phase, not at a limit.
        f.killed &= !attacks_ran;
        finished[r.index] = Some(f);
    }
    cancelled |= cancel.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(1));
    let capture_command = capture.command.clone();
    let cap = capture.stop()?;
    let mut stream_status = None;
    if let Some(u) = cap.upload {
        progress("capture sent; waiting for the server to finish the stream");
        match u.finish() {
            Ok((status, body)) => {
                stream_status = Some(status);
                std::fs::write(out.join("stream-report.json"), body)?;
                if status != 200 {
                    stream_error = Some(format!(
                        "the server answered {status} (see stream-report.json)"
                    ));
                }
            }
            Err(e) => stream_error = Some(format!("{e:#}")),
        }
    }
    let tally = match listener {
        Some(l) => match l.finish() {
            Ok(t) => Some(t),
            Err(e) => {
                stream_error.get_or_insert(format!("{e:#}"));
                Some(Default::default())
            }
        },
        None => None,
    };
    guard.down();
    progress(&format!(
        "network down; captured {} packets ({:.1} MB, {} dropped by the kernel) in {:.0} s",
        cap.captured.map_or("?".into(), |n| n.to_string()),
        cap.bytes as f64 / 1e6,
        cap.dropped.map_or("?".into(), |n| n.to_string()),
        t0.elapsed().as_secs_f64()
    ));
    if cancelled {
        bail!(
            "cancelled; the capture so far is in {}",
            capture_file.display()
        );
    }

    // --- per-scenario pcaps, labelled flows
    let finished: Vec<Finished> = finished
        .into_iter()
        .map(|f| f.expect("every scenario ran"))
        .collect();
    let hosts: Vec<Vec<std::net::IpAddr>> = planned
        .iter()
        .map(|p| {
            p.hosts
                .iter()
                .map(|(_, ip)| ip.parse().expect("plan addresses"))
                .collect()
        })
        .collect();
    let routing = Routing::new(
        &hosts,
        finished.iter().map(|f| (f.start_us, f.end_us)).collect(),
    );
    let targets: Vec<Target> = planned
        .iter()
        .map(|p| Target {
            label: p.sc.label.to_string(),
            pcap: out.join("pcaps").join(format!("{}.pcap", p.sc.name)),
        })
        .collect();
    let t_extract = Instant::now();
    let flows_csv = out.join("flows.csv");
    let ex = split_and_label(&capture_file, &routing, &targets, opts.mode, &flows_csv)?;
    let extract_seconds = t_extract.elapsed().as_secs_f64();

    // --- manifest
    let mut versions: BTreeMap<String, String> = BTreeMap::new();
    let mut version = |pkg: &str| -> String {
        versions
            .entry(pkg.to_string())
            .or_insert_with(|| package_version(pkg))
            .clone()
    };
    let services = [
        ("nginx", "nginx"),
        ("php-fpm", "php8.2-fpm"),
        ("sqlite", "php8.2-sqlite3"),
        ("vsftpd", "vsftpd"),
        ("sshd", "openssh-server"),
        ("dnsmasq", "dnsmasq"),
        ("tcpdump", "tcpdump"),
    ]
    .iter()
    .map(|(t, p)| ToolVersion {
        tool: t.to_string(),
        package: p.to_string(),
        version: version(p),
    })
    .collect();
    let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
    let mut scenarios = Vec::new();
    for (i, (p, f)) in planned.iter().zip(&finished).enumerate() {
        let c = &ex.per_scenario[i];
        *by_label.entry(p.sc.label.to_string()).or_default() += c.flows;
        let (commands, omitted) = read_events(&logs.join(format!("{}.commands.tsv", p.sc.name)))?;
        scenarios.push(ScenarioRecord {
            name: p.sc.name.into(),
            kind: p.sc.kind,
            label: p.sc.label.into(),
            about: p.sc.about.into(),
            tools: p
                .sc
                .tools
                .iter()
                .zip(p.sc.packages)
                .map(|(t, pkg)| ToolVersion {
                    tool: t.to_string(),
                    package: pkg.to_string(),
                    version: version(pkg),
                })
                .collect(),
            hosts: p
                .hosts
                .iter()
                .map(|(h, ip)| HostRecord {
                    namespace: ns_name(&run, h),
                    ip: ip.clone(),
                })
                .collect(),
            budget: p.budget,
            concurrent: p.sc.concurrent,
            start: rfc3339(f.start_us),
            end: rfc3339(f.end_us),
            start_us: f.start_us,
            end_us: f.end_us,
            exit_code: f.exit_code,
            killed_at_limit: f.killed,
            commands,
            commands_omitted: omitted,
            pcap: format!("pcaps/{}.pcap", p.sc.name),
            packets: c.packets,
            bytes: c.bytes,
            flows: c.flows,
            flows_outside_window: c.outside_window,
        });
    }
    let finished_us = now_us();
    let manifest = Manifest {
        format: FORMAT.into(),
        run_id: run.clone(),
        seed: opts.seed,
        scale: opts.scale,
        mode: opts.mode.to_string(),
        started: rfc3339(started_us),
        finished: rfc3339(finished_us),
        duration_s: (finished_us - started_us) as f64 / 1e6,
        ml_ids_version: env!("CARGO_PKG_VERSION").into(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        network: Network {
            subnet: SUBNET.into(),
            victim: VICTIM_IP.into(),
            switch_namespace: switch_ns,
            victim_namespace: victim_ns,
        },
        services,
        capture: CaptureInfo {
            file: "capture.pcap".into(),
            command: capture_command,
            packets: ex.summary.packets_read,
            bytes: cap.bytes,
            dropped_by_kernel: cap.dropped,
            max_packets,
        },
        scenarios,
        flows: FlowsInfo {
            file: "flows.csv".into(),
            mode: opts.mode.to_string(),
            total: ex.per_scenario.iter().map(|c| c.flows).sum(),
            by_label,
            unattributed: ex.unattributed_flows,
            outside_window: ex.per_scenario.iter().map(|c| c.outside_window).sum(),
            packets_read: ex.summary.packets_read,
            packets_decoded: ex.summary.packets_decoded,
            packets_skipped: ex.summary.skipped.clone(),
            extract_seconds,
        },
        stream: opts.stream_to.as_ref().map(|url| {
            let t = tally.unwrap_or_default();
            StreamInfo {
                url: url.clone(),
                status: stream_status,
                alerts_file: "alerts.jsonl".into(),
                alerts: t.total,
                alerts_by_scenario: t.by_scenario,
                alerts_missed: t.missed,
                error: stream_error,
            }
        }),
    };
    manifest.save(out)?;
    Ok(manifest)
}

/// Distinct command lines a manifest lists per scenario (the rest are counted).
const MAX_COMMANDS: usize = 200;

/// Read a scenario's `cmd<TAB>tool<TAB>namespace<TAB>command` lines: distinct commands in first-run
/// order with their repeat counts, and how many distinct ones were left out.
pub fn read_events(path: &Path) -> Result<(Vec<crate::manifest::Command>, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out: Vec<crate::manifest::Command> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut omitted = 0u64;
    for line in text.lines() {
        let mut f = line.splitn(4, '\t');
        let (Some("cmd"), Some(tool), Some(ns), Some(cmd)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let key = (ns.to_string(), cmd.trim_end().to_string());
        match index.get(&key) {
            Some(&i) if i < out.len() => out[i].times += 1,
            Some(_) => {}
            None if out.len() < MAX_COMMANDS => {
                index.insert(key.clone(), out.len());
                out.push(crate::manifest::Command {
                    tool: tool.to_string(),
                    namespace: key.0,
                    command: key.1,
                    times: 1,
                });
            }
            None => {
                index.insert(key, usize::MAX);
                omitted += 1;
            }
        }
    }
    Ok((out, omitted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_grouped_by_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.tsv");
        std::fs::write(
            &p,
            "cmd\thping3\tmlt-x-h101\thping3 --syn 10.77.0.10 \ncmd\thping3\tmlt-x-h101\thping3 --syn 10.77.0.10 \ngarbage\ncmd\tnmap\tmlt-x-h101\tnmap -sS\n",
        )
        .unwrap();
        let (c, omitted) = read_events(&p).unwrap();
        assert_eq!(omitted, 0);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].tool.as_str(), c[0].times), ("hping3", 2));
        assert_eq!(c[0].command, "hping3 --syn 10.77.0.10");
        assert_eq!(c[1].command, "nmap -sS");
    }

    #[test]
    fn plan_gives_every_host_its_own_address() {
        let opts = RunOptions {
            out: PathBuf::from("/nonexistent"),
            scenarios: crate::catalog::select(&[]).unwrap(),
            seed: 1,
            scale: Scale::Small,
            mode: Mode::Cic2018,
            stream_to: None,
            token: None,
            force: false,
        };
        let (planned, phase) = plan(&opts).unwrap();
        let mut ips: Vec<&str> = planned
            .iter()
            .flat_map(|p| p.hosts.iter().map(|h| h.1.as_str()))
            .collect();
        let n = ips.len();
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), n);
        assert!(!ips.contains(&VICTIM_IP));
        let seq: u32 = planned
            .iter()
            .filter(|p| !p.sc.concurrent)
            .map(|p| p.budget.seconds + GAP_S)
            .sum();
        assert_eq!(phase, seq + 2 * WARMUP_S);
        assert!(planned
            .iter()
            .filter(|p| p.sc.concurrent)
            .all(|p| p.budget.seconds == phase));
    }
}
