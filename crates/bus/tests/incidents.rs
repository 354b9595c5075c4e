//! Incidents on the bus: one attacker whose flows two sensors see, classified by two workers,
//! is one incident — every attack flow counted once, the sensors listed — built by the incident
//! aggregator from the workers' sightings, and closed on the wall clock once the attack stops.
//!
//! Loopback only; the test starts and stops its own nats-server and skips (SKIP: …) when
//! nats-server is not installed (fails instead under MLIDS_REQUIRE_ALL=1).

mod common;

use common::*;
use futures_util::StreamExt;
use mlids_bus::async_nats::jetstream::consumer::{pull, DeliverPolicy};
use mlids_bus::stats::{AggregatorStats, LatencyHistogram, SensorStats, WorkerStats};
use mlids_bus::{
    AggregatorConfig, FlowPublisher, OnFull, PublisherConfig, SensorConfig, Topology, WorkerConfig,
    WorkerModel,
};
use mlids_flow::{MeterConfig, Mode, ReplaySource};
use mlids_incident::{EventKind, IncidentConfig, IncidentEvent};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ATTACKER: &str = "10.77.0.5";

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_attacker_seen_by_two_sensors_is_one_incident_with_every_flow_counted_once() {
    let Some(bin) = nats_server() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let nodes = start_nats(&bin, tmp.path(), 1);
    let url = nodes[0].url();
    let topo = Topology::default();
    let js = topo.context(mlids_bus::connect(&url, "test-admin").await.unwrap());
    let (_, alerts_stream) = topo.ensure(&js, Duration::from_secs(30)).await.unwrap();
    let model = tokio::task::spawn_blocking(model_dir).await.unwrap();
    let models = WorkerModel::load(&model, None, 3).unwrap();

    // The aggregator first: a new one starts with the sightings stored from then on.
    let agg_stop = Arc::new(AtomicBool::new(false));
    let agg_stats = AggregatorStats::default();
    let incidents = IncidentConfig::with_idle_timeout_secs(8.0).unwrap();
    let aggregator = {
        let js = topo.context(mlids_bus::connect(&url, "aggregator").await.unwrap());
        let (topo, stats, stop) = (topo.clone(), agg_stats.clone(), agg_stop.clone());
        tokio::spawn(async move {
            let cfg = AggregatorConfig::new("test", incidents);
            mlids_bus::run_incident_aggregator(js, &topo, cfg, stats, stop).await
        })
    };

    // Two workers sharing the pool, one batch at a time so both take some of each sensor's.
    let mut workers = Vec::new();
    let worker_stop = Arc::new(AtomicBool::new(false));
    for id in ["worker-a", "worker-b"] {
        let js = topo.context(mlids_bus::connect(&url, id).await.unwrap());
        let mut cfg = WorkerConfig::new(id);
        cfg.max_batches = 1;
        let (topo, models, stop, stats) = (
            topo.clone(),
            models.clone(),
            worker_stop.clone(),
            WorkerStats::default(),
        );
        workers.push((
            stats.clone(),
            tokio::spawn(async move {
                mlids_bus::run_worker(
                    js,
                    &topo,
                    cfg,
                    models,
                    stats,
                    LatencyHistogram::default(),
                    stop,
                )
                .await
                .unwrap()
            }),
        ));
    }

    // Each sensor's capture: 800 connections over 20 s, every 4th an attack from the one
    // attacker (against this sensor's server), the rest benign from the sensor's own clients.
    let attacker: IpAddr = ATTACKER.parse().unwrap();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut sensors = Vec::new();
    for k in 0..2u8 {
        let client = move |i: usize, attack: bool| {
            if attack {
                ATTACKER.to_string()
            } else {
                format!("10.7{k}.1.{}", 1 + i % 200)
            }
        };
        let bytes = capture_with(800, 20, 4, client, &format!("10.7{k}.0.2"));
        let attack_flows = flows_of(&bytes)
            .iter()
            .filter(|f| f.src == attacker && f.packets() > 20)
            .count() as u64;
        assert_eq!(attack_flows, 200);
        let sensor = format!("s{k}");
        expected.insert(format!("sensor:{sensor}"), attack_flows);
        let path = tmp.path().join(format!("{sensor}.pcap"));
        std::fs::write(&path, &bytes).unwrap();
        let js = topo.context(mlids_bus::connect(&url, &sensor).await.unwrap());
        let mut cfg = PublisherConfig::new(sensor);
        cfg.on_full = OnFull::Block;
        cfg.batch_flows = 32;
        cfg.linger = Duration::from_millis(50);
        let publisher = FlowPublisher::start(js, &topo, cfg, SensorStats::default()).unwrap();
        let mut sink = publisher.sink(Mode::Cic2018);
        let replay = tokio::task::spawn_blocking(move || {
            // 20 s of traffic at 4x: 5 s, both sensors at once.
            let mut source = ReplaySource::open(&path, 4.0).unwrap();
            let mut scfg = SensorConfig::new(Mode::Cic2018);
            scfg.meter = MeterConfig::new(Mode::Cic2018);
            mlids_bus::run_sensor(
                &mut source,
                &mut sink,
                &scfg,
                &AtomicBool::new(false),
                |_| {},
            )
            .unwrap()
        });
        sensors.push((publisher, replay));
    }
    for (publisher, replay) in sensors {
        replay.await.unwrap();
        let report = publisher.close().await;
        assert_eq!(report.flows_published, 800, "{report:?}");
    }
    let total: u64 = expected.values().sum();
    wait_for(
        "the aggregator to take every attack flow",
        Duration::from_secs(30),
        || agg_stats.sightings.get() >= total,
    )
    .await;
    // No sighting arrives any more: the wall clock closes the incident after the idle timeout,
    // without the aggregator being stopped.
    wait_for("the incident to close", Duration::from_secs(30), || {
        agg_stats.incidents_closed.get() >= 1
    })
    .await;
    worker_stop.store(true, Ordering::Relaxed);
    for (stats, w) in workers {
        w.await.unwrap();
        assert!(
            stats.batches_acked.get() > 0,
            "both workers took batches: {}",
            stats.line()
        );
    }
    agg_stop.store(true, Ordering::Relaxed);
    aggregator.await.unwrap().unwrap();
    eprintln!("aggregator: {}", agg_stats.line());
    assert_eq!(agg_stats.sightings.get(), total, "{}", agg_stats.line());

    // What a server or any subscriber reads from the incident subjects.
    let consumer = alerts_stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: topo.all_incidents(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let stored = consumer.clone().info().await.unwrap().num_pending;
    let mut messages = consumer.messages().await.unwrap();
    let mut latest: HashMap<String, IncidentEvent> = HashMap::new();
    let mut kinds: Vec<EventKind> = Vec::new();
    for _ in 0..stored {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("reading the incident stream timed out")
            .unwrap()
            .unwrap();
        assert!(m.subject.starts_with("mlids.incidents."), "{}", m.subject);
        let e: IncidentEvent = serde_json::from_slice(&m.payload).unwrap();
        kinds.push(e.kind);
        latest.insert(e.incident.id.clone(), e);
    }
    let of_attacker: Vec<&IncidentEvent> = latest
        .values()
        .filter(|e| e.incident.attacker == attacker)
        .collect();
    assert_eq!(of_attacker.len(), 1, "one incident: {:#?}", of_attacker);
    let e = of_attacker[0];
    assert_eq!(e.kind, EventKind::Closed);
    assert!(!e.incident.open);
    assert_eq!(e.incident.flows, total, "every attack flow once");
    assert_eq!(e.incident.sources, expected, "flows per sensor");
    let victims: Vec<String> = e
        .incident
        .victims
        .iter()
        .map(|v| v.address.to_string())
        .collect();
    assert_eq!(victims.len(), 2, "{victims:?}");
    assert!(
        victims.contains(&"10.70.0.2".to_string()) && victims.contains(&"10.71.0.2".to_string())
    );
    assert_eq!(
        e.incident.packets,
        total * 27,
        "25 forward + 2 backward packets per flow"
    );
    assert!(!e.incident.sample_flows.is_empty());
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::Opened).count(), 1);
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Closed).count(),
        1,
        "{kinds:?}"
    );
}
