//! `ml-ids detect --incidents` on the shipped sample: each attack of `samples/demo.pcap` (a
//! testbed run: a SYN port scan, SSH brute force, slowloris and XSS, each from its own attacker,
//! beside two benign users) is one incident of the right family, not thousands of flow alerts.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `ml-ids ARGS` in the workspace root; fails the test unless it succeeds, and returns its stdout.
fn ml_ids_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let run = Command::new(env!("CARGO_BIN_EXE_ml-ids"))
        .current_dir(mlids_test_support::workspace_root())
        .args(args)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout).unwrap()
}

/// One JSON value per line of `path`.
fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn demo_capture_gives_one_incident_per_attack() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("incidents.jsonl");
    let table = ml_ids_ok([
        "detect".as_ref(),
        "--model".as_ref(),
        "models/default".as_ref(),
        "samples/demo.pcap".as_ref(),
        "-q".as_ref(),
        "--incidents".as_ref(),
        file.as_os_str(),
    ]);
    let incidents = read_jsonl(&file);
    let find = |attacker: &str, family: &str| {
        incidents
            .iter()
            .find(|i| i["attacker"] == attacker && i["family"] == family)
            .unwrap_or_else(|| panic!("no {family} incident from {attacker}: {table}"))
    };
    // The port scan: 4,000 flows, one incident, one victim, 4,000 ports... of one victim.
    let scan = find("10.77.0.101", "PortScan");
    assert_eq!(scan["flows"], 4000);
    assert_eq!(scan["victims"].as_array().unwrap().len(), 1);
    assert_eq!(scan["victims"][0]["address"], "10.77.0.10");
    assert_eq!(scan["severity"], "low");
    assert_eq!(scan["evidence"][0]["detector"], "scan.trw");
    assert_eq!(scan["sample_flows"].as_array().unwrap().len(), 5);
    // SSH brute force: its 24 connections.
    let brute = find("10.77.0.102", "BruteForce");
    assert_eq!(brute["flows"], 24);
    assert_eq!(brute["labels"]["SSH-Bruteforce"], 24);
    // Slowloris: 200 connections held open, and two more of the attacker's flows the classifier
    // calls Slowloris too.
    let slow = find("10.77.0.103", "DoS");
    assert!(
        slow["labels"]["DoS attacks-Slowloris"].as_u64().unwrap() >= 200,
        "{slow}"
    );
    assert_eq!(slow["severity"], "high");
    // XSS: a web attack, found in the requests' text by the payload stage (35 of the attacker's
    // 37 flows; the flow classifier alone found 17 to 34 with the models of the last testbed
    // runs: XSS requests look like browsing in flow statistics), with the classifier's reasons
    // for the samples it judged.
    let xss = find("10.77.0.104", "WebAttack");
    assert!(xss["flows"].as_u64().unwrap() >= 33, "{xss}");
    assert!(
        xss["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detector"] == "payload.xss"),
        "{xss}"
    );
    // Nothing from anyone else (the benign users), and no stray incident beside the four.
    assert!(
        incidents
            .iter()
            .all(|i| i["attacker"].as_str().unwrap().starts_with("10.77.0.10")),
        "{table}"
    );
    assert_eq!(incidents.len(), 4, "{table}");
    // The table names them all, most severe first.
    assert!(table.contains(&format!("incidents: {}", incidents.len())));
    let high = table.find("DoS attacks-Slowloris").unwrap();
    let low = table.find("PortScan").unwrap();
    assert!(high < low, "{table}");
}

/// nDPI's `WebattackRCE.pcap`, a Nikto scan of one web server: the requests that carry a shell
/// command, interpreter code or a path out of the web root are the payload stage's, under labels
/// of their own (no training source has them), and the scan is one web-attack incident whose
/// evidence says which check found what. Skips (loudly; fails under MLIDS_REQUIRE_ALL=1) without
/// the shared data.
#[test]
fn a_web_vulnerability_scan_is_one_incident_of_command_and_code_injection() {
    let Some(data) = mlids_test_support::shared_data() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let (flows, incidents) = (out.path().join("v.jsonl"), out.path().join("i.jsonl"));
    let capture = data.join("pcap/attack/web-rce/ndpi_WebattackRCE.pcap");
    ml_ids_ok([
        "detect".as_ref(),
        "--model".as_ref(),
        "models/default".as_ref(),
        "-q".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        capture.as_os_str(),
        "-o".as_ref(),
        flows.as_os_str(),
        "--incidents".as_ref(),
        incidents.as_os_str(),
    ]);
    let verdicts = read_jsonl(&flows);
    let count = |label: &str, detector: &str| {
        verdicts
            .iter()
            .filter(|v| {
                v["prediction"] == label
                    && v["stage"] == "payload"
                    && v["evidence"]["detector"] == detector
            })
            .count()
    };
    assert_eq!(count("Command Injection", "payload.cmdi"), 143);
    assert_eq!(count("Code Injection", "payload.code"), 60);
    assert_eq!(count("Path Traversal", "payload.traversal"), 9);
    // The probes of script paths with nothing in their text are no attack by themselves.
    let flagged = verdicts.iter().filter(|v| v["is_attack"] == true).count();
    assert_eq!(flagged, 212);
    let incidents = read_jsonl(&incidents);
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let scan = &incidents[0];
    assert_eq!(scan["family"], "WebAttack");
    assert_eq!(scan["flows"], 212);
    assert_eq!(scan["labels"]["Command Injection"], 143);
    assert_eq!(scan["labels"]["Path Traversal"], 9);
}

/// nDPI's iodine capture: the tunnel's one client socket sent 222 NULL queries to its resolver
/// (names of up to 62 unbroken characters), and the payload stage calls it a DNS tunnel — one critical
/// infiltration incident whose evidence gives the counts. Skips (loudly; fails under
/// MLIDS_REQUIRE_ALL=1) without the shared data.
#[test]
fn an_iodine_tunnel_is_one_infiltration_incident() {
    let Some(data) = mlids_test_support::shared_data() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let (flows, incidents) = (out.path().join("v.jsonl"), out.path().join("i.jsonl"));
    let capture = data.join("pcap/attack/dns-tunnel/ndpi_dns-tunnel-iodine.pcap");
    ml_ids_ok([
        "detect".as_ref(),
        "--model".as_ref(),
        "models/default".as_ref(),
        "-q".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        capture.as_os_str(),
        "-o".as_ref(),
        flows.as_os_str(),
        "--incidents".as_ref(),
        incidents.as_os_str(),
    ]);
    let tunnel: Vec<_> = read_jsonl(&flows)
        .into_iter()
        .filter(|v| v["is_attack"] == true)
        .collect();
    assert_eq!(tunnel.len(), 1, "{tunnel:?}");
    assert_eq!(tunnel[0]["prediction"], "DNS Tunnel");
    assert_eq!(tunnel[0]["stage"], "payload");
    let evidence = &tunnel[0]["evidence"];
    assert_eq!(evidence["detector"], "payload.dns-tunnel");
    let summary = evidence["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("222 DNS queries from 10.0.2.30:44639 to 10.0.2.20:53: 222 ask"),
        "{summary}"
    );
    let incidents = read_jsonl(&incidents);
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["family"], "Infiltration");
    assert_eq!(incidents[0]["severity"], "critical");
    assert_eq!(incidents[0]["labels"]["DNS Tunnel"], 1);
}
