//! The probes of issue #17 against a real server on loopback, each asserting the new behaviour.
//! Bounded in count and time; nothing leaves 127.0.0.1.

mod common;

use common::start;
use futures_util::StreamExt;
use mlids_server::ServerConfig;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn alert_json() -> String {
    r#"{"time":"2026-12-01T00:00:00Z","source":"evil","src_ip":"10.0.0.1","src_port":1,"dst_ip":"10.0.0.2","dst_port":80,"protocol":6,"label":"Forged","probability":1.0,"attack_score":1.0}"#.into()
}

#[tokio::test]
async fn cross_site_requests_and_rebound_hosts_are_refused() {
    let s = start(ServerConfig::default()).await;
    let c = reqwest::Client::new();
    let mut listener =
        tokio_tungstenite::connect_async(format!("ws://{}/api/alerts?events=alerts", s.addr))
            .await
            .unwrap()
            .0;
    listener.next().await.unwrap().unwrap(); // hello

    // A page elsewhere posting a "simple" request (text/plain needs no CORS preflight).
    let r = c
        .post(format!("{}/api/alerts", s.base))
        .header("Origin", "http://evil.example")
        .header("Content-Type", "text/plain")
        .body(alert_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("cross-site"));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), listener.next())
            .await
            .is_err(),
        "a refused alert reached a subscriber"
    );
    // An upload from elsewhere, and `Origin: null` (sandboxed frames, file: pages).
    for origin in [
        "http://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
    ] {
        let r = c
            .post(format!("{}/api/pcap", s.base))
            .header("Origin", origin)
            .body(vec![0u8; 24])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{origin}");
    }
    // The server's own pages may post; clients without Origin (curl, Python) too.
    let own = format!("http://{}", s.addr);
    let r = c
        .post(format!("{}/api/alerts", s.base))
        .header("Origin", own.as_str())
        .body(alert_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{}/api/alerts", s.base))
        .body(alert_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A WebSocket opened by a foreign page is refused; by the server's own page it is not.
    let mut req = format!("ws://{}/api/alerts", s.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    let mut req = format!("ws://{}/api/alerts", s.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("Origin", own.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_ok());

    // DNS rebinding: the right address under a foreign name.
    let r = c
        .get(format!("{}/healthz", s.base))
        .header("Host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .get(format!("{}/healthz", s.base))
        .header("Host", format!("localhost:{}", s.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The UI may not be framed, sniffed or load foreign scripts.
    let r = c.get(format!("{}/", s.base)).send().await.unwrap();
    let h = r.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn allow_host_lets_a_proxy_name_in() {
    let s = start(ServerConfig {
        allowed_hosts: vec!["ids.example.org".into()],
        ..ServerConfig::default()
    })
    .await;
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/api/alerts", s.base))
        .header("Host", "ids.example.org")
        .header("Origin", "https://ids.example.org")
        .body(alert_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn token_scheme_is_case_insensitive_and_a_repeated_token_is_refused() {
    let token = "k7Qm2xR9pL4vN8sT";
    let s = start(ServerConfig {
        token: Some(token.into()),
        ..ServerConfig::default()
    })
    .await;
    let c = reqwest::Client::new();
    let r = c
        .get(format!("{}/healthz", s.base))
        .header("Authorization", format!("BEARER {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{}/healthz?token=wrong&token={token}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn duplicate_columns_are_refused_naming_them() {
    let s = start(ServerConfig::default()).await;
    let c = reqwest::Client::new();
    let post = |body: &'static str| {
        c.post(format!("{}/api/predictions", s.base))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let r = post(r#"{"columns":["tot_fwd_pkts","flow_duration","tot_fwd_pkts"],"data":[[1,2,3]]}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    let msg = e["error"].as_str().unwrap();
    assert!(
        msg.contains("duplicate column names: tot_fwd_pkts"),
        "{msg}"
    );
    // The same column twice inside one record: which value is meant is unknowable.
    let r = post(r#"[{"tot_fwd_pkts":1,"tot_fwd_pkts":2}]"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("twice"), "{e}");
}
