//! The consumers behind the sink queues: line-oriented writers (readable stdout, the shared alert
//! JSON, the incident JSON, Suricata EVE-JSON), HTTP POST with retry and back-off (webhook,
//! forwarding incidents and alerts to `ml-ids serve`), and the flows file (every classified flow
//! with its verdict). Each renders the events it can and passes over the others; which events reach it is its
//! [`crate::outputs::Interest`].

use crate::error::WatchError;
use crate::eve::{eve_line, write_eve};
use crate::event::{alert_json, incident_json, readable_incident, readable_line, WatchEvent};
use crate::queue::{Consumer, Control};
use mlids_flow::{Layout, Mode, NameStyle, Summary};
use mlids_model::output::VerdictJsonlWriter;
use mlids_model::VerdictSink;
use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

/// How a line sink renders events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    /// For a terminal: [`readable_incident`] and [`readable_line`].
    Readable,
    /// Per-flow alerts as the shared [`mlids_model::alert::Alert`] JSON, one object per line.
    Alert,
    /// Incident events as [`incident_json`], one per line.
    Incident,
    /// Suricata's EVE events, one per line.
    Eve,
}

/// Render `ev` in `format` into `line` (cleared first); `false` if the format has no rendering
/// for it.
fn render(format: LineFormat, ev: &WatchEvent, line: &mut Vec<u8>) -> Result<bool, String> {
    line.clear();
    let e = |e: serde_json::Error| e.to_string();
    match (format, ev) {
        (LineFormat::Readable, WatchEvent::FlowAlert(a)) => {
            line.extend_from_slice(readable_line(a).as_bytes())
        }
        (LineFormat::Readable, WatchEvent::Incident(n)) => {
            line.extend_from_slice(readable_incident(n).as_bytes())
        }
        (LineFormat::Alert, WatchEvent::FlowAlert(a)) => {
            serde_json::to_writer(&mut *line, &alert_json(a)).map_err(e)?
        }
        (LineFormat::Incident, WatchEvent::Incident(n)) => {
            serde_json::to_writer(&mut *line, &incident_json(n)).map_err(e)?
        }
        (LineFormat::Eve, ev) => return write_eve(line, ev).map_err(e),
        _ => return Ok(false),
    }
    Ok(true)
}

/// Writes one line per event to a file or stdout.
pub struct LineSink {
    out: Box<dyn Write + Send>,
    format: LineFormat,
    line: Vec<u8>,
}

/// Open `path` for appending (`-` is standard output), as Suricata does with `eve.json`: restarts
/// and log shippers that track offsets keep working.
pub fn open_append(path: &Path) -> Result<Box<dyn Write + Send>, WatchError> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufWriter::new(std::io::stdout())));
    }
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| WatchError::Io {
            path: path.display().to_string(),
            source,
        })?;
    Ok(Box::new(BufWriter::with_capacity(64 * 1024, f)))
}

impl LineSink {
    pub fn new(out: Box<dyn Write + Send>, format: LineFormat) -> Self {
        LineSink {
            out,
            format,
            line: Vec::with_capacity(1024),
        }
    }

    pub fn stdout() -> Self {
        Self::new(Box::new(std::io::stdout()), LineFormat::Readable)
    }
}

impl Consumer<WatchEvent> for LineSink {
    fn consume(&mut self, batch: &[WatchEvent], _ctl: &Control) -> Result<(), String> {
        for ev in batch {
            if !render(self.format, ev, &mut self.line)? {
                continue;
            }
            self.line.push(b'\n');
            self.out.write_all(&self.line).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        self.out.flush().map_err(|e| e.to_string())
    }
}

/// Every classified flow with its verdict, as `ml-ids detect --format jsonl` writes them (snake
/// names), so the flows watch saw can be inspected or relabelled later.
pub struct FlowsSink {
    writer: VerdictJsonlWriter<Box<dyn Write + Send>>,
}

impl FlowsSink {
    pub fn create(path: &Path, mode: Mode) -> Result<Self, WatchError> {
        let out = open_append(path)?;
        Ok(FlowsSink {
            writer: VerdictJsonlWriter::new(out, Layout::new(mode, NameStyle::Snake, false)),
        })
    }
}

impl Consumer<WatchEvent> for FlowsSink {
    fn consume(&mut self, batch: &[WatchEvent], _ctl: &Control) -> Result<(), String> {
        for item in batch {
            if let WatchEvent::Flow(c) = item {
                self.writer
                    .verdict(&c.flow, &c.verdict)
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        // The JSONL writer's `finish` only flushes, so it can be called at every idle moment.
        self.writer
            .finish(&Summary::default())
            .map_err(|e| e.to_string())
    }
}

/// Retries of an HTTP delivery: exponential back-off from `initial` doubling up to `max`, for at
/// most `attempts` tries in all. A `Retry-After` header (429/503) is honoured up to `max`.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub initial: Duration,
    pub max: Duration,
    /// Limit on one request (connect, send, response).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Check an HTTP(S) URL up front, so a typo fails at start-up rather than at the first alert.
pub fn check_url(url: &str) -> Result<(), WatchError> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| WatchError::Config(format!("invalid URL '{url}': {e}")))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(h)) if !h.is_empty() => Ok(()),
        _ => Err(WatchError::Config(format!(
            "invalid URL '{url}': expected http://HOST[:PORT]/PATH or https://…"
        ))),
    }
}

/// POSTs JSON bodies with retry and back-off.
pub struct HttpPoster {
    agent: ureq::Agent,
    url: String,
    headers: Vec<(String, String)>,
    policy: RetryPolicy,
}

impl HttpPoster {
    pub fn new(
        url: &str,
        headers: Vec<(String, String)>,
        policy: RetryPolicy,
    ) -> Result<Self, WatchError> {
        check_url(url)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(policy.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("ml-ids-watch/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(HttpPoster {
            agent,
            url: url.to_string(),
            headers,
            policy,
        })
    }

    /// POST `body`; retry network errors, 408, 429 and 5xx; give up at once on other 4xx (a wrong
    /// token or URL will not fix itself).
    pub fn post(&self, body: &[u8], ctl: &Control) -> Result<(), String> {
        let mut backoff = self.policy.initial;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .agent
                .post(&self.url)
                .header("Content-Type", "application/json");
            for (k, v) in &self.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let (err, retry_after) = match req.send(body) {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let err = format!("{} answered HTTP {status}", self.url);
                    if !(status == 408 || status == 429 || status >= 500) {
                        return Err(err);
                    }
                    (err, retry_after)
                }
                Err(e) => (format!("{}: {e}", self.url), None),
            };
            if attempt >= self.policy.attempts.max(1) || ctl.aborted() {
                return Err(format!("{err} (gave up after {attempt} attempts)"));
            }
            ctl.count_retry();
            let wait = retry_after.unwrap_or(backoff).min(self.policy.max);
            if !ctl.sleep(wait) {
                return Err(format!("{err} (shutting down)"));
            }
            backoff = (backoff * 2).min(self.policy.max);
        }
    }
}

/// Body of a webhook POST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookFormat {
    /// ml-ids's own JSON: [`incident_json`] for incidents, the shared alert JSON for per-flow
    /// alerts.
    Json,
    /// The EVE event (an incident's `alert` or `ml_ids_incident`, a per-flow `alert`).
    Eve,
}

/// The body of one webhook POST for `ev`, if the format renders it.
fn webhook_body(format: WebhookFormat, ev: &WatchEvent) -> Result<Option<Vec<u8>>, String> {
    let e = |e: serde_json::Error| e.to_string();
    Ok(match (format, ev) {
        (WebhookFormat::Json, WatchEvent::Incident(n)) => {
            Some(serde_json::to_vec(&incident_json(n)).map_err(e)?)
        }
        (WebhookFormat::Json, WatchEvent::FlowAlert(a)) => {
            Some(serde_json::to_vec(&alert_json(a)).map_err(e)?)
        }
        (WebhookFormat::Json, WatchEvent::Flow(_)) => None,
        (WebhookFormat::Eve, ev) => eve_line(ev),
    })
}

/// One POST per event to an arbitrary HTTP(S) endpoint.
pub struct WebhookSink {
    poster: HttpPoster,
    format: WebhookFormat,
}

impl WebhookSink {
    pub fn new(poster: HttpPoster, format: WebhookFormat) -> Self {
        WebhookSink { poster, format }
    }
}

impl Consumer<WatchEvent> for WebhookSink {
    fn consume(&mut self, batch: &[WatchEvent], ctl: &Control) -> Result<(), String> {
        // The queue hands webhooks one event at a time (max_batch 1), so a failure loses one.
        for ev in batch {
            if let Some(body) = webhook_body(self.format, ev)? {
                self.poster.post(&body, ctl)?;
            }
        }
        Ok(())
    }
}

/// Batches of a sensor's events to a running `ml-ids serve`, whose `GET /api/incidents`,
/// WebSocket and web UI then show them as their own: incident events (opened, updated, closed)
/// to `POST /api/incidents`, per-flow alerts to `POST /api/alerts`. The server takes incidents
/// as the sensor built them rather than rebuilding them from alerts, so a scan of thousands of
/// flows needs only its incident forwarded; which events arrive here is the sink's
/// [`crate::outputs::Interest`] (`watch` adds per-flow alerts with `--flow-alerts`).
pub struct ForwardSink {
    alerts: HttpPoster,
    incidents: HttpPoster,
}

impl ForwardSink {
    /// `base` is the server's address (`http://127.0.0.1:8080`); the endpoints are appended to
    /// it ([`forward_url`], [`forward_incidents_url`]).
    pub fn new(
        base: &str,
        token: Option<&str>,
        policy: RetryPolicy,
    ) -> Result<ForwardSink, WatchError> {
        let headers: Vec<(String, String)> = token
            .filter(|t| !t.is_empty())
            .map(|t| vec![("Authorization".to_string(), format!("Bearer {t}"))])
            .unwrap_or_default();
        Ok(ForwardSink {
            alerts: HttpPoster::new(&forward_url(base), headers.clone(), policy)?,
            incidents: HttpPoster::new(&forward_incidents_url(base), headers, policy)?,
        })
    }
}

/// The server's base URL: `base` without a trailing `/` or endpoint (a `--forward` given as
/// `…/api/alerts`, as earlier versions documented, still names the same server).
pub fn forward_base(base: &str) -> &str {
    let b = base.trim_end_matches('/');
    b.strip_suffix("/api/alerts")
        .or_else(|| b.strip_suffix("/api/incidents"))
        .unwrap_or(b)
}

/// `http://host:port[/…]` → `http://host:port/api/alerts`.
pub fn forward_url(base: &str) -> String {
    format!("{}/api/alerts", forward_base(base))
}

/// `http://host:port[/…]` → `http://host:port/api/incidents`.
pub fn forward_incidents_url(base: &str) -> String {
    format!("{}/api/incidents", forward_base(base))
}

/// Each batch is at most two requests, a JSON array each: its incident events in order (the
/// server keeps the latest state of each id, so order matters) and its per-flow alerts. Both are
/// tried even when one fails, so a refused alert batch does not cost the incidents (the queue
/// still counts the batch as failed: its report errs towards loss).
impl Consumer<WatchEvent> for ForwardSink {
    fn consume(&mut self, batch: &[WatchEvent], ctl: &Control) -> Result<(), String> {
        let e = |e: serde_json::Error| e.to_string();
        let incidents: Vec<_> = batch
            .iter()
            .filter_map(|ev| match ev {
                WatchEvent::Incident(n) => Some(incident_json(n)),
                _ => None,
            })
            .collect();
        let alerts: Vec<&mlids_model::alert::Alert> = batch
            .iter()
            .filter_map(|ev| match ev {
                WatchEvent::FlowAlert(a) => Some(&a.alert),
                _ => None,
            })
            .collect();
        let mut errors = Vec::new();
        if !incidents.is_empty() {
            let body = serde_json::to_vec(&incidents).map_err(e)?;
            if let Err(err) = self.incidents.post(&body, ctl) {
                errors.push(err);
            }
        }
        if !alerts.is_empty() {
            let body = serde_json::to_vec(&alerts).map_err(e)?;
            if let Err(err) = self.alerts.post(&body, ctl) {
                errors.push(err);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::{sample_classified, sample_event, sample_incident};
    use crate::queue::Queue;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    fn flow_alert(ongoing: bool) -> WatchEvent {
        WatchEvent::FlowAlert(Arc::new(sample_event(ongoing)))
    }

    #[test]
    fn forward_url_appends_the_endpoint_once() {
        assert_eq!(
            forward_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/api/alerts"
        );
        assert_eq!(
            forward_url("http://h:1/api/alerts/"),
            "http://h:1/api/alerts"
        );
        // The incidents endpoint is on the same server, however the base was spelled.
        for base in [
            "http://h:1",
            "http://h:1/",
            "http://h:1/api/alerts",
            "http://h:1/api/incidents/",
        ] {
            assert_eq!(
                forward_incidents_url(base),
                "http://h:1/api/incidents",
                "{base}"
            );
        }
        assert_eq!(
            forward_url("http://h:1/api/incidents"),
            "http://h:1/api/alerts"
        );
        assert_eq!(
            forward_incidents_url("https://ids.example.com/mlids"),
            "https://ids.example.com/mlids/api/incidents"
        );
        assert!(check_url("ftp://x/").is_err());
        assert!(check_url("not a url").is_err());
        assert!(check_url("https://hooks.example.com/x?y=1").is_ok());
    }

    /// A loopback HTTP server answering each request with the next status from `statuses` (then
    /// 200), recording request heads and bodies.
    #[allow(clippy::type_complexity)] // a test helper returning its handles
    fn server(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for conn in l.incoming().take(20) {
                let Ok(conn) = conn else { return };
                let mut r = BufReader::new(conn);
                let (mut head, mut len) = (String::new(), 0usize);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                seen2
                    .lock()
                    .unwrap()
                    .push((head, String::from_utf8_lossy(&body).into_owned()));
                let status = statuses.next().unwrap_or(200);
                let mut conn = r.into_inner();
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        (url, seen)
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn webhook_retries_server_errors_then_delivers() {
        let (url, seen) = server(vec![503, 500]);
        let sink = WebhookSink::new(
            HttpPoster::new(&url, vec![], fast()).unwrap(),
            WebhookFormat::Eve,
        );
        let q = Queue::spawn("webhook", 8, 1, Box::new(sink));
        q.send(flow_alert(false));
        let r = q.close(Duration::from_secs(10));
        assert_eq!((r.delivered, r.failed, r.retries), (1, 0, 2), "{r:?}");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        let body: serde_json::Value = serde_json::from_str(&seen[2].1).unwrap();
        assert_eq!(body["event_type"], "alert");
    }

    #[test]
    fn webhook_posts_incident_events_as_json() {
        let (url, seen) = server(vec![]);
        let sink = WebhookSink::new(
            HttpPoster::new(&url, vec![], fast()).unwrap(),
            WebhookFormat::Json,
        );
        let q = Queue::spawn("webhook", 8, 1, Box::new(sink));
        let (opened, closed) = sample_incident();
        q.send(WatchEvent::Incident(Arc::new(opened)));
        q.send(WatchEvent::Incident(Arc::new(closed)));
        // A flow has no webhook body: skipped, not posted.
        q.send(WatchEvent::Flow(Arc::new(sample_classified())));
        let r = q.close(Duration::from_secs(10));
        assert_eq!((r.delivered, r.failed), (3, 0), "{r:?}");
        let seen = seen.lock().unwrap();
        let bodies: Vec<serde_json::Value> = seen
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0]["type"], "incident.opened");
        assert_eq!(bodies[1]["type"], "incident.closed");
        assert_eq!(bodies[0]["incident"]["id"], bodies[1]["incident"]["id"]);
        assert_eq!(bodies[1]["source"], "watch:eth0");
    }

    #[test]
    fn forward_sends_batches_with_the_bearer_token_and_does_not_retry_401() {
        let (url, seen) = server(vec![200, 401]);
        let base = url.trim_end_matches("/hook").to_string();
        let sink = ForwardSink::new(&base, Some("sekrit-token-0123456789"), fast()).unwrap();
        let q = Queue::spawn("forward", 8, 100, Box::new(sink));
        q.send(flow_alert(true));
        // Wait for the first request before offering the next alert, so the two are distinct.
        let t = std::time::Instant::now();
        while seen.lock().unwrap().is_empty() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        q.send(flow_alert(false));
        let r = q.close(Duration::from_secs(10));
        let seen = seen.lock().unwrap();
        assert!(seen[0].0.starts_with("POST /api/alerts "), "{}", seen[0].0);
        assert!(seen[0]
            .0
            .to_ascii_lowercase()
            .contains("authorization: bearer sekrit-token-0123456789"));
        let first: Vec<mlids_model::alert::Alert> = serde_json::from_str(&seen[0].1).unwrap();
        assert_eq!(first.len(), 1, "a JSON array of alerts");
        assert_eq!(seen.len(), 2);
        assert_eq!(
            (r.delivered, r.failed, r.retries),
            (1, 1, 0),
            "401 is not retried: {r:?}"
        );
        assert!(r.last_error.unwrap().contains("HTTP 401"));
    }

    #[test]
    fn forward_posts_incidents_to_api_incidents_and_alerts_to_api_alerts() {
        let (url, seen) = server(vec![]);
        let base = url.trim_end_matches("/hook").to_string();
        let mut sink = ForwardSink::new(&base, Some("sekrit-token-0123456789"), fast()).unwrap();
        let (opened, closed) = sample_incident();
        let id = opened.incident.id.clone();
        let ctl = Control::detached();
        // One batch as the queue hands it over: incident events, alerts and a flow interleaved.
        let batch = [
            WatchEvent::Incident(Arc::new(opened)),
            flow_alert(false),
            WatchEvent::Flow(Arc::new(sample_classified())),
            WatchEvent::Incident(Arc::new(closed)),
            flow_alert(true),
        ];
        assert_eq!(sink.consume(&batch, &ctl), Ok(()));
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "one request per endpoint: {seen:?}");
        for (head, _) in seen.iter() {
            assert!(
                head.to_ascii_lowercase()
                    .contains("authorization: bearer sekrit-token-0123456789"),
                "{head}"
            );
        }
        let (head, body) = &seen[0];
        assert!(head.starts_with("POST /api/incidents "), "{head}");
        // The lines `watch --incidents` writes, in order: what POST /api/incidents takes.
        let events: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["incident.opened", "incident.closed"]);
        assert!(events.iter().all(|e| e["incident"]["id"] == id.as_str()));
        assert_eq!(events[0]["source"], "watch:eth0");
        assert_eq!(events[1]["incident"]["open"], false);
        let (head, body) = &seen[1];
        assert!(head.starts_with("POST /api/alerts "), "{head}");
        let alerts: Vec<mlids_model::alert::Alert> = serde_json::from_str(body).unwrap();
        assert_eq!(alerts.len(), 2);
    }

    #[test]
    fn forward_posts_nothing_for_a_batch_of_flows_and_reports_a_refused_incident_batch() {
        let (url, seen) = server(vec![422]);
        let base = url.trim_end_matches("/hook").to_string();
        let mut sink = ForwardSink::new(&base, None, fast()).unwrap();
        let ctl = Control::detached();
        let flows = [WatchEvent::Flow(Arc::new(sample_classified()))];
        assert_eq!(sink.consume(&flows, &ctl), Ok(()));
        assert!(seen.lock().unwrap().is_empty(), "flows are not forwarded");
        // A 422 will not fix itself: not retried, and the alerts of the batch still go.
        let (opened, _) = sample_incident();
        let batch = [WatchEvent::Incident(Arc::new(opened)), flow_alert(false)];
        let err = sink.consume(&batch, &ctl).unwrap_err();
        assert!(err.contains("/api/incidents answered HTTP 422"), "{err}");
        let seen = seen.lock().unwrap();
        let heads: Vec<&str> = seen
            .iter()
            .map(|(h, _)| h.lines().next().unwrap())
            .collect();
        assert_eq!(heads.len(), 2, "{heads:?}");
        assert!(
            heads[0].starts_with("POST /api/incidents ")
                && heads[1].starts_with("POST /api/alerts ")
        );
    }

    #[test]
    fn line_sinks_write_one_json_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        std::fs::write(&path, "{\"earlier\":1}\n").unwrap();
        let sink = LineSink::new(open_append(&path).unwrap(), LineFormat::Eve);
        let q = Queue::spawn("eve", 8, 64, Box::new(sink));
        let (opened, closed) = sample_incident();
        q.send(WatchEvent::Incident(Arc::new(opened)));
        q.send(flow_alert(true));
        q.send(WatchEvent::Flow(Arc::new(sample_classified())));
        q.send(WatchEvent::Incident(Arc::new(closed)));
        let r = q.close(Duration::from_secs(5));
        assert_eq!(r.delivered, 4);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "appended, not truncated");
        let types: Vec<String> = lines[1..]
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["event_type"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(types, ["alert", "alert", "flow", "ml_ids_incident"]);
    }

    #[test]
    fn each_line_format_renders_its_own_events_and_skips_the_rest() {
        let (opened, _) = sample_incident();
        let incident = WatchEvent::Incident(Arc::new(opened));
        let flow = WatchEvent::Flow(Arc::new(sample_classified()));
        let alert = flow_alert(false);
        let mut line = Vec::new();
        let mut renders = |f, ev: &WatchEvent| render(f, ev, &mut line).unwrap();
        assert!(renders(LineFormat::Readable, &incident));
        assert!(renders(LineFormat::Readable, &alert));
        assert!(!renders(LineFormat::Readable, &flow));
        assert!(renders(LineFormat::Alert, &alert));
        assert!(!renders(LineFormat::Alert, &incident));
        assert!(renders(LineFormat::Incident, &incident));
        assert!(!renders(LineFormat::Incident, &alert));
        assert!(renders(LineFormat::Eve, &flow));
    }
}
