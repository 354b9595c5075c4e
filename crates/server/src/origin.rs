//! Cross-site safety for the default, tokenless setup, and the browser security headers.
//!
//! Without a token, any web page the user visits could otherwise reach the loopback server:
//! `POST /api/alerts` with `Content-Type: text/plain` needs no CORS preflight, a WebSocket may be
//! opened from any origin, and DNS rebinding makes `attacker.example` resolve to 127.0.0.1. So:
//! - on a loopback bind, the `Host` header must name this host (`localhost`, `127.0.0.1`, `[::1]`,
//!   any port) or one of `--allow-host` (for a reverse proxy): a rebound name is refused;
//! - a request that changes state (any method but GET/HEAD/OPTIONS) or opens a WebSocket, and
//!   carries an `Origin`, must come from the server's own origin (same host and port as `Host`) or
//!   an allowed host; clients that send no `Origin` (curl, Python, the seed's client) are unaffected;
//! - every response says `nosniff`, may not be framed, and the UI runs under a CSP that allows only
//!   its own scripts and connections.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The UI's Content-Security-Policy: its own scripts, styles (inline style attributes allowed:
/// the charting library positions elements that way), images and connections (WebSocket
/// included); no framing, no plugins, no foreign forms.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn same_origin_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Err(e) = check(&state, &req) {
        return e.into_response();
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn check(state: &AppState, req: &Request) -> Result<(), ApiError> {
    let allowed = &state.config.allowed_hosts;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if state.config.bind.ip().is_loopback() {
        if let Some(h) = host.as_deref() {
            if !is_loopback_name(host_name(h)) && !allowed.iter().any(|a| a == host_name(h)) {
                return Err(ApiError::Forbidden(format!(
                    "Host '{h}' is not this server (a DNS-rebinding page?); serve --allow-host NAME lets a proxy's name in"
                )));
            }
        }
    }
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let websocket = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !(changes_state || websocket) {
        return Ok(());
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("").to_ascii_lowercase();
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    let same = host.as_deref().is_some_and(|h| h == origin_host)
        || allowed.iter().any(|a| a == host_name(origin_host));
    if same && !origin_host.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "cross-site request refused: Origin '{origin}' is not this server's; requests that change state or open a WebSocket must come from its own pages (or omit Origin)"
        )))
    }
}

/// `name` of `name:port`, `[v6]:port` or `name`.
fn host_name(h: &str) -> &str {
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match h.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => h,
    }
}

fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_loopback() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("localhost"), "localhost");
        assert!(is_loopback_name("localhost"));
        assert!(is_loopback_name("127.0.0.2"));
        assert!(is_loopback_name("::1"));
        assert!(!is_loopback_name("attacker.example"));
        assert!(!is_loopback_name("127.0.0.1.nip.io"));
    }
}
