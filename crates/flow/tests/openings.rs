//! Each direction's opening (`Exchange::fwd_opening`/`bwd_opening`) on real captures whose
//! protocol is known: what the detector's carrier check reads to rule out, say, an HTTP flood for
//! a Zabbix poll. Skips (loudly; fails under MLIDS_REQUIRE_ALL=1) without the shared data.

use mlids_flow::{FlowRecord, MeterConfig, Mode, Opening, TcpFlags};
use mlids_test_support::capture::run_bytes;
use mlids_test_support::shared_data;
use std::collections::BTreeMap;
use std::path::Path;

/// The flows of a valid capture (panics on a capture error).
fn flows(path: &Path) -> Vec<FlowRecord> {
    run_bytes(
        MeterConfig::new(Mode::Corrected),
        std::fs::read(path).unwrap(),
    )
    .0
}

/// (forward, backward) opening → number of flows, over the TCP flows to `port` whose opening the
/// meter saw and that carried data from the client.
fn openings(path: &Path, port: u16) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for f in flows(path) {
        let e = &f.exchange;
        if f.dst_port == port && e.saw_open() && e.fwd_payload > 0 {
            let key = (
                format!("{:?}", e.fwd_opening),
                format!("{:?}", e.bwd_opening),
            );
            *out.entry(key).or_default() += 1;
        }
    }
    out
}

fn only(pairs: &[(&str, &str, usize)]) -> BTreeMap<(String, String), usize> {
    pairs
        .iter()
        .map(|&(f, b, n)| ((f.to_string(), b.to_string()), n))
        .collect()
}

#[test]
fn real_captures_open_as_their_protocol() {
    let Some(data) = shared_data() else { return };
    let ndpi = data.join("pcap/bench/ndpi-default");
    // The CIC-IDS2017 SQL-injection excerpt: requests to the victim's web server.
    let web = openings(
        &data.join("pcap/attack/web-sqli/ndpi_WebattackSQLinj.pcap"),
        80,
    );
    assert!(!web.is_empty());
    assert_eq!(
        web.keys().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["HttpRequest"].repeat(web.len()),
        "{web:?}"
    );
    assert!(web.contains_key(&("HttpRequest".into(), "HttpResponse".into())));
    // Zabbix agent polls (port 10050): `ZBXD` frames both ways, nothing HTTP-like.
    let zabbix = openings(&ndpi.join("zabbix.pcap"), 10050);
    assert!(!zabbix.is_empty());
    assert!(
        zabbix
            .keys()
            .all(|k| k == &("Other".into(), "Other".into())),
        "{zabbix:?}"
    );
    // An FTP control connection: the server's `220` greeting, the client's commands.
    assert_eq!(
        openings(&ndpi.join("ftp.pcap"), 21),
        only(&[("LineCommand", "NumericReply", 1)])
    );
}

#[test]
fn tls_sessions_open_with_a_record_and_the_opening_is_the_first_data_only() {
    let Some(data) = shared_data() else { return };
    let tls = flows(&data.join("pcap/bench/ndpi-default/tls_alert.pcap"));
    let opened: Vec<_> = tls
        .iter()
        .filter(|f| f.exchange.saw_open() && f.exchange.fwd_payload > 0)
        .collect();
    assert!(!opened.is_empty());
    for f in opened {
        assert_eq!(f.exchange.fwd_opening, Opening::Tls, "{f:?}");
        assert!(!f.exchange.fwd_tls_heartbeat);
    }
    // A flow without data keeps Unknown both ways.
    for f in &tls {
        if f.exchange.fwd_payload == 0 {
            assert_eq!(f.exchange.fwd_opening, Opening::Unknown);
        }
        if f.exchange.first_flags == TcpFlags(TcpFlags::SYN) {
            assert!(f.exchange.saw_open());
        }
    }
}

#[test]
fn keep_alive_connections_count_each_request_once() {
    let Some(data) = shared_data() else { return };
    let ndpi = data.join("pcap/bench/ndpi-default");
    // Request segments per connection (a segment whose data begins with an HTTP method), counted
    // in these captures with an independent pcap reader (dpkt), summed over the flows the meter
    // cut the connection into.
    let requests = |capture: &str, client_port: u16| -> (usize, u32) {
        let fl = flows(&ndpi.join(capture));
        let conn: Vec<_> = fl
            .iter()
            .filter(|f| f.src_port == client_port && f.dst_port == 80)
            .collect();
        (
            conn.len(),
            conn.iter().map(|f| f.exchange.fwd_requests).sum(),
        )
    };
    // 37 requests on one connection, each User-Agent header split over two segments: the second
    // segment of a request is not a request. The connection lasts six minutes: the 120 s active
    // timeout cuts it into four flows.
    assert_eq!(
        requests("http_ua_splitted_in_two_pkts.pcapng", 21359),
        (4, 37)
    );
    // A video player's keep-alive connections: 35 and 14 requests.
    assert_eq!(requests("quickplay.pcap", 52009).1, 35);
    assert_eq!(requests("quickplay.pcap", 52019).1, 14);
    // The server's responses are not requests; a TLS session has none.
    let tls = flows(&ndpi.join("tls_alert.pcap"));
    assert!(tls.iter().all(|f| f.exchange.fwd_requests == 0));
    // POSTs among them, counted the same way: an OCSP client's 18 requests over 9 connections to
    // port 80 are 15 POSTs (3 on the connection from port 47904, 2 from 43728) and 3 GETs; the
    // video player posts 6 times (Linux cooked capture: from ports 54883, 54885, 42761, 42762,
    // 35670), never on its keep-alive connection of 35 GETs.
    let ocsp = flows(&ndpi.join("ocsp.pcapng"));
    let posts = |port: u16| -> u16 {
        ocsp.iter()
            .filter(|f| f.src_port == port && f.dst_port == 80)
            .map(|f| f.exchange.fwd_posts)
            .sum()
    };
    assert_eq!(ocsp.iter().map(|f| f.exchange.fwd_posts).sum::<u16>(), 15);
    assert_eq!(
        ocsp.iter().map(|f| f.exchange.fwd_requests).sum::<u32>(),
        18
    );
    assert_eq!((posts(47904), posts(43728), posts(34320)), (3, 2, 1));
    let video = flows(&ndpi.join("quickplay.pcap"));
    let video_posts = |port: Option<u16>| -> u16 {
        video
            .iter()
            .filter(|f| port.is_none_or(|p| f.src_port == p))
            .map(|f| f.exchange.fwd_posts)
            .sum()
    };
    assert_eq!((video_posts(None), video_posts(Some(54883))), (6, 2));
    assert_eq!(video_posts(Some(52009)), 0);
}

#[test]
fn an_ftp_servers_530_replies_are_counted_as_rejected_logins() {
    let Some(data) = shared_data() else { return };
    // Read by hand with tcpdump -A: `USER hello` gets "530 This FTP server is anonymous only",
    // the next command "530 Please login with USER and PASS".
    let control = |path: &str| -> Vec<u16> {
        flows(&data.join(path))
            .iter()
            .filter(|f| f.dst_port == 21 && f.exchange.is_line_protocol())
            .map(|f| f.exchange.rejected_logins())
            .collect()
    };
    assert_eq!(control("pcap/bench/ndpi-default/ftp_failed.pcap"), [2]);
    // USER csanders, PASS …, "230 User csanders logged in": nothing rejected.
    assert_eq!(control("pcap/benign/ftp/ppa_ftp.pcap"), [0]);
}

#[test]
fn the_payload_stage_knows_when_it_read_all_a_client_sent() {
    let Some(data) = shared_data() else { return };
    let web = |path: &str, port: u16| -> Vec<FlowRecord> {
        flows(&data.join(path))
            .into_iter()
            .filter(|f| f.dst_port == port && f.exchange.fwd_payload > 0)
            .collect()
    };
    // CIC-IDS2017's SQL injection run: 9 connections of one GET each (tcpdump -A), every one with
    // SQL in `id` — 7 libinjection's, 2 the bare quote probe `id=1'`.
    let sqli = web("pcap/attack/web-sqli/ndpi_WebattackSQLinj.pcap", 80);
    assert_eq!(sqli.len(), 9);
    for f in &sqli {
        assert!(f.exchange.request_text_read(), "{}", f.src_port);
        assert_eq!(f.exchange.fwd_injection, Some(mlids_flow::Injection::Sql));
    }
    // A Go client's API calls to Mattermost (tcpdump -A): POSTs of JSON bodies, which the stage
    // does not parse for parameters (it reads query strings and form bodies), so not read.
    let upload = web("pcap/benign/http/sv_http-post-file.pcap", 8065);
    assert!(!upload.is_empty());
    assert!(upload.iter().all(|f| !f.exchange.request_text_read()));
    // TLS: nothing of the requests is readable.
    let tls = flows(&data.join("pcap/benign/tls/sv_tls-subjectaltname.pcap"));
    assert!(tls
        .iter()
        .filter(|f| f.dst_port == 443)
        .all(|f| !f.exchange.request_text_read()));
}
