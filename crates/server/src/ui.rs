//! The web UI: its files embedded in the binary (no CDN; it works offline). The page and app are
//! ours (`ui/`); the charting library, uPlot (MIT), is vendored unmodified in `ui/vendor/`.

use crate::error::ApiError;
use axum::extract::{Path, RawQuery};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use std::borrow::Cow;

const PAGE: &str = include_str!("../ui/index.html");

/// The page. Opened as `/?token=T` (a server with a token), its script and style URLs carry the
/// token too: a browser sends no `Authorization` header for them, and the token check covers
/// every route. (The request got here, so the token passed that check or none is configured.)
pub async fn index(RawQuery(query): RawQuery) -> Html<Cow<'static, str>> {
    Html(page_for(query.as_deref()))
}

fn page_for(query: Option<&str>) -> Cow<'static, str> {
    let token = query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Cow::Borrowed(PAGE);
    };
    // Keep it as it came (percent escapes included), escaping anything else so the value is
    // inert inside an HTML attribute and decodes to the same token.
    let mut enc = String::with_capacity(token.len());
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~%".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let mut page = PAGE.to_string();
    for (name, _, _) in ASSETS {
        page = page.replace(
            &format!("\"/ui/{name}\""),
            &format!("\"/ui/{name}?token={enc}\""),
        );
    }
    Cow::Owned(page)
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The embedded assets: name under `/ui/`, body, MIME type.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", include_str!("../ui/app.js"), JS),
    ("style.css", include_str!("../ui/style.css"), CSS),
    (
        "uplot.min.js",
        include_str!("../ui/vendor/uplot.min.js"),
        JS,
    ),
    (
        "uplot.min.css",
        include_str!("../ui/vendor/uplot.min.css"),
        CSS,
    ),
    (
        "uPlot-LICENSE",
        include_str!("../ui/vendor/uPlot-LICENSE"),
        "text/plain; charset=utf-8",
    ),
];

pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let Some(&(_, body, mime)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return Err(ApiError::NotFound(format!("no UI asset '{file}'")));
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_asset_is_served_with_its_type() {
        for (name, body, mime) in ASSETS {
            let r = asset(Path(name.to_string())).await.expect(name);
            assert_eq!(r.headers()[header::CONTENT_TYPE], *mime, "{name}");
            assert!(!body.is_empty(), "{name}");
        }
        assert!(asset(Path("nope.js".into())).await.is_err());
    }

    #[test]
    fn the_page_loads_the_vendored_chart_library() {
        assert!(PAGE.contains("\"/ui/uplot.min.js\"") && PAGE.contains("\"/ui/uplot.min.css\""));
        assert!(PAGE.contains("\"/ui/app.js\"") && PAGE.contains("\"/ui/style.css\""));
    }

    #[test]
    fn a_token_in_the_page_url_reaches_its_assets() {
        assert_eq!(page_for(None), PAGE);
        assert_eq!(page_for(Some("x=1")), PAGE);
        let p = page_for(Some("x=1&token=ab%2Bc\"<d"));
        assert!(p.contains("\"/ui/app.js?token=ab%2Bc%22%3Cd\""), "{p}");
        assert!(p.contains("\"/ui/uplot.min.js?token=ab%2Bc%22%3Cd\""));
        assert!(!p.contains("\"/ui/style.css\""));
    }
}
