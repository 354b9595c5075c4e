//! Test kit: NATS servers started and stopped by the test (temporary directories, free loopback
//! ports, killed on drop), a small model trained in the test, and crafted captures.
#![allow(dead_code)]

use mlids_flow::synth::{pcap_bytes, tcp, Ep, Link, RawFrame, T0};
use mlids_flow::{FlowRecord, MeterConfig, Mode};
use mlids_test_support::capture::run_bytes;
use mlids_test_support::models::forward_packets_model;
pub use mlids_test_support::nats_server;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One nats-server process with JetStream; killed when dropped.
pub struct NatsNode {
    pub name: String,
    pub client_port: u16,
    child: Option<Child>,
    pub dir: PathBuf,
}

impl NatsNode {
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    /// SIGKILL: the node dies without a goodbye, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NatsNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Start `n` nodes (a cluster when n > 1) under `root`, and wait until they accept connections.
pub fn start_nats(bin: &Path, root: &Path, n: usize) -> Vec<NatsNode> {
    let client: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let route: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let mut nodes = Vec::new();
    for i in 0..n {
        let dir = root.join(format!("n{i}"));
        std::fs::create_dir_all(dir.join("js")).unwrap();
        let mut conf = format!(
            "server_name: n{i}\nlisten: 127.0.0.1:{}\njetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 64MB\n  max_file_store: 2GB\n}}\n",
            client[i],
            dir.join("js").display()
        );
        if n > 1 {
            let routes: Vec<String> = (0..n)
                .filter(|&j| j != i)
                .map(|j| format!("nats-route://127.0.0.1:{}", route[j]))
                .collect();
            conf.push_str(&format!(
                "cluster {{\n  name: mlids-test\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
                route[i],
                routes.join(", ")
            ));
        }
        let conf_path = dir.join("nats.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = std::fs::File::create(dir.join("nats.log")).unwrap();
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting nats-server");
        nodes.push(NatsNode {
            name: format!("n{i}"),
            client_port: client[i],
            child: Some(child),
            dir,
        });
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for node in &nodes {
        while std::net::TcpStream::connect(("127.0.0.1", node.client_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server {} did not start; log: {}",
                node.name,
                std::fs::read_to_string(node.dir.join("nats.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    nodes
}

/// The fixture model of `mlids_test_support::models::forward_packets_model` (attacks have 20–60
/// forward packets, benign flows 1–10), trained once per test process
/// into a scratch directory that a later run removes (see `process_scratch_dir`).
pub fn model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = mlids_test_support::process_scratch_dir("bus-test-model");
        forward_packets_model(&dir)
    })
    .clone()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A capture of `flows` TCP connections spread over `span_s` seconds, every `attack_every`-th one
/// an attack (25 forward packets; benign ones have 2–4). `salt` varies the addresses.
pub fn capture(flows: usize, span_s: i64, attack_every: usize, salt: u8) -> Vec<u8> {
    let client = move |i: usize, _attack: bool| {
        format!("10.{salt}.{}.{}", 1 + i / 60_000, 1 + (i / 250) % 250)
    };
    capture_with(
        flows,
        span_s,
        attack_every,
        client,
        &format!("10.{salt}.0.2"),
    )
}

/// Like [`capture`], with the client address of connection `i` (and whether it is an attack)
/// chosen by `client`: one attacker's flows can be spread over several sensors' captures.
pub fn capture_with(
    flows: usize,
    span_s: i64,
    attack_every: usize,
    client: impl Fn(usize, bool) -> String,
    server: &str,
) -> Vec<u8> {
    let server = Ep(leak(server.to_string()), 80);
    let mut frames: Vec<RawFrame> = Vec::new();
    let step = span_s * 1_000_000 / flows.max(1) as i64;
    for i in 0..flows {
        let t = T0 + i as i64 * step;
        let attack = attack_every > 0 && i % attack_every == 0;
        let client = Ep(leak(client(i, attack)), 1024 + (i % 60_000) as u16);
        let data = if attack { 23 } else { i % 3 };
        let mut dt = 0;
        let mut push = |from: Ep, to: Ep, flags: &str, len: usize| {
            frames.push(tcp(t + dt, from, to, flags, len, 8192, Link::default()));
            dt += 10;
        };
        push(client, server, "S", 0);
        push(server, client, "SA", 0);
        for _ in 0..data {
            push(client, server, "PA", 100);
        }
        push(server, client, "PA", 1000);
        push(client, server, "FA", 0);
    }
    frames.sort_by_key(|f| f.ts_us);
    pcap_bytes(&frames, 1, false, false)
}

/// The flows `ml-ids extract` would produce from a capture (the ground truth).
pub fn flows_of(capture: &[u8]) -> Vec<FlowRecord> {
    run_bytes(MeterConfig::new(Mode::Cic2018), capture.to_vec()).0
}
