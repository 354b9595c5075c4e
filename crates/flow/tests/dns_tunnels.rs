//! The DNS-tunnel check (`Exchange::fwd_dns`, `DnsQueries::look_like_a_tunnel`) on real captures:
//! iodine, dnscat2 and two exfiltration scripts are found; no client socket of the real benign
//! captures or of the nDPI corpus's other captures (ordinary resolvers, DNS-over-TCP, malformed
//! and oddly named queries, NetBIOS wildcards) looks like one. Skips (loudly; fails under
//! MLIDS_REQUIRE_ALL=1) without the shared data.

use mlids_flow::dns::DnsQueries;
use mlids_flow::{FlowRecord, MeterConfig, Mode};
use mlids_test_support::capture::run_bytes_partial;
use mlids_test_support::{files_under, shared_data};
use std::path::Path;

/// The flows of a capture; a damaged one keeps the flows before the damage, all this test needs.
fn flows(path: &Path) -> Vec<FlowRecord> {
    let bytes = std::fs::read(path).unwrap();
    run_bytes_partial(MeterConfig::new(Mode::Corrected), bytes).0
}

/// The DNS counts of every flow whose queries look like a tunnel.
fn tunnels(path: &Path) -> Vec<DnsQueries> {
    flows(path)
        .iter()
        .map(|f| f.exchange.fwd_dns)
        .filter(DnsQueries::look_like_a_tunnel)
        .collect()
}

#[test]
fn tunnels_and_exfiltration_are_found() {
    let Some(data) = shared_data() else { return };
    let at = |p: &str| data.join(p);
    for (capture, what) in [
        (
            "pcap/attack/dns-tunnel/ndpi_dns-tunnel-iodine.pcap",
            "iodine",
        ),
        (
            "pcap/attack/dns-tunnel/ndpi_dns_exfiltration.pcap",
            "dnscat2",
        ),
        ("pcap/bench/ndpi-default/bad-dns-traffic.pcap", "dnscat2"),
        ("pcap/bench/ndpi-default/dns-exf.pcap", "exfiltration"),
    ] {
        let found = tunnels(&at(capture));
        eprintln!("{capture}: {found:?}");
        assert!(!found.is_empty(), "{what} in {capture} not found");
    }
    // iodine's socket: its 181 queries all ask for NULL; the data is in the answers.
    let iodine = tunnels(&at("pcap/attack/dns-tunnel/ndpi_dns-tunnel-iodine.pcap"));
    assert!(
        iodine
            .iter()
            .any(|d| d.queries >= 100 && d.tunnel_types == d.queries),
        "{iodine:?}"
    );
}

#[test]
fn ordinary_resolvers_are_no_tunnel() {
    let Some(data) = shared_data() else { return };
    let is_capture = |p: &Path| {
        ["pcap", "pcapng", "cap"]
            .iter()
            .any(|e| p.extension().is_some_and(|x| x == *e))
    };
    let mut files = files_under(&data.join("pcap/benign"));
    files.extend(files_under(&data.join("pcap/bench/ndpi-default")));
    files.retain(|p| is_capture(p));
    // The nDPI corpus's DNS tunnels (NDPI_ATTACKS in scripts/eval_captures.py).
    let attacks = ["bad-dns-traffic.pcap", "dns-exf.pcap"];
    let (mut sockets, mut most_queries, mut longest_run) = (0, 0, 0);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if attacks.contains(&name.as_str()) {
            continue;
        }
        let fl = flows(&path);
        for dns in fl.iter().map(|f| f.exchange.fwd_dns) {
            if dns.queries > 0 {
                sockets += 1;
                most_queries = most_queries.max(dns.queries);
                longest_run = longest_run.max(dns.longest_run);
            }
            assert!(!dns.look_like_a_tunnel(), "{name}: {dns:?}");
        }
    }
    eprintln!("{sockets} sockets, at most {most_queries} queries, longest run {longest_run}");
    // Measured when written: every client socket that sent a query to port 53.
    assert!(sockets >= 300, "only {sockets} DNS client sockets read");
    assert!(
        (30..DnsQueries::DATA_RUN).contains(&longest_run),
        "{longest_run}"
    );
}
