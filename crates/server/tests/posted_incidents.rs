//! `POST /api/incidents`: incident events made elsewhere (`ml-ids watch --forward`, a
//! `watch --incidents` file) are recorded and published like the server's own — the latest state
//! of an id replaces the earlier, a bad batch is refused whole with the index and field at
//! fault, and the token and body cap apply as on `POST /api/alerts`.

mod common;

use common::start_with_model;
use futures_util::StreamExt;
use mlids_flow::synth::{tcp, Link, CLIENT, SERVER, T0};
use mlids_flow::{MeterConfig, Mode, Pipeline, VecSink};
use mlids_incident::{IncidentEvent, IncidentTracker};
use mlids_model::{Stage, Verdict};
use mlids_server::ServerConfig;
use serde_json::{json, Value};
use std::time::Duration;

/// An incident opened and closed by the tracker on one crafted attack flow (10.0.0.1 → :80).
fn opened_and_closed() -> (IncidentEvent, IncidentEvent) {
    let mut p = Pipeline::new(MeterConfig::new(Mode::Corrected));
    let mut sink = VecSink::default();
    for (i, (from, to, flags)) in [(CLIENT, SERVER, "S"), (SERVER, CLIENT, "SA")]
        .into_iter()
        .enumerate()
    {
        let f = tcp(
            T0 + i as i64 * 1000,
            from,
            to,
            flags,
            0,
            1000,
            Link::default(),
        );
        p.push_frame(1, f.ts_us, &f.data, &mut sink).unwrap();
    }
    p.finish(&mut sink).unwrap();
    let flow = sink.0.remove(0);
    let v = Verdict {
        label: "DoS attacks-Hulk".into(),
        probability: 0.97,
        attack_score: 0.97,
        is_attack: true,
        top_features: vec![],
        stage: Stage::FlowModel,
        evidence: None,
    };
    let mut t = IncidentTracker::default();
    let opened = t.observe(&flow, &v, "DoS").remove(0);
    let closed = t.finish().remove(0);
    (opened, closed)
}

/// `ml-ids watch --incidents`'s line for an event (what `--forward` posts).
fn watch_line(e: &IncidentEvent) -> Value {
    json!({ "type": e.kind.event_name(), "source": "watch:eth0", "incident": e.incident })
}

async fn server(config: ServerConfig) -> common::TestServer {
    let root = mlids_test_support::workspace_root();
    start_with_model(config, &root.join("models/default")).await
}

async fn post(base: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/incidents"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn listed(base: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{base}/api/incidents"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_array().unwrap().clone()
}

fn message(v: &Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {v}"))
}

#[tokio::test]
async fn an_opened_then_closed_incident_is_one_closed_incident_and_both_events_are_published() {
    let s = server(ServerConfig::default()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/alerts", s.addr))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap(); // hello
    let (opened, closed) = opened_and_closed();
    let id = opened.incident.id.clone();

    // watch's form, then the tracker's own.
    let (status, r) = post(&s.base, watch_line(&opened).to_string()).await;
    assert_eq!((status, &r["published"]), (200, &json!(1)), "{r}");
    let now = listed(&s.base).await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0]["open"], true);
    let (status, r) = post(&s.base, serde_json::to_string(&closed).unwrap()).await;
    assert_eq!(status, 200, "{r}");

    let all = listed(&s.base).await;
    assert_eq!(all.len(), 1, "one incident, its latest state: {all:?}");
    assert_eq!(all[0]["id"], id.as_str());
    assert_eq!(all[0]["open"], false);
    assert_eq!(all[0]["attacker"], "10.0.0.1");
    let one: Value = reqwest::get(format!("{}/api/incidents/{id}", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one, all[0]);
    // As posted: the stored incident is the one the tracker made.
    assert_eq!(one, serde_json::to_value(&closed.incident).unwrap());

    // The WebSocket (incidents by default) told its subscriber both, in order.
    let mut types = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
        let m: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        assert_eq!(m["incident"]["id"], id.as_str());
        types.push(m["type"].as_str().unwrap().to_string());
        if types.len() == 2 {
            break;
        }
    }
    assert_eq!(types, ["incident.opened", "incident.closed"]);

    // An array is recorded in order: an update after the close is the latest state.
    let mut reopened = opened.clone();
    reopened.kind = mlids_incident::EventKind::Updated;
    reopened.incident.flows = 7;
    let batch = json!([
        watch_line(&closed),
        serde_json::to_value(&reopened).unwrap()
    ]);
    let (status, r) = post(&s.base, batch.to_string()).await;
    assert_eq!((status, &r["published"]), (200, &json!(2)), "{r}");
    let all = listed(&s.base).await;
    assert_eq!((all.len(), &all[0]["flows"]), (1, &json!(7)));
}

/// A change that spoils an event.
type Breakage = dyn Fn(&mut Value);

#[tokio::test]
async fn bad_events_are_refused_with_where_and_why_and_nothing_is_recorded() {
    let s = server(ServerConfig::default()).await;
    let (opened, closed) = opened_and_closed();
    let good = watch_line(&opened);

    // Not JSON: 400 with serde's position.
    let (status, e) = post(&s.base, format!("[{good}, {{\"kind\": ")).await;
    assert_eq!(status, 400, "{e}");
    assert!(message(&e).contains("line 1 column"), "{e}");

    // A field of the wrong type: 422 naming it.
    let mut wrong = good.clone();
    wrong["incident"]["flows"] = json!("many");
    let (status, e) = post(&s.base, wrong.to_string()).await;
    assert_eq!(status, 422, "{e}");
    assert!(message(&e).contains("incident.flows"), "{e}");
    assert!(message(&e).contains("invalid type"), "{e}");

    // One bad event of three: the index and the reason, and the good ones are not recorded.
    let mut bad_kind = serde_json::to_value(&closed).unwrap();
    bad_kind["kind"] = json!("exploded");
    let batch = json!([good, watch_line(&closed), bad_kind]);
    let (status, e) = post(&s.base, batch.to_string()).await;
    assert_eq!(status, 422, "{e}");
    assert!(message(&e).starts_with("incident event 2: kind:"), "{e}");
    assert!(message(&e).contains("exploded"), "{e}");
    assert!(
        listed(&s.base).await.is_empty(),
        "a refused batch records nothing"
    );

    // Well-typed but contradictory or unusable: each named.
    let cases: [(&str, Box<Breakage>, &str); 6] = [
        (
            "closed yet open",
            Box::new(|v| v["type"] = json!("incident.closed")),
            "incident.open is true in a closed event",
        ),
        (
            "kind and type disagree",
            Box::new(|v| v["kind"] = json!("closed")),
            "disagree",
        ),
        (
            "unknown type",
            Box::new(|v| v["type"] = json!("incident.reopened")),
            "incident.reopened",
        ),
        (
            "no kind",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("type");
            }),
            "is required",
        ),
        (
            "id unfit for a URL",
            Box::new(|v| v["incident"]["id"] = json!("../../etc")),
            "incident.id",
        ),
        (
            "score out of range",
            Box::new(|v| v["incident"]["max_score"] = json!(3.5)),
            "incident.max_score 3.5",
        ),
    ];
    for (what, breaks, expected) in cases {
        let mut v = good.clone();
        breaks(&mut v);
        let (status, e) = post(&s.base, json!([good, v]).to_string()).await;
        assert_eq!(status, 422, "{what}: {e}");
        assert!(message(&e).starts_with("incident event 1: "), "{what}: {e}");
        assert!(message(&e).contains(expected), "{what}: {e}");
    }
    let (status, e) = post(&s.base, "42").await;
    assert_eq!(status, 422, "{e}");
    let (status, e) = post(&s.base, json!({"kind": "opened"}).to_string()).await;
    assert_eq!(status, 422, "{e}");
    assert!(message(&e).contains("incident"), "{e}");
    assert!(listed(&s.base).await.is_empty());
}

#[tokio::test]
async fn the_token_and_the_body_cap_apply_as_on_posted_alerts() {
    let token = "incident-token-0123456789";
    let s = server(ServerConfig {
        token: Some(token.into()),
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    })
    .await;
    let (opened, _) = opened_and_closed();
    let body = watch_line(&opened).to_string();
    let client = reqwest::Client::new();
    let url = format!("{}/api/incidents", s.base);

    let r = client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert!(message(&e).contains("bearer token"), "{e}");
    let r = client
        .post(&url)
        .bearer_auth("wrong-token")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let r = client
        .post(&url)
        .bearer_auth(token)
        .body(vec![b' '; 128 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    let r = client
        .post(&url)
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list: Value = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], opened.incident.id.as_str());
}
