//! LightGBM training, the flat predictor against LightGBM's own, bundles and the Detector.

mod common;

use common::{synth, write_splits};
use mlids_flow::{Feature, FlowRecord, Mode};
use mlids_model::bundle::{Bundle, MANIFEST_FILE};
use mlids_model::{Classifier, Detector, Explain, FlatForest, ModelError, Task};
use mlids_train::train::{self, Splits, ThresholdChoice, TrainConfig};
use mlids_train::{Fit, FitControl, GbdtParams, ParamGuard, TrainSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn small_params() -> GbdtParams {
    GbdtParams {
        num_iterations: 60,
        num_leaves: 15,
        min_data_in_leaf: 5,
        num_threads: 2,
        train_metric: false,
        ..Default::default()
    }
}

/// Compare two prediction vectors to 1e-9 relative.
fn assert_close(ours: &[f64], theirs: &[f64], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    let mut worst = 0.0f64;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let rel = (a - b).abs() / b.abs().max(1e-300);
        assert!(
            rel <= 1e-9 || (a - b).abs() <= 1e-15,
            "{what}: row value {i}: ours {a} LightGBM {b} (rel {rel:e})"
        );
        worst = worst.max(rel);
    }
    eprintln!(
        "{what}: {} values, worst relative difference {worst:e}",
        ours.len()
    );
}

/// Rows with extra missing values, zeros, tiny values and infinities mixed in.
fn probe_rows(s: &common::Synth, nf: usize, n: usize) -> Vec<f64> {
    let mut rng = fastrand::Rng::with_seed(99);
    let mut rows = s.x[..n * nf].to_vec();
    for v in rows.iter_mut() {
        match rng.u32(0..40) {
            0 => *v = f64::NAN,
            1 => *v = 0.0,
            2 => *v = 1e-36,
            3 => *v = -0.0,
            _ => {}
        }
    }
    rows
}

fn fit_and_compare(extra: &[(&str, toml::Value)], n_classes: usize, what: &str) {
    let nf = 12;
    let s = synth(6000, nf, 8, 7);
    let y: Vec<u32> = s
        .label
        .iter()
        .map(|l| match (n_classes, l.as_str()) {
            (2, "Benign") => 0,
            (2, _) => 1,
            (_, "Benign") => 0,
            (_, "DoS attacks-Hulk") => 1,
            (_, "PortScan") => 2,
            _ => 3,
        })
        .collect();
    let mut params = small_params();
    params.num_leaves = 31;
    for (k, v) in extra {
        params.extra.insert(k.to_string(), v.clone());
    }
    let checked = params.check().unwrap();
    let set = TrainSet {
        x: &s.x,
        feature_names: &s.features,
        y: &y,
        weights: None,
        n_classes,
    };
    let (model, _) = checked.fit(&set, None, &mut FitControl::default()).unwrap();
    let booster = lightgbm3::Booster::from_string(model.text()).unwrap();
    let rows = probe_rows(&s, nf, 5000);
    let theirs = booster.predict(&rows, nf as i32, true).unwrap();
    let forest = FlatForest::from_lightgbm_text(model.text()).unwrap();
    let mut ours = vec![0.0; theirs.len()];
    forest.predict(&rows, &mut ours).unwrap();
    assert_close(&ours, &theirs, what);
    // Raw scores too (no transform hiding differences in saturated probabilities).
    let theirs_raw = booster.raw_scores(&rows, nf as i32, true).unwrap();
    let mut ours_raw = vec![0.0; theirs_raw.len()];
    forest.predict_raw(&rows, &mut ours_raw).unwrap();
    assert_close(&ours_raw, &theirs_raw, &format!("{what} raw"));
    // The parallel path is the same computation.
    let mut par = vec![0.0; theirs.len()];
    forest.predict_parallel(&rows, &mut par, 2).unwrap();
    assert_eq!(par, ours);
}

#[test]
fn flat_predictor_matches_lightgbm_binary_nan_missing() {
    fit_and_compare(&[], 2, "binary");
}

#[test]
fn flat_predictor_matches_lightgbm_zero_as_missing() {
    fit_and_compare(
        &[("zero_as_missing", toml::Value::Boolean(true))],
        2,
        "binary zero_as_missing",
    );
}

#[test]
fn flat_predictor_matches_lightgbm_without_missing_handling() {
    fit_and_compare(
        &[("use_missing", toml::Value::Boolean(false))],
        2,
        "binary use_missing=false",
    );
}

#[test]
fn flat_predictor_matches_lightgbm_multiclass() {
    fit_and_compare(&[], 4, "multiclass");
}

#[test]
fn flat_predictor_matches_lightgbm_with_bagging_and_depth_limit() {
    fit_and_compare(
        &[
            ("bagging_fraction", toml::Value::Float(0.7)),
            ("bagging_freq", toml::Value::Integer(1)),
            ("max_depth", toml::Value::Integer(4)),
        ],
        2,
        "binary with bagging",
    );
}

fn train_synthetic(task: Task, dir: &std::path::Path) -> train::Trained {
    let s = synth(8000, 10, 6, 11);
    write_splits(dir, &s);
    let splits = Splits::in_dir(dir).unwrap();
    let cfg = TrainConfig {
        task,
        params: small_params(),
        min_samples_per_label: Some(20),
        model_scope: false, // synthetic rows are not flows
        ..Default::default()
    };
    let mut lines = Vec::new();
    let mut log = |m: &str| lines.push(m.to_string());
    let mut iterations = 0;
    let mut ctl = FitControl {
        stop: None,
        on_iteration: Some(Box::new(|_r| iterations += 1)),
    };
    let t = train::train(&splits, &cfg, &mut ctl, &mut log).unwrap();
    drop(ctl);
    assert!(iterations > 0);
    assert!(lines.iter().any(|l| l.contains("constant on train")));
    t
}

#[test]
fn training_learns_a_separable_problem() {
    let dir = tempfile::tempdir().unwrap();
    let t = train_synthetic(Task::Binary, dir.path());
    let test = t.test.as_ref().unwrap();
    let auc = test.binary.roc_auc.unwrap();
    eprintln!("binary test AUC {auc:.4}, F1 {:.4}", test.binary.f1);
    assert!(auc > 0.95, "test AUC {auc}");
    assert!(test.binary.f1 > 0.85);
    // The constant last feature was dropped and recorded; dst_port is never a candidate here.
    assert_eq!(t.manifest.preprocessing.dropped_constant.len(), 1);
    assert_eq!(t.manifest.features.len(), 9);
    assert!(t.manifest.metrics.contains_key("test"));
}

#[test]
fn multiclass_with_tiny_classes() {
    let dir = tempfile::tempdir().unwrap();
    let t = train_synthetic(Task::Multiclass, dir.path());
    let names = t.manifest.label_names();
    assert_eq!(names[0], "Benign");
    assert!(names.contains(&"Heartbleed".to_string()), "{names:?}");
    let hb = t
        .manifest
        .labels
        .iter()
        .find(|l| l.name == "Heartbleed")
        .unwrap();
    assert_eq!(hb.train_rows, 20, "6 rows upsampled to the floor of 20");
    let test = t.test.as_ref().unwrap();
    assert!(test.macro_f1 > 0.6, "macro F1 {}", test.macro_f1);
    assert!(test.binary.roc_auc.unwrap() > 0.95);
}

/// A flow the classifier calls an HTTP flood (Hulk) keeps that label when its client opened with
/// an HTTP request or nothing is known, and loses it — the probability goes to the labels left —
/// when the meter saw the connection open with data that is not HTTP or TLS, or it is not TCP.
#[test]
fn labels_a_flow_cannot_carry_are_ruled_out() {
    use mlids_flow::packet::proto;
    use mlids_flow::{Opening, TcpFlags};
    let dir = tempfile::tempdir().unwrap();
    let (_, det) = synthetic_detector(Task::Multiclass, dir.path());
    let mut hulk = record_with_input(&det, 0, 3.0);
    hulk.exchange = http_exchange();
    let http = det.classify_record(&hulk, Explain::None).unwrap();
    assert_eq!(http.label, "DoS attacks-Hulk", "{http:?}");
    let unknown = {
        let mut r = hulk.clone();
        r.exchange = mlids_flow::Exchange::default();
        det.classify_record(&r, Explain::None).unwrap()
    };
    // Nothing known: nothing ruled out. (With the HTTP opening, Heartbleed — TLS heartbeats — was
    // ruled out too, so Hulk's share there is a little larger.)
    assert_eq!(unknown.label, http.label);
    assert!(
        unknown.probability < http.probability,
        "{unknown:?} vs {http:?}"
    );

    let mut zabbix = hulk.clone();
    zabbix.exchange.fwd_opening = Opening::Other;
    zabbix.exchange.bwd_opening = Opening::Other;
    let mut udp = hulk.clone();
    udp.exchange.ip_protocol = proto::UDP;
    udp.exchange.first_flags = TcpFlags(0);
    for r in [&zabbix, &udp] {
        let v = det.classify_record(r, Explain::None).unwrap();
        assert_ne!(v.label, "DoS attacks-Hulk", "{v:?}");
        // The scope-aware path (what detect, serve and watch use) agrees.
        let in_scope = det
            .classify_in_scope(std::slice::from_ref(r), Explain::None)
            .unwrap();
        assert_eq!(in_scope[0].as_ref().map(|o| &o.verdict), Some(&v));
        assert!(v.attack_score < http.attack_score, "{v:?} vs {http:?}");
    }
    // Mid-connection (the first packet is not the client's SYN): the opening proves nothing.
    let mut midway = zabbix.clone();
    midway.exchange.first_flags = TcpFlags(TcpFlags::ACK);
    assert_eq!(
        det.classify_record(&midway, Explain::None).unwrap().label,
        "DoS attacks-Hulk"
    );
}

/// A conversation the classifier calls a port scan is one only when its source scans: with the
/// host-behaviour stage not calling the source a scanner, the verdict without the scan labels is
/// the flow's; after the source's refused probes of 40 ports, the scan verdict stands.
#[test]
fn a_scan_label_stands_only_for_a_scanning_source() {
    use mlids_flow::packet::proto;
    use mlids_flow::{Exchange, Opening, TcpFlags};
    use mlids_model::{decide, HostBehaviour};
    let dir = tempfile::tempdir().unwrap();
    let (_, det) = synthetic_detector(Task::Multiclass, dir.path());
    let mut probe = record_with_input(&det, 1, 3.0);
    probe.exchange = Exchange {
        ip_protocol: proto::TCP,
        fwd_packets: 4,
        bwd_packets: 4,
        fwd_payload: 40,
        bwd_payload: 300,
        first_flags: TcpFlags(TcpFlags::SYN),
        fwd_opening: Opening::Other,
        bwd_opening: Opening::Other,
        ..Default::default()
    };
    let opinion = det
        .classify_in_scope(std::slice::from_ref(&probe), Explain::None)
        .unwrap()
        .pop()
        .flatten()
        .expect("a conversation is in the classifier's scope");
    assert_eq!(opinion.verdict.label, "PortScan", "{opinion:?}");
    let (needs, alternative) = opinion.unless.clone().expect("a scan verdict has one");
    assert_eq!(needs, mlids_model::Context::Scanning);
    assert_ne!(alternative.label, "PortScan");
    assert!(alternative.attack_score < opinion.verdict.attack_score);

    // No host stage: nothing known about the source, the classifier's verdict stands.
    assert_eq!(
        decide(&probe, Some(opinion.clone()), None).label,
        "PortScan"
    );
    // A host stage that has not seen the source scan.
    let mut hosts = HostBehaviour::default();
    hosts.observe(&probe);
    assert_eq!(
        decide(&probe, Some(opinion.clone()), Some(&hosts)),
        alternative
    );
    // The same source's SYNs refused on 40 ports: a scanner, and its conversation is a scan's.
    for port in 0..40u16 {
        let mut refused = record(Mode::Corrected, |_| 0.0);
        refused.dst_port = 2000 + port;
        refused.exchange = Exchange {
            ip_protocol: proto::TCP,
            fwd_packets: 1,
            bwd_packets: 1,
            first_flags: TcpFlags(TcpFlags::SYN),
            fwd_flags: TcpFlags(TcpFlags::SYN),
            bwd_flags: TcpFlags(TcpFlags::RST | TcpFlags::ACK),
            ..Default::default()
        };
        hosts.observe(&refused);
    }
    assert!(hosts.scanning(&probe.src));
    let v = decide(&probe, Some(opinion), Some(&hosts));
    assert_eq!(v.label, "PortScan", "{v:?}");
}

/// A web request flood the host-behaviour stage sees (200 HTTP connections from one client in
/// 2 s) labels the flows the classifier calls benign `HTTP flood`, and yields to the classifier
/// where it names the attack (here Hulk): the more specific label stands. An injection in the
/// request's parameters is more specific still.
#[test]
fn a_request_flood_yields_to_the_classifier_and_an_injection_decides_first() {
    use mlids_model::{decide, HostBehaviour};
    let dir = tempfile::tempdir().unwrap();
    let (_, det) = synthetic_detector(Task::Multiclass, dir.path());
    let web = http_exchange();
    let request = |input_value: f64, i: u16| {
        let mut r = record_with_input(&det, 0, input_value);
        r.exchange = web;
        r.src_port = 30000 + i;
        r.start_us = i64::from(i) * 10_000;
        r.end_us = r.start_us + 5_000;
        r
    };
    let mut hosts = HostBehaviour::default();
    let flows: Vec<FlowRecord> = (0..200).map(|i| request(0.0, i)).collect();
    flows.iter().for_each(|f| hosts.observe(f));
    let opinion = |r: &FlowRecord| {
        det.classify_in_scope(std::slice::from_ref(r), Explain::None)
            .unwrap()
            .pop()
            .flatten()
    };
    let quiet = &flows[10];
    assert_eq!(opinion(quiet).unwrap().verdict.label, "Benign");
    let v = decide(quiet, opinion(quiet), Some(&hosts));
    assert_eq!(v.label, "HTTP flood", "{v:?}");
    assert_eq!(
        v.evidence.as_ref().map(|e| e.detector.as_str()),
        Some("web.flood")
    );
    let hulk = request(3.0, 10);
    let v = decide(&hulk, opinion(&hulk), Some(&hosts));
    assert_eq!(v.label, "DoS attacks-Hulk", "{v:?}");
    assert_eq!(v.stage, mlids_model::Stage::FlowModel);
    // The same Hulk-like request from a client that sent nothing else: one connection is no
    // flood, so the label does not stand (the verdict without the flood labels does), unless
    // nothing is known of the hosts (no host stage).
    let mut lone = request(3.0, 10);
    lone.src = "10.9.9.9".parse().unwrap();
    let mut quiet_hosts = HostBehaviour::default();
    quiet_hosts.observe(&lone);
    let o = opinion(&lone).unwrap();
    let (needs, otherwise) = o.unless.clone().expect("a flood verdict has one");
    assert_eq!(needs, mlids_model::Context::WebFlooding);
    let v = decide(&lone, Some(o.clone()), Some(&quiet_hosts));
    assert_ne!(v.label, "DoS attacks-Hulk", "{v:?}");
    assert_eq!(v, otherwise);
    assert_eq!(decide(&lone, Some(o), None).label, "DoS attacks-Hulk");
    // A request with SQL in a parameter is SQL injection, whatever the classifier and the flood
    // detector say: the payload stage decides first.
    let mut injected = request(3.0, 11);
    injected.exchange.fwd_injection = Some(mlids_flow::Injection::Sql);
    let v = decide(&injected, opinion(&injected), Some(&hosts));
    assert_eq!(v.label, "SQL Injection", "{v:?}");
    assert_eq!(v.stage, mlids_model::Stage::Payload);
    assert_eq!(
        v.evidence.map(|e| e.category),
        Some("WebAttack".to_string())
    );
}

/// A corrected-mode model whose only signal is `tot_fwd_pkts`: benign 1–10 forward packets,
/// `SQL Injection` 20–60.
fn sql_injection_model(dir: &std::path::Path) -> Detector {
    use mlids_test_support::models::{train_small_gbdt, SplitRows};
    let features: Vec<String> = mlids_flow::features::CORRECTED_FEATURES
        .iter()
        .map(|f| f.snake_name(true).to_string())
        .collect();
    let (mut x, mut label, mut category) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..3000u64 {
        let attack = i % 3 == 0;
        for f in &features {
            x.push(match f.as_str() {
                "tot_fwd_pkts" if attack => (20 + (i * 7919) % 41) as f64,
                "tot_fwd_pkts" => (1 + (i * 7919) % 10) as f64,
                "flow_duration" => ((i * 104_729) % 1_000_000) as f64,
                _ => 0.0,
            });
        }
        label.push(if attack { "SQL Injection" } else { "Benign" }.to_string());
        category.push(if attack { "WebAttack" } else { "Benign" }.to_string());
    }
    let rows = SplitRows {
        features: &features,
        x: &x,
        label: &label,
        category: &category,
    };
    Detector::load(&train_small_gbdt(
        dir,
        Mode::Corrected,
        Task::Multiclass,
        &rows,
    ))
    .unwrap()
}

/// The classifier's web-attack label on one HTTP connection of a client that sent nothing else
/// to that server does not stand (what it learnt is a tool's hundreds of requests); on the third
/// connection of a client within a minute it does, for every one of the three.
#[test]
fn a_web_attack_label_needs_a_client_that_came_back() {
    use mlids_model::{decide, HostBehaviour};
    let dir = tempfile::tempdir().unwrap();
    let det = sql_injection_model(dir.path());
    let request = |i: i64| {
        let mut r = record(Mode::Corrected, |f| match f {
            Feature::TotFwdPkts => 30.0,
            _ => 0.0,
        });
        r.exchange = http_exchange();
        r.src_port = 30000 + i as u16;
        r.start_us = i * 20_000_000;
        r.end_us = r.start_us + 5_000;
        r
    };
    let opinion = |r: &FlowRecord| {
        det.classify_in_scope(std::slice::from_ref(r), Explain::None)
            .unwrap()
            .pop()
            .flatten()
            .unwrap()
    };
    let lone = request(0);
    let o = opinion(&lone);
    assert_eq!(o.verdict.label, "SQL Injection");
    let (needs, otherwise) = o.unless.clone().expect("a web-attack verdict has one");
    assert_eq!(needs, mlids_model::Context::Returning);
    assert!(!otherwise.is_attack, "{otherwise:?}");
    let mut hosts = HostBehaviour::default();
    hosts.observe(&lone);
    assert_eq!(decide(&lone, Some(o.clone()), Some(&hosts)), otherwise);
    // Without a host stage nothing is known of the client: the label stands.
    assert_eq!(decide(&lone, Some(o.clone()), None).label, "SQL Injection");
    // Two more connections 20 s apart: a client that came back, and all three are the attack's.
    let three: Vec<FlowRecord> = (0..3).map(request).collect();
    let mut hosts = HostBehaviour::default();
    three.iter().for_each(|f| hosts.observe(f));
    for f in &three {
        let v = decide(f, Some(opinion(f)), Some(&hosts));
        assert_eq!(v.label, "SQL Injection", "{v:?}");
    }
}

#[test]
fn interrupt_keeps_the_best_model_so_far() {
    let s = synth(3000, 8, 0, 3);
    let y: Vec<u32> = s.label.iter().map(|l| (l != "Benign") as u32).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let mut ctl = FitControl {
        stop: Some(stop.clone()),
        on_iteration: Some(Box::new(move |r| {
            if r.iteration == 5 {
                stop2.store(true, Ordering::Relaxed);
            }
        })),
    };
    let set = TrainSet {
        x: &s.x,
        feature_names: &s.features,
        y: &y,
        weights: None,
        n_classes: 2,
    };
    let (model, summary) = small_params()
        .check()
        .unwrap()
        .fit(&set, Some(&set), &mut ctl)
        .unwrap();
    assert_eq!(summary.stop_reason, mlids_model::StopReason::Interrupted);
    assert_eq!(summary.iterations_run, 5);
    assert!(summary.best_iteration <= 5);
    assert_eq!(model.forest().num_iterations(), summary.best_iteration);
}

#[test]
fn params_are_checked() {
    let bad = GbdtParams {
        learning_rate: 0.0,
        ..Default::default()
    };
    assert!(matches!(bad.check(), Err(ModelError::Params(_))));
    let mut reserved = GbdtParams::default();
    reserved
        .extra
        .insert("objective".into(), toml::Value::String("regression".into()));
    assert!(reserved
        .check()
        .unwrap_err()
        .to_string()
        .contains("objective"));
    let p =
        GbdtParams::from_toml_str("num_leaves = 7\n[lightgbm]\nmin_gain_to_split = 0.5\n").unwrap();
    assert_eq!(p.num_leaves, 7);
    assert!(p.extra.contains_key("min_gain_to_split"));
    assert!(GbdtParams::from_toml_str("num_leaves = \"many\"").is_err());
}

fn record(mode: Mode, values: impl Fn(Feature) -> f64) -> FlowRecord {
    let mut v = [f64::NAN; mlids_flow::NUM_FEATURES];
    for &f in Feature::ALL {
        v[f as usize] = values(f);
    }
    let ip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    FlowRecord {
        mode,
        key: mlids_flow::key::FlowKey::corrected(&ip, &"10.0.0.2".parse().unwrap(), 1234, 80, 6),
        src: ip,
        src_port: 1234,
        dst: "10.0.0.2".parse().unwrap(),
        dst_port: 80,
        protocol: 6,
        start_us: 0,
        end_us: 1,
        termination: mlids_flow::Termination::Fin,
        values: v,
        exchange: mlids_flow::Exchange::default(),
    }
}

/// A complete TCP connection the meter saw open, whose client sent an HTTP request and the server
/// answered with an HTTP response.
fn http_exchange() -> mlids_flow::Exchange {
    use mlids_flow::packet::proto;
    use mlids_flow::{Opening, TcpFlags};
    mlids_flow::Exchange {
        ip_protocol: proto::TCP,
        fwd_packets: 6,
        bwd_packets: 5,
        fwd_payload: 400,
        bwd_payload: 2000,
        first_flags: TcpFlags(TcpFlags::SYN),
        // A whole connection: the client's SYN, the server's SYN-ACK, data and FINs both ways.
        fwd_flags: TcpFlags(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN),
        bwd_flags: TcpFlags(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN),
        fwd_opening: Opening::HttpRequest,
        bwd_opening: Opening::HttpResponse,
        ..Default::default()
    }
}

/// A synthetic model trained under `dir/data`, saved as the bundle `dir/model` and loaded back.
fn synthetic_detector(task: Task, dir: &std::path::Path) -> (train::Trained, Detector) {
    let t = train_synthetic(task, &dir.join("data"));
    let bundle_dir = dir.join("model");
    Bundle::save(&bundle_dir, t.manifest.clone(), &t.model).unwrap();
    let det = Detector::load(&bundle_dir).unwrap();
    (t, det)
}

/// A corrected-mode record whose model input `input` (in the detector's feature order) is `value`
/// and every other feature 0.
fn record_with_input(det: &Detector, input: usize, value: f64) -> FlowRecord {
    let names = det.feature_names();
    let idx = |f: Feature| names.iter().position(|n| n == f.snake_name(true));
    record(Mode::Corrected, |f| {
        if idx(f) == Some(input) {
            value
        } else {
            0.0
        }
    })
}

#[test]
fn bundle_round_trip_detector_and_manifest_validation() {
    let dir = tempfile::tempdir().unwrap();
    let (t, det) = synthetic_detector(Task::Binary, dir.path());
    let bundle_dir = dir.path().join("model");
    assert_eq!(det.mode(), Mode::Corrected);
    assert_eq!(det.feature_names(), t.manifest.features.as_slice());

    // Named rows: a DoS-like row and a benign-like one; predictions equal the model's own.
    let names = det.feature_names().to_vec();
    let dos: Vec<(String, Option<f64>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), Some(if i == 0 { 2.0 } else { 0.0 })))
        .collect();
    let v = det
        .classify_named(dos.iter().map(|(k, v)| (k.as_str(), *v)), Explain::all(3))
        .unwrap();
    let row: Vec<f64> = dos.iter().map(|(_, v)| v.unwrap()).collect();
    let mut p = [0.0; 2];
    t.model.predict_proba(&row, &mut p).unwrap();
    assert_eq!(v.attack_score, p[1]);
    assert!(v.is_attack, "{v:?}");
    assert_eq!(v.label, "Attack");
    assert!(!v.top_features.is_empty() && v.top_features.len() <= 3);
    assert_eq!(
        v.top_features[0].feature, names[0],
        "the DoS feature explains the verdict: {v:?}"
    );

    // A missing feature is named in the error.
    let e = det
        .classify_named(
            dos.iter().skip(1).map(|(k, v)| (k.as_str(), *v)),
            Explain::None,
        )
        .unwrap_err();
    assert!(
        matches!(&e, ModelError::MissingFeatures(m) if m == &vec![names[0].clone()]),
        "{e}"
    );

    // Flow records: same mode works and maps features by name; the other mode is refused.
    let rec = record_with_input(&det, 0, 2.0);
    let rv = det.classify_record(&rec, Explain::all(3)).unwrap();
    assert_eq!(
        rv, v,
        "a record and the same named row get the same explained verdict"
    );
    let e = det
        .classify_record(&record(Mode::Cic2018, |_| 0.0), Explain::None)
        .unwrap_err();
    assert!(matches!(e, ModelError::ModeMismatch { .. }), "{e}");
    // The policy is per call: none, or attacks only (the benign-like row stays unexplained).
    let benign = record(Mode::Corrected, |_| 0.0);
    let plain = det
        .classify_records(&[rec.clone(), benign.clone()], Explain::None)
        .unwrap();
    assert!(plain.iter().all(|v| v.top_features.is_empty()));
    let attacks = det
        .classify_records(&[rec.clone(), benign], Explain::attacks(2))
        .unwrap();
    assert!(attacks[0].is_attack && (1..=2).contains(&attacks[0].top_features.len()));
    assert!(!attacks[1].is_attack && attacks[1].top_features.is_empty());
    assert_eq!(attacks[0].attack_score, plain[0].attack_score);

    // Tampered manifests are refused with a clear message.
    let manifest_path = bundle_dir.join(MANIFEST_FILE);
    let original = std::fs::read_to_string(&manifest_path).unwrap();
    let tamper = |edit: &dyn Fn(&mut serde_json::Value)| -> String {
        let mut m: serde_json::Value = serde_json::from_str(&original).unwrap();
        edit(&mut m);
        std::fs::write(&manifest_path, serde_json::to_string(&m).unwrap()).unwrap();
        let e = Detector::load(&bundle_dir).unwrap_err().to_string();
        std::fs::write(&manifest_path, &original).unwrap();
        e
    };
    let e = tamper(&|m| m["format_version"] = 99.into());
    assert!(e.contains("format version 99"), "{e}");
    let e = tamper(&|m| m["features"][0] = "not_a_feature".into());
    assert!(e.contains("not_a_feature"), "{e}");
    let e = tamper(&|m| m["features"].as_array_mut().unwrap().swap(0, 1));
    assert!(e.contains("feature order differs"), "{e}");
    let e = tamper(&|m| {
        m["features"].as_array_mut().unwrap().pop();
    });
    assert!(
        e.contains("takes 9 features but the manifest lists 8"),
        "{e}"
    );
    // A bundle of cic2018 features refuses corrected-mode flows.
    let mut m: serde_json::Value = serde_json::from_str(&original).unwrap();
    m["mode"] = "cic2018".into();
    std::fs::write(&manifest_path, serde_json::to_string(&m).unwrap()).unwrap();
    let d18 = Detector::load(&bundle_dir).unwrap();
    let e = d18
        .classify_record(&record(Mode::Corrected, |_| 0.0), Explain::None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("trained on 'cic2018' features but the input is 'corrected'"),
        "{e}"
    );
    std::fs::write(&manifest_path, &original).unwrap();
    let e = tamper(&|m| m["mode"] = "faithful".into());
    assert!(e.contains("unknown extractor mode"), "{e}");
    let e = tamper(&|m| m["threshold"]["value"] = 1.5.into());
    assert!(e.contains("threshold"), "{e}");
    let e = tamper(&|m| m["model_files"][0] = "../x.txt".into());
    assert!(e.contains("plain file name"), "{e}");
    std::fs::remove_file(bundle_dir.join("model.txt")).unwrap();
    let e = Detector::load(&bundle_dir).unwrap_err().to_string();
    assert!(e.contains("model.txt"), "{e}");
    let e = Detector::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("manifest.json"), "{e}");
}

#[test]
fn evaluation_refuses_other_mode_and_missing_columns() {
    let dir = tempfile::tempdir().unwrap();
    let s = synth(500, 6, 0, 5);
    write_splits(dir.path(), &s);
    let e = train::load_checked(&dir.path().join("test.parquet"), Mode::Cic2018, &s.features)
        .unwrap_err();
    assert!(matches!(e, ModelError::ModeMismatch { .. }), "{e}");
    let e = train::load_checked(
        &dir.path().join("test.parquet"),
        Mode::Corrected,
        &["idle_min".to_string()],
    )
    .unwrap_err();
    assert!(e.to_string().contains("idle_min"), "{e}");
}

#[test]
fn threshold_for_target_recall_is_chosen_on_val() {
    let dir = tempfile::tempdir().unwrap();
    let s = synth(4000, 8, 0, 21);
    write_splits(dir.path(), &s);
    let splits = Splits::in_dir(dir.path()).unwrap();
    let cfg = TrainConfig {
        params: small_params(),
        threshold: ThresholdChoice::TargetRecallOnVal,
        target_recall: 0.9,
        model_scope: false, // synthetic rows are not flows
        ..Default::default()
    };
    let t = train::train(&splits, &cfg, &mut FitControl::default(), &mut |_| {}).unwrap();
    let val = t.val.unwrap();
    assert!(t.manifest.threshold.rule.contains("recall ≥ 0.9"));
    assert_eq!(
        Some(t.manifest.threshold.value),
        val.target_recall.threshold
    );
    assert!(val.binary.recall >= 0.9);
}
