//! `ml-ids testbed run`: network up, services up, capture on, benign users and the bot in the
//! background, attacks one after the other, capture off, network down (always, by a Drop guard), then
//! per-scenario pcaps, labelled flows and the manifest.

use crate::catalog::{Kind, Scale, Scenario};
use crate::extract::{split_and_label, Counts, Extracted, Target};
use crate::manifest::*;
use crate::proc::{self, spawn_group, wait_bounded};
use crate::routing::Routing;
use crate::scripts;
use crate::stream::{alerts_by_scenario, AlertListener, Uploader};
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
    /// Delay on the victim's link (netem's job; done in user space, see `testbed/lib/net.sh`).
    pub victim_delay: LinkDelay,
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
        "openssl",
        "/usr/bin/aiosmtpd",
        "chronyd",
        "smbd",
        "pdbedit",
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

/// Where a run's scripts, daemons' state and logs live.
struct RunDirs {
    scripts: PathBuf,
    logs: PathBuf,
    state: PathBuf,
}

/// What the scenario phase needs to start a script.
struct ScenarioCtx<'a> {
    run: &'a str,
    opts: &'a RunOptions,
    dirs: &'a RunDirs,
}

fn scenario_env(cmd: &mut Command, p: &Planned, ctx: &ScenarioCtx, state: &Path, events: &Path) {
    let ns: Vec<String> = p.hosts.iter().map(|(h, _)| ns_name(ctx.run, h)).collect();
    cmd.env("TB_SCENARIO", p.sc.name)
        .env("TB_SEED", ctx.opts.seed.to_string())
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
        .env("TB_LIB", ctx.dirs.scripts.join("lib"));
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
    let (scripts, logs) = prepare_output(out, opts.force)?;
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
    let dirs = RunDirs {
        scripts,
        logs,
        state: PathBuf::from(format!("/tmp/mlids-testbed-{run}")),
    };
    let mut net = network_up(&run, &planned, &dirs, opts.victim_delay, opts.seed)?;
    progress(&format!(
        "network up ({} hosts), victim services up",
        net.hosts
    ));

    let (listener, uploader) = match &opts.stream_to {
        Some(url) => {
            let (l, u) = start_stream(url, opts, &run)?;
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
        &net.switch_ns,
        &capture_file,
        max_packets,
        uploader,
        &dirs.logs.join("tcpdump.log"),
    )?;
    progress(&format!("capturing on br0 in {}", net.switch_ns));

    let ctx = ScenarioCtx {
        run: &run,
        opts,
        dirs: &dirs,
    };
    let (finished, cancelled) = run_scenarios(&planned, &ctx, cancel, progress)?;
    std::thread::sleep(Duration::from_secs(1));
    let capture_command = capture.command.clone();
    let mut cap = capture.stop()?;
    let stream = match (&opts.stream_to, listener) {
        (Some(url), Some(l)) => {
            // A scenario that never ran (cancelled) has a window no flow falls in.
            let windows = finished
                .iter()
                .map(|f| {
                    f.as_ref()
                        .map_or((i64::MAX / 2, 0), |f| (f.start_us, f.end_us))
                })
                .collect();
            let routing = routing_of(&planned, windows);
            let names: Vec<&str> = planned.iter().map(|p| p.sc.name).collect();
            let done = (&routing, names.as_slice());
            Some(finish_stream(
                url,
                cap.upload.take(),
                l,
                done,
                out,
                progress,
            )?)
        }
        _ => None,
    };
    net.guard.down();
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

    let finished: Vec<Finished> = finished
        .into_iter()
        .map(|f| f.expect("every scenario ran"))
        .collect();
    let t_extract = Instant::now();
    let extracted = label_flows(&planned, &finished, &capture_file, out, opts.mode)?;
    let capture = CaptureInfo {
        file: "capture.pcap".into(),
        command: capture_command,
        packets: extracted.summary.packets_read,
        bytes: cap.bytes,
        dropped_by_kernel: cap.dropped,
        max_packets,
    };
    let manifest = build_manifest(RunRecord {
        run: &run,
        opts,
        started_us,
        planned: &planned,
        finished: &finished,
        logs: &dirs.logs,
        network: Network {
            subnet: SUBNET.into(),
            victim: VICTIM_IP.into(),
            switch_namespace: net.switch_ns.clone(),
            victim_namespace: net.victim_ns.clone(),
            victim_delay: opts.victim_delay,
        },
        capture,
        extracted,
        extract_seconds: t_extract.elapsed().as_secs_f64(),
        stream,
    })?;
    manifest.save(out)?;
    Ok(manifest)
}

/// Refuse to overwrite an earlier run unless forced; clear and create `pcaps/`, `logs/` and
/// `scripts/` (with the scripts written into it). Returns the scripts and logs directories.
fn prepare_output(out: &Path, force: bool) -> Result<(PathBuf, PathBuf)> {
    if out.join(MANIFEST_FILE).exists() && !force {
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
    Ok((scripts_dir, logs))
}

/// The run's namespaces, up with the victim's services; the guard takes them down.
struct Net {
    guard: NetGuard,
    victim_ns: String,
    switch_ns: String,
    hosts: usize,
}

/// Create the namespaces and the bridge (`net.sh up`), then start the victim's services. The
/// guard exists before the first command runs, so a failure half-way still tears everything down.
/// `seed` also picks the frames a lossy victim link loses, so a run is repeatable.
fn network_up(
    run: &str,
    planned: &[Planned],
    dirs: &RunDirs,
    delay: LinkDelay,
    seed: u64,
) -> Result<Net> {
    std::fs::create_dir_all(OWNERS_DIR).ok();
    let owner_file = Path::new(OWNERS_DIR).join(run);
    std::fs::write(&owner_file, std::process::id().to_string()).ok();
    let guard = NetGuard {
        run_id: run.to_string(),
        net_sh: dirs.scripts.join("lib/net.sh"),
        state: dirs.state.clone(),
        logs: dirs.logs.clone(),
        owner_file,
        up: true,
    };
    std::fs::create_dir_all(&dirs.state)?;
    let mut specs = vec![format!("vic={VICTIM_IP}")];
    for p in planned {
        specs.extend(p.hosts.iter().map(|(h, ip)| format!("{h}={ip}")));
    }
    let log = |name: &str| std::fs::File::create(dirs.logs.join(name));
    let never = AtomicBool::new(false);
    proc::run_bounded(
        Command::new("bash")
            .arg(&guard.net_sh)
            .arg("up")
            .arg(run)
            .args(&specs)
            .env("TB_DELAY_MS", delay.delay_ms.to_string())
            .env("TB_JITTER_MS", delay.jitter_ms.to_string())
            .env("TB_LOSS_PCT", delay.loss_pct.to_string())
            .env("TB_LOSS_SEED", seed.to_string())
            .env("TB_DELAY_LOG", dirs.logs.join("delay.log"))
            .stdin(Stdio::null())
            .stdout(log("net.log")?)
            .stderr(log("net.err.log")?),
        Duration::from_secs(120),
        &never,
    )
    .context("network setup failed (see logs/net.err.log)")?;
    let victim_ns = ns_name(run, "vic");
    proc::run_bounded(
        Command::new("bash")
            .arg(dirs.scripts.join("lib/services.sh"))
            .env("TB_STATE", &dirs.state)
            .env("TB_WWW", dirs.scripts.join("www"))
            .env("TB_VICTIM_NS", &victim_ns)
            .env("TB_VICTIM_IP", VICTIM_IP)
            .env("TB_USER", TB_USER)
            .env("TB_PASS", TB_PASS)
            .stdin(Stdio::null())
            .stdout(log("services.log")?)
            .stderr(log("services.err.log")?),
        Duration::from_secs(60),
        &never,
    )
    .context("the victim's services did not start (see logs/services.err.log)")?;
    Ok(Net {
        guard,
        victim_ns,
        switch_ns: ns_name(run, "sw"),
        hosts: specs.len(),
    })
}

/// Subscribe to the server's alerts and open the capture stream the tee will feed.
fn start_stream(url: &str, opts: &RunOptions, run: &str) -> Result<(AlertListener, Uploader)> {
    let listener = AlertListener::start(url, opts.token.as_deref(), &opts.out.join("alerts.jsonl"))
        .context("cannot subscribe to the server's alerts")?;
    let uploader = Uploader::start(url, &format!("testbed-{run}"), opts.token.as_deref())
        .context("cannot open the capture stream to the server")?;
    Ok((listener, uploader))
}

/// Close the capture stream, keep the server's report, and count the alerts it sent, per scenario
/// as `scenarios` (the run's routing and scenario names) attributes them. A failing server is
/// recorded in the manifest, not fatal: the capture and flows are still worth keeping.
fn finish_stream(
    url: &str,
    upload: Option<Uploader>,
    listener: AlertListener,
    scenarios: (&Routing, &[&str]),
    out: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<StreamInfo> {
    let (mut status, mut error) = (None, None);
    if let Some(u) = upload {
        progress("capture sent; waiting for the server to finish the stream");
        match u.finish() {
            Ok((code, body)) => {
                status = Some(code);
                std::fs::write(out.join("stream-report.json"), body)?;
                if code != 200 {
                    error = Some(format!(
                        "the server answered {code} (see stream-report.json)"
                    ));
                }
            }
            Err(e) => error = Some(format!("{e:#}")),
        }
    }
    let tally = listener.finish().unwrap_or_else(|e| {
        error.get_or_insert(format!("{e:#}"));
        Default::default()
    });
    let (routing, names) = scenarios;
    let by_scenario =
        alerts_by_scenario(&out.join("alerts.jsonl"), routing, names).unwrap_or_else(|e| {
            error.get_or_insert(format!("{e:#}"));
            Default::default()
        });
    Ok(StreamInfo {
        url: url.to_string(),
        status,
        alerts_file: "alerts.jsonl".into(),
        alerts: tally.total,
        alerts_by_scenario: by_scenario,
        alerts_missed: tally.missed,
        error,
    })
}

/// Start one scenario's script in its own process group, logging to `logs/NAME{,.err}.log`.
fn start_scenario(planned: &[Planned], i: usize, ctx: &ScenarioCtx) -> Result<Running> {
    let p = &planned[i];
    let logs = &ctx.dirs.logs;
    let sdir = ctx.dirs.state.join(p.sc.name);
    std::fs::create_dir_all(&sdir)?;
    let events = logs.join(format!("{}.commands.tsv", p.sc.name));
    std::fs::write(&events, "")?;
    let mut cmd = Command::new("bash");
    cmd.arg(ctx.dirs.scripts.join(p.sc.script()))
        .current_dir(&sdir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(
            logs.join(format!("{}.log", p.sc.name)),
        )?)
        .stderr(std::fs::File::create(
            logs.join(format!("{}.err.log", p.sc.name)),
        )?);
    scenario_env(&mut cmd, p, ctx, &sdir, &events);
    let start_us = now_us();
    let child =
        spawn_group(&mut cmd).with_context(|| format!("cannot start scenario {}", p.sc.name))?;
    Ok(Running {
        index: i,
        child,
        start_us,
        // The scripts stop their tools at the budget; this is the backstop.
        limit: Duration::from_secs(p.budget.seconds as u64 + 20),
        started: Instant::now(),
    })
}

/// Wait for a script until its limit (then stop it) or `cancel`.
fn end_scenario(r: &mut Running, cancel: &AtomicBool) -> Finished {
    let left = r.limit.saturating_sub(r.started.elapsed());
    let e = wait_bounded(&mut r.child, left, cancel);
    Finished {
        start_us: r.start_us,
        end_us: now_us(),
        exit_code: e.status.and_then(|s| s.code()),
        killed: e.killed,
    }
}

/// The concurrent scenarios (benign users, the bot) in the background, the attacks one after the
/// other meanwhile. Returns what each scenario did (`None`: never started, after a cancel) and
/// whether the run was cancelled.
fn run_scenarios(
    planned: &[Planned],
    ctx: &ScenarioCtx,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&str),
) -> Result<(Vec<Option<Finished>>, bool)> {
    let mut finished: Vec<Option<Finished>> = (0..planned.len()).map(|_| None).collect();
    let mut background = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        if p.sc.concurrent {
            background.push(start_scenario(planned, i, ctx)?);
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
        let mut r = start_scenario(planned, i, ctx)?;
        let f = end_scenario(&mut r, cancel);
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
        let mut f = end_scenario(&mut r, cancel);
        // Stopped on schedule with the attack phase, not at a limit.
        f.killed &= !attacks_ran;
        finished[r.index] = Some(f);
    }
    cancelled |= cancel.load(Ordering::SeqCst);
    Ok((finished, cancelled))
}

/// Which scenario a packet or flow belongs to: by its hosts' addresses and the windows the
/// scenarios ran in; forged sources by victim and time.
fn routing_of(planned: &[Planned], windows: Vec<(i64, i64)>) -> Routing {
    let hosts: Vec<Vec<std::net::IpAddr>> = planned
        .iter()
        .map(|p| {
            p.hosts
                .iter()
                .map(|(_, ip)| ip.parse().expect("plan addresses"))
                .collect()
        })
        .collect();
    let forging = (0..planned.len())
        .filter(|&i| planned[i].sc.forges_sources())
        .collect();
    Routing::new(&hosts, windows)
        .with_forged_sources(VICTIM_IP.parse().expect("the victim address"), forging)
}

/// Split the merged capture into per-scenario pcaps and label its flows by scenario (attacker
/// address and time window) into `flows.csv`.
fn label_flows(
    planned: &[Planned],
    finished: &[Finished],
    capture_file: &Path,
    out: &Path,
    mode: Mode,
) -> Result<Extracted> {
    let routing = routing_of(
        planned,
        finished.iter().map(|f| (f.start_us, f.end_us)).collect(),
    );
    let targets: Vec<Target> = planned
        .iter()
        .map(|p| Target {
            label: p.sc.label.to_string(),
            pcap: out.join("pcaps").join(format!("{}.pcap", p.sc.name)),
        })
        .collect();
    split_and_label(
        capture_file,
        &routing,
        &targets,
        mode,
        &out.join("flows.csv"),
    )
}

/// Installed package versions, each asked of dpkg once.
#[derive(Default)]
struct Versions(BTreeMap<String, String>);

impl Versions {
    fn tool(&mut self, tool: &str, package: &str) -> ToolVersion {
        let version = self
            .0
            .entry(package.to_string())
            .or_insert_with(|| package_version(package))
            .clone();
        ToolVersion {
            tool: tool.to_string(),
            package: package.to_string(),
            version,
        }
    }
}

/// What the phases of a run produced, for its manifest.
struct RunRecord<'a> {
    run: &'a str,
    opts: &'a RunOptions,
    started_us: i64,
    planned: &'a [Planned],
    finished: &'a [Finished],
    logs: &'a Path,
    network: Network,
    capture: CaptureInfo,
    extracted: Extracted,
    extract_seconds: f64,
    stream: Option<StreamInfo>,
}

/// The run's manifest: versions of the services and tools, each scenario with its commands and
/// counts, the capture and the labelled flows.
fn build_manifest(r: RunRecord) -> Result<Manifest> {
    let mut versions = Versions::default();
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
    .map(|(t, p)| versions.tool(t, p))
    .collect();
    let ex = &r.extracted;
    let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
    let mut scenarios = Vec::new();
    for (i, (p, f)) in r.planned.iter().zip(r.finished).enumerate() {
        let counts = &ex.per_scenario[i];
        *by_label.entry(p.sc.label.to_string()).or_default() += counts.flows;
        scenarios.push(scenario_record(p, f, counts, r.run, r.logs, &mut versions)?);
    }
    let finished_us = now_us();
    Ok(Manifest {
        format: FORMAT.into(),
        run_id: r.run.to_string(),
        seed: r.opts.seed,
        scale: r.opts.scale,
        mode: r.opts.mode.to_string(),
        started: rfc3339(r.started_us),
        finished: rfc3339(finished_us),
        duration_s: (finished_us - r.started_us) as f64 / 1e6,
        ml_ids_version: env!("CARGO_PKG_VERSION").into(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        network: r.network,
        services,
        capture: r.capture,
        scenarios,
        flows: FlowsInfo {
            file: "flows.csv".into(),
            mode: r.opts.mode.to_string(),
            total: ex.per_scenario.iter().map(|c| c.flows).sum(),
            by_label,
            unattributed: ex.unattributed_flows,
            outside_window: ex.per_scenario.iter().map(|c| c.outside_window).sum(),
            packets_read: ex.summary.packets_read,
            packets_decoded: ex.summary.packets_decoded,
            packets_skipped: ex.summary.skipped.clone(),
            extract_seconds: r.extract_seconds,
        },
        stream: r.stream,
    })
}

/// One scenario's manifest entry: what it is, the tools it ran, when, and what it produced.
fn scenario_record(
    p: &Planned,
    f: &Finished,
    counts: &Counts,
    run: &str,
    logs: &Path,
    versions: &mut Versions,
) -> Result<ScenarioRecord> {
    let (commands, omitted) = read_events(&logs.join(format!("{}.commands.tsv", p.sc.name)))?;
    Ok(ScenarioRecord {
        name: p.sc.name.into(),
        kind: p.sc.kind,
        label: p.sc.label.into(),
        about: p.sc.about.into(),
        tools: p
            .sc
            .tools
            .iter()
            .zip(p.sc.packages)
            .map(|(t, pkg)| versions.tool(t, pkg))
            .collect(),
        hosts: p
            .hosts
            .iter()
            .map(|(h, ip)| HostRecord {
                namespace: ns_name(run, h),
                ip: ip.clone(),
            })
            .collect(),
        budget: p.budget,
        concurrent: p.sc.concurrent,
        forged_sources: p.sc.forges_sources(),
        start: rfc3339(f.start_us),
        end: rfc3339(f.end_us),
        start_us: f.start_us,
        end_us: f.end_us,
        exit_code: f.exit_code,
        killed_at_limit: f.killed,
        commands,
        commands_omitted: omitted,
        pcap: format!("pcaps/{}.pcap", p.sc.name),
        packets: counts.packets,
        bytes: counts.bytes,
        flows: counts.flows,
        flows_outside_window: counts.outside_window,
    })
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
            victim_delay: LinkDelay::default(),
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
