//! Incidents in the server (issue #16): an uploaded capture's attacks come back as incidents in
//! the upload's answer, on `GET /api/incidents` (with its filters) and as `incident.*` events on
//! the WebSocket, where per-flow alerts are now opt-in.

mod common;

use common::start_with_model;
use futures_util::StreamExt;
use mlids_server::ServerConfig;
use serde_json::Value;
use std::time::Duration;

async fn get(url: String) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn an_uploaded_capture_is_a_handful_of_incidents_not_thousands_of_alerts() {
    let root = mlids_test_support::workspace_root();
    let s = start_with_model(ServerConfig::default(), &root.join("models/default")).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/alerts", s.addr))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap(); // hello
    let (mut progress, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/alerts?events=progress", s.addr))
            .await
            .unwrap();
    progress.next().await.unwrap().unwrap(); // hello
    let pcap = std::fs::read(root.join("samples/demo.pcap")).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/pcap?name=demo.pcap&id=demo-1", s.base))
        .header("Content-Type", "application/vnd.tcpdump.pcap")
        .body(pcap)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    let incidents = report["incidents"].as_array().unwrap();
    // The four attacks, and at most two stray classifier incidents (as `ml-ids detect` finds).
    assert!((4..=6).contains(&incidents.len()), "{incidents:?}");
    let scan = incidents
        .iter()
        .find(|i| i["family"] == "PortScan")
        .expect("the port scan");
    assert_eq!(scan["flows"], 4000);
    assert_eq!(scan["attacker"], "10.77.0.101");
    assert_eq!(scan["open"], false);
    assert_eq!(report["upload_id"], "demo-1");
    // Each incident is explained by what judged its flows: the classifier's incident (the
    // slowloris) by its top features, the payload stage's (the XSS) by its detector's evidence.
    let slowloris = incidents.iter().find(|i| i["family"] == "DoS").unwrap();
    assert!(
        !slowloris["top_features"].as_array().unwrap().is_empty(),
        "{slowloris}"
    );
    let xss = incidents
        .iter()
        .find(|i| i["family"] == "WebAttack")
        .unwrap();
    assert_eq!(xss["evidence"][0]["detector"], "payload.xss", "{xss}");
    assert!(report["flows"][0]["index"] == 0);
    // The progress subscriber saw the upload finish with every flow counted.
    let mut done = None;
    while let Ok(Some(Ok(msg))) =
        tokio::time::timeout(Duration::from_secs(2), progress.next()).await
    {
        let m: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        assert_eq!(m["type"], "upload.progress");
        assert_eq!(m["upload_id"], "demo-1");
        if m["done"] == true {
            done = Some(m);
            break;
        }
    }
    let done = done.expect("a final progress event");
    assert_eq!(done["flows"], report["summary"]["flows"]);

    // The WebSocket (default: incidents only) saw each incident open and close, and no flow alert.
    let mut opened = 0;
    let mut closed = 0;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(500), ws.next()).await
    {
        let m: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        match m["type"].as_str().unwrap() {
            "incident.opened" => opened += 1,
            "incident.closed" => closed += 1,
            "incident.updated" => {}
            other => panic!("unexpected message {other}: {m}"),
        }
    }
    assert_eq!((opened, closed), (incidents.len(), incidents.len()));

    // The list and its filters.
    let (status, all) = get(format!("{}/api/incidents", s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), incidents.len());
    let (_, scans) = get(format!("{}/api/incidents?family=portscan", s.base)).await;
    assert_eq!(scans.as_array().unwrap().len(), 1);
    let (_, high) = get(format!("{}/api/incidents?severity=high", s.base)).await;
    assert!(high
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["severity"] == "high" || i["severity"] == "critical"));
    assert!(!high.as_array().unwrap().is_empty());
    let (_, by_victim) = get(format!("{}/api/incidents?address=10.77.0.10", s.base)).await;
    assert_eq!(by_victim.as_array().unwrap().len(), incidents.len());
    let (_, by_attacker) = get(format!("{}/api/incidents?address=10.77.0.101", s.base)).await;
    assert_eq!(by_attacker.as_array().unwrap().len(), 1);
    let (_, none) = get(format!(
        "{}/api/incidents?since=2100-01-01T00:00:00Z",
        s.base
    ))
    .await;
    assert!(none.as_array().unwrap().is_empty());
    let (status, one) = get(format!(
        "{}/api/incidents/{}",
        s.base,
        scan["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["id"], scan["id"]);
    assert_eq!(one["victims"][0]["address"], "10.77.0.10");
    // Bad queries: clear 4xx.
    let (status, e) = get(format!("{}/api/incidents/0000000000000000", s.base)).await;
    assert_eq!(status, 404, "{e}");
    let (status, e) = get(format!("{}/api/incidents?severity=urgent", s.base)).await;
    assert_eq!(status, 400);
    assert!(e["error"]
        .as_str()
        .unwrap()
        .contains("low, medium, high, critical"));
    let (status, _) = get(format!("{}/api/incidents?since=yesterday", s.base)).await;
    assert_eq!(status, 400);
    let (status, _) = get(format!("{}/api/incidents?address=10.0.0", s.base)).await;
    assert_eq!(status, 400);

    // The upload's flows, paged and filtered on the server: the scan's 4,000.
    let (status, page) = get(format!(
        "{}/api/uploads/demo-1/flows?attacks_only=true&src=10.77.0.101&limit=10&sort=dst_port&dir=desc",
        s.base
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 4000);
    let flows = page["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 10);
    let ports: Vec<u64> = flows
        .iter()
        .map(|f| f["dst_port"].as_u64().unwrap())
        .collect();
    assert!(ports.windows(2).all(|w| w[0] >= w[1]), "{ports:?}");
    // A flow opened: its features and an explanation made now. The explanation is the flow
    // classifier's, of its own label: the verdict's for a flow it decided, what it would have
    // said for one the payload stage decided from the request's text (most XSS requests here).
    let xss_rows: Vec<&Value> = report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["src_ip"] == "10.77.0.104" && f["is_attack"] == true)
        .collect();
    assert!(!xss_rows.is_empty());
    // A flow's detail holds every feature the model reads, no more.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("models/default/manifest.json")).unwrap(),
    )
    .unwrap();
    let model_features = manifest["features"].as_array().unwrap().len();
    let mut same_label = 0;
    for row in &xss_rows {
        let (status, detail) = get(format!(
            "{}/api/uploads/demo-1/flows/{}",
            s.base, row["index"]
        ))
        .await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["flow"]["index"], row["index"]);
        assert_eq!(
            detail["features"].as_object().unwrap().len(),
            model_features
        );
        assert!(!detail["explanation"].as_array().unwrap().is_empty());
        assert!(detail["explained_label"]
            .as_str()
            .is_some_and(|l| !l.is_empty()));
        same_label += usize::from(detail["explained_label"] == row["label"]);
    }
    assert!(
        same_label >= 1,
        "no flow the classifier decided among {xss_rows:?}"
    );
    let (status, _) = get(format!("{}/api/uploads/nope/flows", s.base)).await;
    assert_eq!(status, 404);
    let (status, _) = get(format!("{}/api/uploads/demo-1/flows?sort=colour", s.base)).await;
    assert_eq!(status, 400);
    let (status, _) = get(format!("{}/api/uploads/demo-1/flows/999999", s.base)).await;
    assert_eq!(status, 404);

    // Uploading the same capture again updates the same incidents instead of adding more.
    let pcap = std::fs::read(root.join("samples/demo.pcap")).unwrap();
    reqwest::Client::new()
        .post(format!("{}/api/pcap", s.base))
        .body(pcap)
        .send()
        .await
        .unwrap();
    let (_, again) = get(format!("{}/api/incidents", s.base)).await;
    assert_eq!(again.as_array().unwrap().len(), incidents.len());
}
