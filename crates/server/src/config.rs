//! Server settings and their validation.

use std::net::SocketAddr;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind; loopback by default.
    pub bind: SocketAddr,
    /// Bearer token; required when `bind` is not a loopback address.
    pub token: Option<String>,
    /// Largest JSON/CSV request body for `/api/predictions` and `/api/alerts`.
    pub max_body_bytes: usize,
    /// Largest capture accepted by `/api/pcap` (the stream endpoint has no total limit).
    pub max_upload_bytes: u64,
    /// Flows listed in a pcap upload's response (the summary always counts all of them).
    pub max_response_flows: usize,
    /// Top contributing features attached to alerts and detailed predictions.
    pub explain_top: usize,
    /// An incident closes after this long (flow time, µs) without a new attack flow of its
    /// attacker and family.
    pub incident_timeout_us: i64,
    /// Connections served at once; more are closed on arrival. Below the usual 1,024 open-file
    /// limit, so descriptors remain for captures and the bus (the systemd units raise the limit).
    pub max_connections: usize,
    /// A client must send its request headers within this time (slow-header attacks).
    pub header_read_timeout: std::time::Duration,
    /// A socket read or write that makes no progress for this long closes the connection:
    /// silent connections, idle keep-alives, a stalled upload, a stream silent that long.
    pub idle_timeout: std::time::Duration,
    /// Captures (uploads and streams) ingested at once; more get 503.
    pub max_captures: usize,
    /// Memory that whole-body requests (predictions, alerts) may use at once, estimated from
    /// their sizes; more get 503. At least one largest request always fits.
    pub request_memory_bytes: usize,
    /// Host names (besides this host's loopback names) that requests may carry in `Host` and
    /// `Origin`: a reverse proxy's public name.
    pub allowed_hosts: Vec<String>,
    /// Alerts from and to the NATS JetStream bus (`--nats`); see [`crate::bus`].
    pub bus: Option<crate::bus::BusConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            max_body_bytes: 64 << 20,
            max_upload_bytes: 1 << 30,
            max_response_flows: 10_000,
            explain_top: 3,
            incident_timeout_us: mlids_incident::IncidentConfig::default().idle_timeout_us,
            allowed_hosts: Vec::new(),
            max_connections: 768,
            max_captures: 64,
            request_memory_bytes: 1 << 30,
            header_read_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(120),
            bus: None,
        }
    }
}

impl ServerConfig {
    /// Refuse settings that would expose the API without authentication.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.token {
            check_token(t)?;
        } else if !self.bind.ip().is_loopback() {
            return Err(format!(
                "binding {} exposes the API beyond this host: set a bearer token with --token or MLIDS_TOKEN",
                self.bind
            ));
        }
        if self.max_connections == 0 {
            return Err("max connections must be positive".into());
        }
        if self.max_body_bytes == 0 || self.max_upload_bytes == 0 {
            return Err("body limits must be positive".into());
        }
        Ok(())
    }
}

/// A token must be hard to guess: at least 16 characters, no whitespace or control characters
/// (they do not survive headers and URLs intact), and at least 8 distinct characters (so
/// `aaaaaaaaaaaaaaaa` or 16 spaces are refused). `openssl rand -hex 16` passes.
fn check_token(t: &str) -> Result<(), String> {
    if t.chars().count() < 16 {
        return Err("the token must be at least 16 characters".into());
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the token must not contain spaces or control characters".into());
    }
    let distinct: std::collections::BTreeSet<char> = t.chars().collect();
    if distinct.len() < 8 {
        return Err(format!(
            "the token has only {} distinct characters; use a random one, e.g. `openssl rand -hex 16`",
            distinct.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_needs_a_token() {
        let mut c = ServerConfig {
            bind: "0.0.0.0:8080".parse().unwrap(),
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("--token"));
        c.token = Some("short".into());
        assert!(c.validate().is_err());
        c.token = Some("0123456789abcdef".into());
        assert!(c.validate().is_ok());
        for weak in [
            "                ",
            "aaaaaaaaaaaaaaaa",
            "abababababababab",
            "0123456789 abcdef",
        ] {
            c.token = Some(weak.into());
            assert!(c.validate().is_err(), "{weak:?}");
        }
        assert!(ServerConfig::default().validate().is_ok());
    }
}
