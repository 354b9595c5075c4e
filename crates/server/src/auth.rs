//! Bearer-token authentication for every route, WebSockets included.
//!
//! Browsers cannot set headers on a WebSocket or a page load, so `?token=` is accepted as well. The
//! comparison is constant-time.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(expected) = state.config.token.as_deref() else {
        return next.run(req).await;
    };
    let from_header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_credentials)
        .map(str::to_string);
    let from_query = match query_token(req.uri().query()) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let ok = [from_header, from_query]
        .into_iter()
        .flatten()
        .any(|t| bool::from(t.as_bytes().ct_eq(expected.as_bytes())));
    if ok {
        next.run(req).await
    } else {
        ApiError::Unauthorized(
            "missing or wrong bearer token (Authorization: Bearer TOKEN, or ?token=TOKEN)".into(),
        )
        .into_response()
    }
}

/// The credentials of `Authorization: Bearer …`; the scheme is case-insensitive (RFC 9110 §11.1).
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_start())
}

/// The `token` query parameter. Given twice, the request is refused: which one a proxy, a log
/// or this server reads would differ, so neither is trusted.
fn query_token(query: Option<&str>) -> Result<Option<String>, ApiError> {
    let mut found = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|kv| kv.strip_prefix("token="));
    let first = found.next().map(percent_decode);
    if found.next().is_some() {
        return Err(ApiError::BadRequest(
            "the token parameter is given more than once".into(),
        ));
    }
    Ok(first)
}

/// Minimal %XX decoding for the token query parameter.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn bearer_scheme_is_case_insensitive_and_repeated_tokens_are_refused() {
        assert_eq!(super::bearer_credentials("Bearer abc"), Some("abc"));
        assert_eq!(super::bearer_credentials("BEARER abc"), Some("abc"));
        assert_eq!(super::bearer_credentials("bEaReR  abc"), Some("abc"));
        assert_eq!(super::bearer_credentials("Basic abc"), None);
        assert_eq!(super::bearer_credentials("Bearer"), None);
        assert_eq!(
            super::query_token(Some("a=1&token=x%2By")).unwrap(),
            Some("x+y".into())
        );
        assert!(super::query_token(Some("token=wrong&token=right")).is_err());
        assert_eq!(super::query_token(None).unwrap(), None);
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(super::percent_decode("a%2Bb%3D"), "a+b=");
        assert_eq!(super::percent_decode("plain"), "plain");
        assert_eq!(super::percent_decode("bad%zz%"), "bad%zz%");
        assert_eq!(super::percent_decode("é%é"), "é%é");
    }
}
