//! Incidents in `watch`, end to end on the shipped sample: the EVE file holds one `alert` per
//! incident (the 4,000-flow port scan is one alert, not 4,000) on the incident's first flow, an
//! `ml_ids_incident` event when each closes, and `flow` events that share the alerts' `flow_id`
//! and `community_id`, so a SIEM joins an incident's alert with its flows.

mod common;

use common::{of_type, replay_demo};
use mlids_watch::event::numeric_flow_id;
use mlids_watch::Interest;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

#[test]
fn demo_capture_is_one_eve_alert_per_incident_joined_with_its_flows() {
    let eve_interest = Interest {
        flows: true,
        ..Interest::incidents_with_updates()
    };
    let run = replay_demo(eve_interest);
    let rep = &run.report;
    let alerts = of_type(&run.eve, "alert");
    let flows = of_type(&run.eve, "flow");
    let closed: Vec<&Value> = of_type(&run.eve, "ml_ids_incident")
        .into_iter()
        .filter(|e| e["ml_ids_incident"]["state"] == "closed")
        .collect();

    // One alert per incident, each closed once by the end of the run.
    assert!(rep.incidents.opened >= 4, "{rep}");
    assert_eq!(alerts.len() as u64, rep.incidents.opened, "{rep}");
    assert_eq!(closed.len() as u64, rep.incidents.closed);
    assert_eq!(rep.incidents.open(), 0);
    let by_id: HashMap<&str, &Value> = closed
        .iter()
        .map(|e| (e["ml_ids_incident"]["id"].as_str().unwrap(), *e))
        .collect();
    assert_eq!(by_id.len(), closed.len(), "incident ids are distinct");

    // The port scan from 10.77.0.101: 4,000 flows, one alert.
    let scan: Vec<&&Value> = alerts
        .iter()
        .filter(|a| a["src_ip"] == "10.77.0.101")
        .collect();
    assert_eq!(scan.len(), 1, "one alert for the scan: {scan:?}");
    let scan = scan[0];
    assert_eq!(
        scan["alert"]["signature"],
        "ML-IDS PortScan incident (PortScan)"
    );
    assert_eq!(scan["alert"]["category"], "Detection of a Network Scan");
    assert_eq!(scan["alert"]["severity"], 3, "a scan is low severity");
    assert_eq!(scan["ml_ids"]["family"], "PortScan");
    assert_eq!(scan["dest_ip"], "10.77.0.10");
    let scan_closed = by_id[scan["ml_ids"]["incident_id"].as_str().unwrap()];
    assert_eq!(scan_closed["ml_ids_incident"]["flows"], 4000);

    // Each attacker's incidents, as `ml-ids detect` finds them.
    let families: BTreeMap<String, Vec<String>> =
        alerts.iter().fold(BTreeMap::new(), |mut m, a| {
            m.entry(a["src_ip"].as_str().unwrap().to_string())
                .or_default()
                .push(a["ml_ids"]["family"].as_str().unwrap().to_string());
            m
        });
    assert!(
        families["10.77.0.102"].contains(&"BruteForce".to_string()),
        "{families:?}"
    );
    assert!(
        families["10.77.0.103"].contains(&"DoS".to_string()),
        "{families:?}"
    );
    assert!(
        families["10.77.0.104"].contains(&"WebAttack".to_string()),
        "{families:?}"
    );
    assert!(alerts.len() <= 6, "{families:?}"); // the four attacks and two stray incidents at most

    // Every alert sits on its incident's first flow: flow_id, community_id and tuple.
    for a in &alerts {
        let id = a["ml_ids"]["incident_id"].as_str().unwrap();
        let c = by_id[id];
        let first = &c["ml_ids_incident"]["sample_flows"][0];
        let fid = numeric_flow_id(
            first["flow_id"].as_str().unwrap(),
            first["start_us"].as_i64().unwrap(),
        );
        assert_eq!(a["flow_id"], fid, "{a}");
        assert_eq!(a["community_id"], first["community_id"], "{a}");
        assert!(a["community_id"].as_str().unwrap().starts_with("1:"));
        assert_eq!(a["src_port"], first["src_port"]);
        assert_eq!(a["dest_port"], first["dest_port"]);
        assert_eq!(a["ml_ids"]["flow_id"], first["flow_id"]);
        // Its close carries the same ids, so a SIEM groups the incident's events.
        assert_eq!(c["flow_id"], a["flow_id"]);
        assert_eq!(c["community_id"], a["community_id"]);
        // The first flow's own flow event: the same ids, alerted, naming the incident.
        let own: Vec<&&Value> = flows
            .iter()
            .filter(|f| f["flow_id"] == a["flow_id"])
            .collect();
        assert_eq!(own.len(), 1, "{a}");
        assert_eq!(own[0]["community_id"], a["community_id"]);
        assert_eq!(own[0]["flow"]["alerted"], true);
        assert_eq!(own[0]["ml_ids"]["incident_id"], id);
    }

    // Flow events: every completed flow once; the scan's 4,000 name its incident.
    assert_eq!(flows.len() as u64, rep.detection.flows);
    let scan_id = &scan["ml_ids"]["incident_id"];
    let in_scan = flows
        .iter()
        .filter(|f| &f["ml_ids"]["incident_id"] == scan_id)
        .count();
    assert_eq!(in_scan, 4000);
    for f in flows.iter().filter(|f| f["ml_ids"]["is_attack"] == true) {
        let id = f["ml_ids"]["incident_id"].as_str().unwrap_or("");
        assert!(
            by_id.contains_key(id),
            "an attack flow names its incident: {f}"
        );
    }

    // The incidents file: the same incidents, opened and closed.
    let opened_ids: Vec<&Value> = run
        .incidents
        .iter()
        .filter(|e| e["type"] == "incident.opened")
        .map(|e| &e["incident"]["id"])
        .collect();
    assert_eq!(opened_ids.len(), alerts.len());
    assert!(alerts
        .iter()
        .all(|a| opened_ids.contains(&&a["ml_ids"]["incident_id"])));
    assert_eq!(
        run.incidents
            .iter()
            .filter(|e| e["type"] == "incident.closed")
            .count(),
        closed.len()
    );
}
