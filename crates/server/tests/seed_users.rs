//! The seed project's users against the two shipped bundles (issue #15): their CSE-CIC-IDS2018
//! rows reach `models/cic2018`, corrected-mode rows `models/default`, a bundle of the wrong mode is
//! a 422, and every attack row becomes one WebSocket alert. The rows are the seed's own 180
//! original validation rows (`cic-ids2018/original/ml-ids_validation.csv` in the shared data).

mod common;

use common::start_with_models;
use futures_util::StreamExt;
use mlids_server::ServerConfig;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const MODEL_HEADER: &str = "x-mlids-model";

/// The seed's file as its client sends it: `to_json(orient='split', index=False)` of the frame
/// read with `read_csv(index_col=0)`, the label dropped. Numbers stay numbers, `inf` becomes
/// null (pandas writes non-finite floats as null), the timestamp stays a string.
fn seed_request(csv_path: &Path) -> (String, Vec<String>) {
    let mut r = csv::Reader::from_path(csv_path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let label = header.iter().position(|h| h == "label").unwrap();
    let keep: Vec<usize> = (1..header.len()).filter(|&i| i != label).collect();
    let columns: Vec<Value> = keep.iter().map(|&i| header[i].clone().into()).collect();
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        labels.push(rec[label].to_string());
        let row: Vec<Value> = keep
            .iter()
            .map(|&i| match rec[i].parse::<f64>() {
                Ok(v) if v.is_finite() => serde_json::json!(v),
                Ok(_) => Value::Null,
                Err(_) => rec[i].into(),
            })
            .collect();
        data.push(Value::Array(row));
    }
    let body = serde_json::json!({"columns": columns, "data": data}).to_string();
    (body, labels)
}

async fn post(base: &str, query: &str, content_type: &str, body: String) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/predictions{query}"))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_seeds_rows_go_to_models_cic2018_and_each_attack_is_one_alert() {
    let Some(data) = mlids_test_support::shared_data() else {
        return;
    };
    let root = mlids_test_support::workspace_root();
    let (default, cic2018) = (root.join("models/default"), root.join("models/cic2018"));
    let s = start_with_models(
        ServerConfig::default(),
        &[("default", &default), ("cic2018", &cic2018)],
    )
    .await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/alerts?events=alerts", s.addr))
            .await
            .unwrap();
    ws.next().await.unwrap().unwrap(); // hello

    let (body, labels) = seed_request(&data.join("cic-ids2018/original/ml-ids_validation.csv"));
    let r = post(
        &s.base,
        "",
        "application/json; format=pandas-split",
        body.clone(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[MODEL_HEADER], "cic2018");
    let flags: Vec<u8> = r.json().await.unwrap();
    assert_eq!(flags.len(), 180);
    assert!(flags.iter().all(|&f| f <= 1));
    // The server's verdicts are the bundle's: the same accuracy its evaluation on these rows
    // recorded (models/cic2018/eval-seed180.json, written by scripts/train-cic2018-model.sh).
    let correct = flags
        .iter()
        .zip(&labels)
        .filter(|(&f, l)| (f == 1) == (l.as_str() != "Benign"))
        .count();
    let eval: Value =
        serde_json::from_str(&std::fs::read_to_string(cic2018.join("eval-seed180.json")).unwrap())
            .unwrap();
    let expected = (eval["accuracy"].as_f64().unwrap() * 180.0).round() as usize;
    assert_eq!(correct, expected, "accuracy of serve vs evaluate");

    // One alert per attack row, each naming the cic2018 bundle.
    let attacks = flags.iter().filter(|&&f| f == 1).count();
    assert!(attacks > 0);
    for n in 0..attacks {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap_or_else(|_| panic!("alert {n} of {attacks}"))
            .unwrap()
            .unwrap();
        let a: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        assert_eq!(a["model"], "cic2018");
        assert_eq!(a["source"], "api:predictions");
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), ws.next())
            .await
            .is_err(),
        "more alerts than attack rows"
    );

    // The seed's columns sent to the corrected-mode bundle by name: 422 naming both modes.
    let r = post(
        &s.base,
        "?model=default",
        "application/json; format=pandas-split",
        body,
    )
    .await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    let msg = e["error"].as_str().unwrap();
    assert!(
        msg.contains("cic2018") && msg.contains("corrected"),
        "{msg}"
    );

    // A corrected-mode CSV row (the seed's first row plus the five corrected-only columns) goes
    // to models/default.
    let text =
        std::fs::read_to_string(data.join("cic-ids2018/original/ml-ids_validation.csv")).unwrap();
    let mut lines = text.lines();
    let extra = "fwd_rst_flags,bwd_rst_flags,icmp_code,icmp_type,total_tcp_flow_time";
    let csv = format!(
        "{},{extra}\n{},0,0,0,0,0\n",
        lines.next().unwrap(),
        lines.next().unwrap()
    );
    let r = post(&s.base, "?alerts=false", "text/csv", csv).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[MODEL_HEADER], "default");
    let flags: Vec<u8> = r.json().await.unwrap();
    assert_eq!(flags.len(), 1);
}
