//! The HTTP API end to end on a real loopback listener: the seed's request shape, MLflow and CSV
//! bodies, bad input (always 4xx, never 5xx), auth, pcap upload, streaming ingest with live WebSocket
//! alerts, metrics.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use mlids_flow::features::CIC2018_FEATURES;
use mlids_flow::synth::{pcap_bytes, tcp, udp, Ep, Link, RawFrame, T0};
use mlids_server::ServerConfig;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The seed's 79 snake_case columns: the features with the timestamp after `protocol`.
fn seed_columns() -> Vec<String> {
    let mut cols = Vec::new();
    for f in CIC2018_FEATURES {
        cols.push(f.snake_name(false).to_string());
        if f.snake_name(false) == "protocol" {
            cols.push("timestamp".into());
        }
    }
    cols
}

/// A seed-style row: zeros, the given forward packet count, the timestamp as an escaped string.
fn seed_row(fwd_pkts: u32) -> String {
    seed_row_with(&fwd_pkts.to_string())
}

fn seed_row_with(fwd_pkts: &str) -> String {
    let cells: Vec<String> = seed_columns()
        .iter()
        .map(|c| match c.as_str() {
            "timestamp" => "\"16\\/02\\/2018 01:47:37\"".to_string(),
            "tot_fwd_pkts" => fwd_pkts.to_string(),
            "protocol" => "6".into(),
            "dst_port" => "80".into(),
            "flow_byts_s" => "\"Infinity\"".into(),
            _ => "0".into(),
        })
        .collect();
    format!("[{}]", cells.join(","))
}

fn seed_body() -> String {
    let cols: Vec<String> = seed_columns().iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "{{\"columns\":[{}],\"data\":[{},{}]}}",
        cols.join(","),
        seed_row(3),
        seed_row(40)
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn seed_request_shape_returns_zero_one_in_order() {
    let s = start(ServerConfig::default()).await;
    assert_eq!(seed_columns().len(), 79);
    let r = client()
        .post(format!("{}/api/predictions", s.base))
        .header("Content-Type", "application/json; format=pandas-split")
        .body(seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, json!([0, 1]));
}

#[tokio::test]
async fn mlflow_records_csv_and_detail_forms() {
    let s = start(ServerConfig::default()).await;
    let cols = seed_columns();
    let row = |n: f64| -> Value {
        Value::Object(
            cols.iter()
                .map(|c| {
                    (
                        c.clone(),
                        if c == "tot_fwd_pkts" {
                            json!(n)
                        } else if c == "timestamp" {
                            json!("x")
                        } else {
                            json!(0)
                        },
                    )
                })
                .collect(),
        )
    };
    let split = json!({ "dataframe_split": { "columns": cols, "data": [cols.iter().map(|c| if c == "tot_fwd_pkts" { json!(50) } else if c == "timestamp" { json!("t") } else { json!(0) }).collect::<Vec<_>>()] } });
    let cases = vec![
        ("application/json", split.to_string(), json!([1])),
        (
            "application/json",
            json!({ "dataframe_records": [row(2.0), row(45.0)] }).to_string(),
            json!([0, 1]),
        ),
        (
            "application/json",
            json!([row(45.0), row(2.0)]).to_string(),
            json!([1, 0]),
        ),
        (
            "text/csv",
            format!(
                "{}\n{}\n",
                cols.join(","),
                cols.iter()
                    .map(|c| if c == "tot_fwd_pkts" {
                        "55"
                    } else if c == "timestamp" {
                        "16/02/2018 01:47:37"
                    } else {
                        "0"
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            json!([1]),
        ),
    ];
    for (ct, body, want) in cases {
        let r = client()
            .post(format!("{}/api/predictions", s.base))
            .header("Content-Type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{ct}");
        assert_eq!(r.json::<Value>().await.unwrap(), want, "{ct}");
    }
    let r = client()
        .post(format!("{}/api/predictions?detail=true", s.base))
        .header("Content-Type", "application/json")
        .body(seed_body())
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v[0]["is_attack"], json!(false));
    assert_eq!(v[1]["label"], json!("Attack"), "{v}");
    assert!(v[1]["probability"].as_f64().unwrap() > 0.5);
    let top = v[1]["top_features"].as_array().unwrap();
    assert_eq!(top[0]["feature"], json!("tot_fwd_pkts"), "{v}");
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let s = start(ServerConfig {
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    })
    .await;
    let post = |ct: &'static str, body: String| {
        client()
            .post(format!("{}/api/predictions", s.base))
            .header("Content-Type", ct)
            .body(body)
            .send()
    };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "application/json",
            "{\"columns\": [\"a\"".into(),
            400,
            "malformed JSON",
        ),
        (
            "application/json",
            "{\"columns\":[\"tot_fwd_pkts\"],\"data\":[[1]]}".into(),
            400,
            "missing feature columns",
        ),
        (
            "application/json",
            seed_body().replace(&seed_row(40), &seed_row_with("\"lots\"")),
            400,
            "not a number",
        ),
        (
            "application/json",
            seed_body().replacen("[80,", "[", 1),
            400,
            "values but there are",
        ),
        ("application/json", "42".into(), 400, ""),
        ("text/plain", "hello".into(), 415, "Content-Type"),
        ("text/csv", "a,b\n1\n".into(), 400, "CSV"),
        (
            "application/json",
            format!("[{}]", vec!["{}"; 40_000].join(",")),
            413,
            "--max-body-mb",
        ),
    ];
    for (ct, body, status, needle) in cases {
        let r = post(ct, body).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{ct} {needle}");
        let text = r.text().await.unwrap();
        assert!(text.contains(needle), "{text}");
    }
    let r = client()
        .get(format!("{}/no/such/path", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn token_guards_every_endpoint_including_websockets() {
    let token = "s3cret-token-0123456789";
    let s = start(ServerConfig {
        token: Some(token.into()),
        ..ServerConfig::default()
    })
    .await;
    for path in [
        "/healthz",
        "/metrics",
        "/api/model",
        "/api/openapi.json",
        "/",
    ] {
        let r = client()
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let r = client()
            .get(format!("{}{path}", s.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let r = client()
            .get(format!("{}{path}?token={token}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}?token");
    }
    let r = client()
        .post(format!("{}/api/predictions", s.base))
        .bearer_auth("wrong-token-000000000")
        .body(seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let ws = tokio_tungstenite::connect_async(format!("ws://{}/api/alerts", s.addr)).await;
    assert!(ws.is_err(), "a WebSocket without the token must be refused");
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/alerts?token={token}", s.addr))
            .await
            .unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("hello"));
}

/// One benign TCP exchange and one UDP "flood" flow of 40 forward packets (an attack for the
/// fixture model), answered once half-way so that it is a conversation the flow classifier
/// judges (one-way flows are the host-behaviour stage's, and 40 packets are no flood to it).
fn capture_frames() -> Vec<RawFrame> {
    let l = Link::default();
    let (c, srv) = (Ep("10.0.0.1", 40000), Ep("10.0.0.2", 80));
    let mut f = vec![
        tcp(T0, c, srv, "S", 0, 1000, l),
        tcp(T0 + 10, srv, c, "SA", 0, 1000, l),
        tcp(T0 + 20, c, srv, "FA", 0, 1000, l),
    ];
    let (a, v) = (Ep("10.9.9.9", 5555), Ep("10.0.0.2", 53));
    for i in 0..40 {
        f.push(udp(T0 + 100 + i, a, v, 10));
        if i == 20 {
            f.push(udp(T0 + 100 + i, v, a, 10));
        }
    }
    f
}

#[tokio::test]
async fn pcap_upload_raw_and_multipart() {
    let s = start(ServerConfig::default()).await;
    let pcap = pcap_bytes(&capture_frames(), 1, false, false);
    let r = client()
        .post(format!("{}/api/pcap?name=test.pcap", s.base))
        .body(pcap.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["packets"]["read"], json!(44));
    assert_eq!(v["summary"]["flows"], json!(2), "{v}");
    assert_eq!(v["summary"]["attacks"], json!(1));
    assert_eq!(v["summary"]["top_attackers"][0][0], json!("10.9.9.9"));
    assert_eq!(v["flows"].as_array().unwrap().len(), 2);
    // Community IDs computed by hand with Python's hashlib (as in crates/flow/tests/community_id.rs):
    // 10.0.0.1, 10.0.0.2, TCP, ports 40000, 80; 10.0.0.2, 10.9.9.9, UDP, ports 53, 5555.
    let ids: Vec<&Value> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["community_id"])
        .collect();
    assert!(
        ids.contains(&&json!("1:3k1SoWXs/FltHw2aBCgUTgbDQF4=")),
        "{ids:?}"
    );
    assert!(
        ids.contains(&&json!("1:bLHGP+SBsQ1WueoUua7uz6j5hxo=")),
        "{ids:?}"
    );
    assert_eq!(v["source"], json!("upload:test.pcap"));
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pcap.clone()).file_name("x.pcap"),
    );
    let r = client()
        .post(format!("{}/api/pcap", s.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["summary"]["attacks"], json!(1));
    assert_eq!(v["source"], json!("upload:x.pcap"));
}

#[tokio::test]
async fn damaged_or_oversized_captures_are_4xx_and_keep_what_was_read() {
    let s = start(ServerConfig {
        max_upload_bytes: 4096,
        ..ServerConfig::default()
    })
    .await;
    let pcap = pcap_bytes(&capture_frames(), 1, false, false);
    // Truncated inside the last record: 422 with the flows read so far.
    let r = client()
        .post(format!("{}/api/pcap", s.base))
        .body(pcap[..pcap.len() - 5].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("offset"), "{v}");
    assert_eq!(v["partial"]["summary"]["attacks"], json!(1));
    let r = client()
        .post(format!("{}/api/pcap", s.base))
        .body("GET / HTTP/1.1\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not a pcap"));
    let r = client()
        .post(format!("{}/api/pcap", s.base))
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let big = pcap_bytes(
        &[capture_frames(), capture_frames(), capture_frames()].concat(),
        1,
        false,
        false,
    );
    assert!(big.len() > 4096);
    let r = client()
        .post(format!("{}/api/pcap", s.base))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn streamed_capture_raises_a_live_alert_soon_after_the_fin() {
    let s = start(ServerConfig::default()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/api/alerts?events=alerts&min_probability=0.5",
        s.addr
    ))
    .await
    .unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("hello"));
    // An endless body: the header and 30 packets of an attack flow, then (later) its FIN.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(8);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let url = format!("{}/api/stream?name=sensor1", s.base);
    let upload = tokio::spawn(async move { client().post(url).body(body).send().await.unwrap() });
    let l = Link::default();
    let (a, v) = (Ep("10.6.6.6", 40001), Ep("10.0.0.2", 80));
    let mut frames: Vec<RawFrame> = (0..30)
        .map(|i| tcp(T0 + i, a, v, "PA", 5, 100, l))
        .collect();
    // Answered once: a conversation, which the flow classifier judges.
    frames.insert(15, tcp(T0 + 15, v, a, "A", 0, 100, l));
    let fin = tcp(T0 + 40, a, v, "FA", 0, 100, l);
    frames.push(fin);
    let all = pcap_bytes(&frames, 1, false, false);
    let fin_len = 16 + frames.last().unwrap().data.len();
    tx.send(Ok(all[..all.len() - fin_len].to_vec()))
        .await
        .unwrap();
    // No alert before the FIN: the flow is still open.
    assert!(tokio::time::timeout(Duration::from_millis(300), ws.next())
        .await
        .is_err());
    let sent = Instant::now();
    tx.send(Ok(all[all.len() - fin_len..].to_vec()))
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("alert within 5 s")
        .unwrap()
        .unwrap();
    let latency = sent.elapsed();
    let alert: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert_eq!(alert["src_ip"], json!("10.6.6.6"));
    // 10.0.0.2, 10.6.6.6, TCP, ports 80, 40001 (by hand, as above).
    assert_eq!(
        alert["community_id"],
        json!("1:iHTunOOdkt7jyg82wiTEBoHrqBU=")
    );
    assert_eq!(alert["source"], json!("stream:sensor1"));
    assert!(alert["attack_score"].as_f64().unwrap() >= 0.5);
    eprintln!("alert latency after FIN: {latency:?}");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    drop(tx);
    let resp = upload.await.unwrap();
    assert_eq!(resp.status(), 200);
    let summary: Value = resp.json().await.unwrap();
    assert_eq!(summary["summary"]["attacks"], json!(1));
    ws.send(Message::Close(None)).await.ok();
}

fn tokio_stream_from(
    rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

#[tokio::test]
async fn posted_alerts_reach_websocket_subscribers_and_metrics_count_everything() {
    let s = start(ServerConfig::default()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/api/alerts?events=alerts&labels=SSH-Bruteforce",
        s.addr
    ))
    .await
    .unwrap();
    ws.next().await.unwrap().unwrap();
    let alert = |label: &str| json!({"time":"2026-01-01T00:00:00.000000Z","src_ip":"10.0.0.5","src_port":1,"dst_ip":"10.0.0.6","dst_port":22,"protocol":6,"label":label,"probability":0.9,"attack_score":0.9,"source":"watch:eth0"});
    let r = client()
        .post(format!("{}/api/alerts", s.base))
        .json(&json!([alert("DoS attacks-Hulk"), alert("SSH-Bruteforce")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"published": 2}));
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let got: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert_eq!(
        got["label"],
        json!("SSH-Bruteforce"),
        "the label filter drops the other one"
    );
    let mut bad = alert("x");
    bad["probability"] = json!(7);
    let r = client()
        .post(format!("{}/api/alerts", s.base))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let m = client()
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("mlids_alerts_total{label=\"SSH-Bruteforce\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("mlids_http_requests_total{route=\"/api/alerts\",status=\"200\"}"),
        "{m}"
    );
    assert!(
        m.contains("mlids_http_request_duration_seconds_bucket"),
        "{m}"
    );
    let h: Value = client()
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["mode"], json!("cic2018"));
    let doc: Value = client()
        .get(format!("{}/api/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/api/predictions",
        "/api/pcap",
        "/api/stream",
        "/api/alerts",
        "/api/model",
        "/healthz",
        "/metrics",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    let schemas = &doc["components"]["schemas"];
    for s in ["Alert", "FlowRow"] {
        assert!(
            schemas[s]["properties"]["community_id"].is_object(),
            "{s} documents community_id"
        );
    }
    let html = client()
        .get(format!("{}/", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("ml-ids") && html.contains("/ui/app.js"));
    let model: Value = client()
        .get(format!("{}/api/model", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(model["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "tot_fwd_pkts"));
}

/// The seed's body with the corrected-only columns added, each row holding `value` there.
fn seed_body_with_corrected_columns(value: &str) -> String {
    let extra = [
        "fwd_rst_flags",
        "bwd_rst_flags",
        "icmp_code",
        "icmp_type",
        "total_tcp_flow_time",
    ];
    let mut cols: Vec<String> = seed_columns().iter().map(|c| format!("\"{c}\"")).collect();
    cols.extend(extra.iter().map(|c| format!("\"{c}\"")));
    let row = |n: u32| {
        let r = seed_row(n);
        let cells = vec![value; extra.len()].join(",");
        format!("{},{cells}]", &r[..r.len() - 1])
    };
    format!(
        "{{\"columns\":[{}],\"data\":[{},{}]}}",
        cols.join(","),
        row(3),
        row(40)
    )
}

async fn predict(base: &str, body: String) -> (u16, Value) {
    predict_at(base, "", body).await
}

async fn get_json(url: &str) -> Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// POST the body as the seed's client does, with a query string (`?model=…`, `?alerts=…`).
async fn predict_at(base: &str, query: &str, body: String) -> (u16, Value) {
    let r = client()
        .post(format!("{base}/api/predictions{query}"))
        .header("Content-Type", "application/json; format=pandas-split")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn rows_of_the_other_extractor_mode_are_422_naming_both_modes() {
    // The fixture is a cic2018-mode model: corrected-mode rows (values in the corrected-only
    // columns) are refused, the same columns left empty are the seed's rows and are answered.
    let s = start(ServerConfig::default()).await;
    let (status, v) = predict(&s.base, seed_body_with_corrected_columns("0")).await;
    assert_eq!(status, 422, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("corrected-mode features but the model 'default' is a cic2018-mode model"),
        "{msg}"
    );
    let (status, v) = predict(&s.base, seed_body_with_corrected_columns("null")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v, json!([0, 1]));
    // The improved release's snake name of CWE Flag Count is the same feature.
    let body = seed_body().replace("\"cwe_flag_count\"", "\"cwr_flag_count\"");
    let (status, v) = predict(&s.base, body).await;
    assert_eq!((status, v), (200, json!([0, 1])));

    // The shipped default is a corrected-mode model: the seed's own rows are refused, with the
    // null-padded corrected columns too (the silent wrong answer of before).
    let shipped = mlids_test_support::workspace_root().join("models/default");
    let s = start_with_model(ServerConfig::default(), &shipped).await;
    for body in [seed_body(), seed_body_with_corrected_columns("null")] {
        let (status, v) = predict(&s.base, body).await;
        assert_eq!(status, 422, "{v}");
        let msg = v["error"].as_str().unwrap();
        assert!(
            msg.contains("cic2018-mode features but the model 'default' is a corrected-mode model"),
            "{msg}"
        );
    }
}

#[tokio::test]
async fn several_bundles_each_request_goes_to_the_bundle_of_its_mode() {
    let shipped = mlids_test_support::workspace_root().join("models/default");
    let fixture = model_dir();
    let s = start_with_models(
        ServerConfig::default(),
        &[("default", &shipped), ("seed", &fixture)],
    )
    .await;
    // The seed's cic2018 rows go to the cic2018 bundle, as its client expects.
    let (status, v) = predict(&s.base, seed_body()).await;
    assert_eq!((status, v), (200, json!([0, 1])));
    // Corrected-mode rows go to the corrected bundle (an answer, whatever it is, per row).
    let (status, v) = predict(&s.base, seed_body_with_corrected_columns("0")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 2);
    // Naming the other mode's bundle is a 422 that names both modes and the served bundles.
    let (status, v) = predict_at(&s.base, "?model=default", seed_body()).await;
    assert_eq!(status, 422);
    let msg = v["error"].as_str().unwrap().to_string();
    assert!(
        msg.contains("served: default (corrected), seed (cic2018)"),
        "{msg}"
    );
    let r = client()
        .post(format!("{}/api/predictions?model=nope", s.base))
        .body(seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let h = get_json(&format!("{}/healthz", s.base)).await;
    assert_eq!(h["mode"], json!("corrected"), "the primary is the first");
    let names: Vec<&str> = h["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "seed"]);
    let m = get_json(&format!("{}/api/model?model=seed", s.base)).await;
    assert_eq!(m["mode"], json!("cic2018"));
}

#[tokio::test]
async fn rest_predictions_of_attacks_become_alerts_with_the_rows_features() {
    let s = start(ServerConfig::default()).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/alerts?events=alerts", s.addr))
            .await
            .unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("hello"));
    // Bulk scoring with alerts off: nothing is published.
    let (status, v) = predict_at(&s.base, "?alerts=false", seed_body()).await;
    assert_eq!((status, v), (200, json!([0, 1])));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), ws.next())
            .await
            .is_err(),
        "no alert with alerts=false"
    );
    // By default the one attack row (40 forward packets) is an alert, as the seed published it.
    let (status, v) = predict(&s.base, seed_body()).await;
    assert_eq!((status, v), (200, json!([0, 1])));
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("an alert")
        .unwrap()
        .unwrap();
    let a: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert_eq!(a["source"], json!("api:predictions"));
    assert_eq!(a["model"], json!("default"));
    assert_eq!(a["features"]["tot_fwd_pkts"], json!(40.0));
    assert_eq!(a["dst_port"], json!(80));
    assert!(a["attack_score"].as_f64().unwrap() >= 0.5);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), ws.next())
            .await
            .is_err(),
        "the benign row raised no alert"
    );
}
