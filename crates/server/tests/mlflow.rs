//! MLflow's scoring-server protocol on a real listener: every body form `mlflow models serve`
//! accepts gets `{"predictions": [...]}` from `/invocations`; `/ping`, `/health` and `/version`
//! answer as MLflow's do; errors carry MLflow's `error_code`/`message`. (The cross-check against a
//! real MLflow server is `bench/mlflow_compat.sh`; MLflow is not installed in CI.)

mod common;

use common::*;
use mlids_flow::features::CIC2018_FEATURES;
use mlids_server::ServerConfig;
use serde_json::{json, Value};

/// The fixture model's features, in its order.
fn features() -> Vec<String> {
    CIC2018_FEATURES
        .iter()
        .map(|f| f.snake_name(false).to_string())
        .collect()
}

/// A row in model order: zeros but `fwd_pkts` forward packets (≥ 20: an attack for the fixture).
fn row(fwd_pkts: u32) -> Vec<Value> {
    features()
        .iter()
        .map(|f| json!(if f == "tot_fwd_pkts" { fwd_pkts } else { 0 }))
        .collect()
}

/// The same row in the served model's own feature order (`GET /api/model`), as MLflow clients
/// send rows without column names.
fn positional(model_features: &[String], fwd_pkts: u32) -> Vec<Value> {
    model_features
        .iter()
        .map(|f| json!(if f == "tot_fwd_pkts" { fwd_pkts } else { 0 }))
        .collect()
}

async fn model_features(base: &str) -> Vec<String> {
    let manifest: Value = reqwest::get(format!("{base}/api/model"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::from_value(manifest["features"].clone()).unwrap()
}

fn record(fwd_pkts: u32) -> Value {
    Value::Object(features().into_iter().zip(row(fwd_pkts)).collect())
}

fn csv(rows: &[u32]) -> String {
    let mut out = features().join(",") + "\n";
    for &n in rows {
        let cells: Vec<String> = row(n).iter().map(|v| v.to_string()).collect();
        out += &(cells.join(",") + "\n");
    }
    out
}

/// POST `body` to `/invocations{query}` with `content_type`; (status, JSON answer).
async fn invoke(base: &str, query: &str, content_type: &str, body: String) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/invocations{query}"))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Every form MLflow's scoring server takes, each holding a benign row then an attack row.
fn mlflow_forms(model_features: &[String]) -> Vec<(&'static str, &'static str, String)> {
    let cols = features();
    let arrays = || {
        vec![
            positional(model_features, 3),
            positional(model_features, 40),
        ]
    };
    let json = "application/json";
    vec![
        (
            "dataframe_split",
            json,
            json!({ "dataframe_split": { "columns": cols, "data": [row(3), row(40)] } })
                .to_string(),
        ),
        (
            "dataframe_split with index and params",
            json,
            json!({ "dataframe_split": { "index": [7, 8], "columns": cols, "data": [row(3), row(40)] }, "params": { "unknown": 1 } })
                .to_string(),
        ),
        (
            "dataframe_records",
            json,
            json!({ "dataframe_records": [record(3), record(40)] }).to_string(),
        ),
        (
            "instances as records",
            json,
            json!({ "instances": [record(3), record(40)] }).to_string(),
        ),
        (
            "instances as arrays",
            json,
            json!({ "instances": arrays() }).to_string(),
        ),
        (
            "inputs as columns",
            json,
            json!({ "inputs": Value::Object(cols.iter().enumerate().map(|(i, c)| (c.clone(), json!([row(3)[i], row(40)[i]]))).collect()) })
                .to_string(),
        ),
        (
            "inputs as arrays",
            json,
            json!({ "inputs": arrays() }).to_string(),
        ),
        ("csv", "text/csv", csv(&[3, 40])),
        ("csv with charset", "text/csv; charset=utf-8", csv(&[3, 40])),
    ]
}

#[tokio::test]
async fn every_mlflow_body_form_answers_predictions_in_order() {
    let s = start(ServerConfig::default()).await;
    let model_features = model_features(&s.base).await;
    for (name, content_type, body) in mlflow_forms(&model_features) {
        let (status, v) = invoke(&s.base, "", content_type, body).await;
        assert_eq!(status, 200, "{name}: {v}");
        assert_eq!(v, json!({ "predictions": [0, 1] }), "{name}");
    }
}

#[tokio::test]
async fn multiclass_bundles_predict_the_label_and_detail_gives_verdicts() {
    let shipped = mlids_test_support::workspace_root().join("models/default");
    let s = start_with_model(ServerConfig::default(), &shipped).await;
    let manifest: Value = reqwest::get(format!("{}/api/model", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let width = model_features(&s.base).await.len();
    let labels: Vec<&str> = manifest["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    let body = json!({ "inputs": [vec![0; width], vec![1; width]] }).to_string();
    let (status, v) = invoke(&s.base, "", "application/json", body.clone()).await;
    assert_eq!(status, 200, "{v}");
    let predictions = v["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 2);
    for p in predictions {
        assert!(labels.contains(&p.as_str().unwrap()), "{p} is a label");
    }
    let (status, v) = invoke(&s.base, "?detail=true", "application/json", body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["predictions"][0]["label"], predictions[0], "{v}");
    assert!(v["predictions"][1]["probability"].is_number(), "{v}");
}

#[tokio::test]
async fn params_choose_the_bundle_and_the_alerts_and_the_query_wins() {
    let fixture = model_dir();
    let s = start_with_models(
        ServerConfig::default(),
        &[("first", &fixture), ("second", &fixture)],
    )
    .await;
    let mf = model_features(&s.base).await;
    let body = |params: Value| {
        let rows = [positional(&mf, 3), positional(&mf, 40)];
        json!({ "inputs": rows, "params": params }).to_string()
    };
    let (status, v) = invoke(
        &s.base,
        "",
        "application/json",
        body(json!({ "model": "second", "alerts": false, "detail": true })),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["predictions"][1]["is_attack"], json!(true), "{v}");
    let (status, v) = invoke(
        &s.base,
        "?model=first",
        "application/json",
        body(json!({ "model": "nope" })),
    )
    .await;
    assert_eq!((status, v), (200, json!({ "predictions": [0, 1] })));
    let (status, v) = invoke(
        &s.base,
        "",
        "application/json",
        body(json!({ "model": "nope" })),
    )
    .await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error_code"], json!("RESOURCE_DOES_NOT_EXIST"), "{v}");
    // The answering bundle is named in a header, as on /api/predictions.
    let r = reqwest::Client::new()
        .post(format!("{}/invocations", s.base))
        .header("Content-Type", "application/json")
        .body(body(json!({ "model": "second" })))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-mlids-model"], "second");
}

#[tokio::test]
async fn errors_carry_mlflow_error_code_and_message_and_ours() {
    let s = start(ServerConfig {
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    })
    .await;
    let cols = features();
    let json = "application/json";
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("JSON syntax", json, "{\"inputs\": [".into(), 400, "BAD_REQUEST"),
        ("no data key", json, "{\"rows\": []}".into(), 400, "BAD_REQUEST"),
        (
            "two data keys",
            json,
            json!({ "inputs": [row(3)], "dataframe_records": [record(3)] }).to_string(),
            400,
            "BAD_REQUEST",
        ),
        (
            "wrong width",
            json,
            json!({ "instances": [[1]] }).to_string(),
            400,
            "BAD_REQUEST",
        ),
        (
            "missing columns",
            json,
            json!({ "dataframe_split": { "columns": ["tot_fwd_pkts"], "data": [[3]] } })
                .to_string(),
            400,
            "BAD_REQUEST",
        ),
        (
            "not a number",
            json,
            json!({ "dataframe_split": { "columns": cols, "data": [row(3).into_iter().map(|_| json!("x")).collect::<Vec<_>>()] } })
                .to_string(),
            400,
            "BAD_REQUEST",
        ),
        ("content type", "text/plain", "hello".into(), 415, "BAD_REQUEST"),
        (
            "too large",
            json,
            json!({ "inputs": vec![row(3); 1000] }).to_string(),
            413,
            "BAD_REQUEST",
        ),
    ];
    for (name, content_type, body, status, code) in cases {
        let (got, v) = invoke(&s.base, "", content_type, body).await;
        assert_eq!(got, status, "{name}: {v}");
        assert_eq!(v["error_code"], json!(code), "{name}: {v}");
        let message = v["message"].as_str().unwrap();
        assert!(!message.is_empty(), "{name}");
        assert_eq!(
            v["error"].as_str(),
            Some(message),
            "{name}: ml-ids' key too"
        );
    }
}

#[tokio::test]
async fn ping_health_and_version_answer_as_mlflow_does() {
    let s = start(ServerConfig::default()).await;
    for path in ["/ping", "/health", "/version"] {
        let r = reqwest::get(format!("{}{path}", s.base)).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(ct, "application/json", "{path}: MLflow's media type");
        let body = r.text().await.unwrap();
        let want = if path == "/version" {
            env!("CARGO_PKG_VERSION")
        } else {
            "\n"
        };
        assert_eq!(body, want, "{path}");
    }
}
