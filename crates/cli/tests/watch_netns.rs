//! `ml-ids watch` on real traffic between two network namespaces joined by a veth pair.
//!
//! Namespace B runs `python3 -m http.server`, an in-process `ml-ids serve` and a webhook listener
//! (both on B's loopback: their threads enter B with setns before binding) and `ml-ids watch` on B's
//! end of the veth pair with every sink enabled. Namespace A sends benign HTTP requests with curl
//! and a short hping3 SYN flood (150 packets at 100/s). After SIGTERM the test checks that flows,
//! per-flow alerts and the flood's one incident reached every sink: stdout (incident and per-flow
//! lines), the incidents file, JSON Lines, EVE-JSON (one alert for the incident, its close, and
//! flow events sharing the alert's ids), the webhook (incident events; its first answer is a 503, so
//! the retry path runs), the server's alert broadcast (what its WebSocket sends) and the server's
//! `GET /api/incidents` (the forwarded incident, closed).
//!
//! Needs root, `ip` (iproute2), curl, python3 and hping3; skips with a message where namespaces
//! cannot be created (fails instead under MLIDS_REQUIRE_ALL=1). All traffic stays inside the two namespaces, which are removed even if the
//! test panics.

use mlids_model::Detector;
use mlids_server::{AppState, ServerConfig};
use mlids_test_support::models::syn_flood_model;

/// The host-behaviour stage's label for the flood: half-open connections never reach the model.
const SYN_FLOOD_LABEL: &str = "SYN flood";
use mlids_test_support::{require, skip};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "watch-test-token-0123456789";
const HTTP_PORT: u16 = 8000;
const SYN_PACKETS: u32 = 150;

/// Two namespaces and a veth pair; `Drop` kills the processes started in them and deletes both
/// namespaces (which deletes the veth pair), also when the test panics.
struct Netns {
    a: String,
    b: String,
    veth_b: String,
    ip_a: String,
    ip_b: String,
    children: Vec<Child>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    fn create() -> Result<Netns, String> {
        let pid = std::process::id();
        let n = Netns {
            a: format!("mlids-watch-{pid}-a"),
            b: format!("mlids-watch-{pid}-b"),
            veth_b: format!("mlw{pid}b"),
            ip_a: format!("10.231.{}.1", pid % 250),
            ip_b: format!("10.231.{}.2", pid % 250),
            children: Vec::new(),
        };
        let veth_a = format!("mlw{pid}a");
        ip(&["netns", "add", &n.a])?;
        // From here on `n` is dropped (and cleans up) on every early return.
        ip(&["netns", "add", &n.b])?;
        ip(&[
            "link", "add", &veth_a, "netns", &n.a, "type", "veth", "peer", "name", &n.veth_b,
            "netns", &n.b,
        ])?;
        for (ns, dev, addr) in [(&n.a, &veth_a, &n.ip_a), (&n.b, &n.veth_b, &n.ip_b)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/30"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(n)
    }

    fn exec(&self, ns: &str, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(cmd);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.a, &self.b] {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    match pid.parse::<u32>() {
                        Ok(pid) if pid != std::process::id() => unsafe {
                            libc::kill(pid as i32, libc::SIGKILL);
                        },
                        _ => {}
                    }
                }
            }
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// Move the calling thread into namespace `ns` (network namespaces are per thread).
fn enter_netns(ns: &str) {
    let f = File::open(format!("/var/run/netns/{ns}")).expect("open the namespace");
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A minimal HTTP/1.1 listener in namespace `ns`: answers the first request 503 (so the webhook
/// sink retries) and later ones 204, and records every request body.
struct Webhook {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<(u16, String)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Webhook {
    fn start(ns: &str) -> Webhook {
        let (tx, rx) = std::sync::mpsc::channel();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b2, s2, ns) = (bodies.clone(), stop.clone(), ns.to_string());
        let thread = std::thread::spawn(move || {
            enter_netns(&ns);
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.set_nonblocking(true).unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            while !s2.load(Ordering::Relaxed) {
                let conn = match l.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut r = BufReader::new(conn);
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    continue;
                }
                let mut seen = b2.lock().unwrap();
                let status = if seen.is_empty() { 503 } else { 204 };
                seen.push((status, String::from_utf8_lossy(&body).into_owned()));
                drop(seen);
                let _ = write!(
                    r.into_inner(),
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Webhook {
            addr: rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            bodies,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `ml-ids serve`'s app on namespace `ns`'s loopback, with a bearer token.
struct Server {
    addr: SocketAddr,
    alerts: tokio::sync::broadcast::Receiver<Arc<mlids_server::Alert>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(ns: &str, model: &Path) -> Server {
        let config = ServerConfig {
            token: Some(TOKEN.into()),
            ..ServerConfig::default()
        };
        let state = AppState::new(config, Detector::load(model).unwrap());
        let alerts = state.alerts.subscribe();
        let (tx, rx) = std::sync::mpsc::channel();
        let (shutdown, on_shutdown) = tokio::sync::oneshot::channel::<()>();
        let ns = ns.to_string();
        let thread = std::thread::spawn(move || {
            enter_netns(&ns);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(l.local_addr().unwrap()).unwrap();
                axum::serve(
                    l,
                    mlids_server::app(state).into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async {
                    let _ = on_shutdown.await;
                })
                .await
                .unwrap();
            });
        });
        Server {
            addr: rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            alerts,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(
            t.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", p.display())))
        .collect()
}

#[test]
fn watch_sees_http_and_a_syn_flood_between_namespaces() {
    if !require(
        unsafe { libc::geteuid() } == 0,
        "watch_netns: creating network namespaces needs root",
    ) || !require(have("ip"), "watch_netns: `ip` (iproute2) not found")
    {
        return;
    }
    for tool in ["curl", "python3", "hping3"] {
        assert!(
            have(tool),
            "{tool} not found: install it (apt-get install curl python3 hping3)"
        );
    }
    let mut net = match Netns::create() {
        Ok(n) => n,
        Err(e) => {
            skip(format_args!(
                "watch_netns: cannot create network namespaces here: {e}"
            ));
            return;
        }
    };
    let tmp_dir = tempfile::tempdir().unwrap();
    let tmp = tmp_dir.path().to_path_buf();
    let model = syn_flood_model(&tmp.join("fixture"));

    // Namespace B: web server, ml-ids serve, webhook listener.
    let www = tmp.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(
        www.join("index.html"),
        "hello from namespace b\n".repeat(20),
    )
    .unwrap();
    let port = HTTP_PORT.to_string();
    let http = net
        .exec(
            &net.b,
            &["python3", "-m", "http.server", &port, "--bind", &net.ip_b],
        )
        .current_dir(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    net.children.push(http);
    let mut server = Server::start(&net.b, &model);
    let webhook = Webhook::start(&net.b);

    // ml-ids watch on B's end of the veth pair, every sink on.
    let out = |name: &str| tmp.join(name);
    let (stdout_p, stderr_p) = (out("watch.stdout"), out("watch.stderr"));
    let (jsonl_p, eve_p, flows_p, report_p, incidents_p) = (
        out("alerts.jsonl"),
        out("eve.json"),
        out("flows.jsonl"),
        out("report.json"),
        out("incidents.jsonl"),
    );
    let bin = env!("CARGO_BIN_EXE_ml-ids");
    let s = |p: &PathBuf| p.display().to_string();
    let watch = net
        .exec(
            &net.b,
            &[
                bin,
                "watch",
                "-i",
                &net.veth_b,
                "--filter",
                &format!("tcp port {HTTP_PORT}"),
                "--model",
                &s(&model),
                "--flow-alerts",
                "--incidents",
                &s(&incidents_p),
                "--jsonl",
                &s(&jsonl_p),
                "--eve",
                &s(&eve_p),
                "--eve-flows",
                "--webhook",
                &format!("http://{}/hook", webhook.addr),
                "--forward",
                &format!("http://{}", server.addr),
                "--forward-token",
                TOKEN,
                "--flows",
                &s(&flows_p),
                "--report",
                &s(&report_p),
                "--snapshot-interval",
                "1",
                "--status-interval",
                "1",
                "--drain-timeout",
                "20",
            ],
        )
        .stdout(File::create(&stdout_p).unwrap())
        .stderr(File::create(&stderr_p).unwrap())
        .spawn()
        .unwrap();
    let watch_pid = watch.id() as i32;
    net.children.push(watch);
    let stderr = || std::fs::read_to_string(&stderr_p).unwrap_or_default();
    wait_for("watch to start capturing", Duration::from_secs(30), || {
        stderr().contains("capturing on")
    });

    // Namespace A: benign HTTP requests, then a short SYN flood.
    let url = format!("http://{}:{HTTP_PORT}/", net.ip_b);
    wait_for("the web server", Duration::from_secs(20), || {
        net.exec(
            &net.a,
            &["curl", "-fsS", "-o", "/dev/null", "--max-time", "2", &url],
        )
        .status()
        .is_ok_and(|s| s.success())
    });
    for _ in 0..5 {
        let ok = net
            .exec(
                &net.a,
                &["curl", "-fsS", "-o", "/dev/null", "--max-time", "5", &url],
            )
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let count = SYN_PACKETS.to_string();
    let flood = net
        .exec(
            &net.a,
            &[
                "timeout", "30", "hping3", "-q", "-S", "-p", &port, "-c", &count, "-i", "u10000",
                &net.ip_b,
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(flood.code().is_some(), "hping3 ran: {flood:?}");

    // Snapshots every second classify the half-open flood connections while they are still open.
    let t = Instant::now();
    while lines(&jsonl_p).len() < 100 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "timed out after 30 s waiting for alerts from the flood: {} alerts so far\nwatch stderr:\n{}\nwatch stdout:\n{}",
            lines(&jsonl_p).len(),
            stderr(),
            std::fs::read_to_string(&stdout_p).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    unsafe { libc::kill(watch_pid, libc::SIGTERM) };
    let watch = net.children.last_mut().unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = watch.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "watch did not exit after SIGTERM:\n{}",
            stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let err = stderr();
    assert!(status.success(), "watch failed ({status}):\n{err}");

    // The summary: packets, libpcap counters (periodic and final), alerts, sinks.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_p).unwrap()).unwrap();
    eprintln!("{err}");
    assert_eq!(report["stopped"], true);
    assert!(report["capture"]["received"].as_u64().unwrap() >= u64::from(SYN_PACKETS));
    assert_eq!(report["capture"]["dropped"], 0);
    assert!(err.matches("libpcap: received").count() >= 2, "{err}");
    let total = report["alerts"]["total"].as_u64().unwrap();
    assert!(total >= 100, "alerts: {}", report["alerts"]);
    assert!(report["alerts"]["ongoing_flows"].as_u64().unwrap() >= 100);
    assert_eq!(
        report["alerts"]["duplicates_suppressed"], report["alerts"]["ongoing_flows"],
        "flows that alerted while open did not alert again when they completed"
    );
    // The flood is one attacker: one incident, opened and closed (at the end of the run).
    let incidents = &report["incidents"];
    assert_eq!(incidents["opened"], 1, "{incidents}");
    assert_eq!(incidents["closed"], 1, "{incidents}");
    let updated = incidents["updated"].as_u64().unwrap();
    let classified = report["detection"]["flows"].as_u64().unwrap();
    for sink in report["sinks"].as_array().unwrap() {
        let name = sink["name"].as_str().unwrap();
        let kind = name.split(' ').next().unwrap();
        let expected = match kind {
            // Per-flow lines (--flow-alerts) and the incident opening and closing.
            "stdout" => total + 2,
            "incidents" => 2 + updated,
            "jsonl" => total,
            // Per-flow alerts (--flow-alerts) and every incident event.
            "forward" => total + 2 + updated,
            "eve" => 2 + updated + classified,
            "webhook" => 2,
            "flows" => classified,
            other => panic!("unexpected sink {other}"),
        };
        assert_eq!(sink["delivered"].as_u64(), Some(expected), "{sink}");
        assert_eq!(sink["dropped_queue_full"], 0, "{sink}");
        assert_eq!(sink["failed"], 0, "{sink}");
    }
    let webhook_sink = report["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().unwrap().starts_with("webhook"))
        .unwrap();
    assert!(
        webhook_sink["retries"].as_u64().unwrap() >= 1,
        "the 503 was retried"
    );

    // stdout: the incident opening and closing, and (--flow-alerts) one line per attack flow.
    let stdout = std::fs::read_to_string(&stdout_p).unwrap();
    assert_eq!(stdout.matches(" ALERT ").count() as u64, total);
    assert_eq!(stdout.matches(" INCIDENT OPENED ").count(), 1, "{stdout}");
    assert_eq!(stdout.matches(" INCIDENT CLOSED ").count(), 1, "{stdout}");
    let opened_line = stdout
        .lines()
        .find(|l| l.contains("INCIDENT OPENED"))
        .unwrap();
    assert!(
        opened_line.contains(&format!(
            " DoS [high] {} -> {}: {SYN_FLOOD_LABEL}",
            net.ip_a, net.ip_b
        )),
        "{opened_line}"
    );

    // The incidents file: the same incident opened and closed, with every flood connection.
    let inc = lines(&incidents_p);
    assert_eq!(inc.first().unwrap()["type"], "incident.opened");
    let last = inc.last().unwrap();
    assert_eq!(last["type"], "incident.closed");
    assert_eq!(last["incident"]["id"], inc[0]["incident"]["id"]);
    assert_eq!(last["incident"]["attacker"], net.ip_a.as_str());
    assert_eq!(last["incident"]["flows"].as_u64(), Some(total));

    // JSON Lines: the shared alert shape, all from the flood.
    let jsonl = lines(&jsonl_p);
    assert_eq!(jsonl.len() as u64, total);
    for a in &jsonl {
        assert_eq!(a["label"], SYN_FLOOD_LABEL, "{a}");
        assert_eq!(a["src_ip"], net.ip_a.as_str());
        assert_eq!(a["dst_ip"], net.ip_b.as_str());
        assert_eq!(a["dst_port"], HTTP_PORT);
        assert_eq!(a["source"], format!("watch:{}", net.veth_b));
    }

    // EVE-JSON: one Suricata alert for the incident, on its first flow; its close; every flow.
    let eve = lines(&eve_p);
    let of = |t: &str| {
        eve.iter()
            .filter(|e| e["event_type"] == t)
            .collect::<Vec<_>>()
    };
    let alerts = of("alert");
    assert_eq!(alerts.len(), 1, "one alert for the flood, not {total}");
    let e = alerts[0];
    assert_eq!(e["in_iface"], net.veth_b.as_str());
    assert_eq!(e["proto"], "TCP");
    assert_eq!(e["src_ip"], net.ip_a.as_str());
    assert_eq!(e["dest_port"], HTTP_PORT);
    assert_eq!(
        e["flow"]["bytes_toserver"], 0,
        "flood flows carry no payload"
    );
    assert_eq!(
        e["alert"]["signature"],
        format!("ML-IDS DoS incident ({SYN_FLOOD_LABEL})")
    );
    assert_eq!(e["alert"]["severity"], 1);
    assert!(e["alert"]["signature_id"].as_u64().unwrap() >= 9_200_000);
    assert!(e["timestamp"].as_str().unwrap().ends_with("+0000"));
    assert_eq!(e["ml_ids"]["incident_id"], inc[0]["incident"]["id"]);
    let closes: Vec<_> = of("ml_ids_incident")
        .into_iter()
        .filter(|c| c["ml_ids_incident"]["state"] == "closed")
        .collect();
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0]["flow_id"], e["flow_id"]);
    let flow_events = of("flow");
    assert_eq!(flow_events.len() as u64, classified);
    let first = flow_events
        .iter()
        .find(|f| f["flow_id"] == e["flow_id"])
        .expect("the incident's first flow has its flow event");
    assert_eq!(first["community_id"], e["community_id"]);
    assert_eq!(first["flow"]["alerted"], true);

    // Webhook: the incident opening and closing (the opening retried after the one 503).
    let bodies = webhook.bodies.lock().unwrap().clone();
    let delivered: Vec<Value> = bodies
        .iter()
        .filter(|(status, _)| *status == 204)
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert!(bodies[0].0 == 503);
    let types: Vec<&Value> = delivered.iter().map(|b| &b["type"]).collect();
    assert_eq!(types, ["incident.opened", "incident.closed"]);
    assert!(delivered
        .iter()
        .all(|b| b["incident"]["labels"][SYN_FLOOD_LABEL].as_u64() >= Some(1)));

    // ml-ids serve published every forwarded alert (what its WebSocket clients receive).
    let mut published = 0u64;
    while let Ok(a) = server.alerts.try_recv() {
        assert_eq!(a.label, SYN_FLOOD_LABEL);
        published += 1;
    }
    assert_eq!(published, total);
    // … and lists the forwarded incident in its latest (closed) state, as its own API shows it.
    let listed = net
        .exec(
            &net.b,
            &[
                "curl",
                "-fsS",
                "--max-time",
                "5",
                "-H",
                &format!("Authorization: Bearer {TOKEN}"),
                &format!("http://{}/api/incidents", server.addr),
            ],
        )
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "GET /api/incidents: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "the flood's one incident: {listed:?}");
    assert_eq!(listed[0]["id"], inc[0]["incident"]["id"]);
    assert_eq!(listed[0]["attacker"], net.ip_a.as_str());
    assert_eq!(listed[0]["open"], false);
    assert_eq!(listed[0]["flows"].as_u64(), Some(total));
    assert_eq!(
        listed[0], last["incident"],
        "as the sensor's --incidents file has it"
    );

    // Flows: the HTTP exchanges were classified benign, the flood's connections as attacks.
    let flows = lines(&flows_p);
    let http: Vec<&Value> = flows
        .iter()
        .filter(|f| f["totlen_fwd_pkts"].as_f64().unwrap_or(0.0) > 0.0)
        .collect();
    assert!(http.len() >= 5, "{} HTTP flows", http.len());
    assert!(http.iter().all(|f| f["prediction"] == "Benign"));
    let attacks = flows.iter().filter(|f| f["is_attack"] == true).count() as u64;
    assert!(
        attacks >= total,
        "{attacks} attack flows for {total} alerts"
    );

    drop(webhook);
    drop(server);
    drop(net);
}
