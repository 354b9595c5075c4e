//! The API's contract as a whole: the OpenAPI document lists every route and method the router
//! serves (a new route without docs fails here), a wrong method is a 405 with an `Allow` header,
//! and every error, wherever it arises, is a JSON object with an `error` message.

mod common;

use common::*;
use mlids_server::ServerConfig;
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The methods probed on every route (HEAD and OPTIONS follow from these and are not documented).
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// A concrete URL path for a route pattern: `/ui/{file}` → an asset that exists, any other
/// `{param}` → `x` (a wrong method is a 405 whatever the parameter's value).
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match seg {
            "{file}" => "app.js",
            s if s.starts_with('{') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn openapi_methods(base: &str) -> BTreeMap<String, BTreeSet<String>> {
    let doc: Value = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, ops)| {
            let methods = ops
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The methods a path answers with anything but 405, asked of the running server.
async fn served_methods(base: &str, path: &str) -> BTreeSet<String> {
    let client = reqwest::Client::new();
    let mut served = BTreeSet::new();
    for m in METHODS {
        let r = client
            .request(m.clone(), format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        if r.status() != 405 {
            served.insert(m.to_string());
        }
    }
    served
}

#[tokio::test]
async fn openapi_documents_every_route_and_method_the_router_serves() {
    let s = start(ServerConfig::default()).await;
    let documented = openapi_methods(&s.base).await;
    let routes: BTreeSet<&str> = mlids_server::route_paths().collect();
    let undocumented: Vec<_> = routes
        .iter()
        .filter(|r| !documented.contains_key(**r))
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from crates/server/openapi.json: {undocumented:?}"
    );
    let phantom: Vec<_> = documented
        .keys()
        .filter(|p| !routes.contains(p.as_str()))
        .collect();
    assert!(phantom.is_empty(), "documented but not served: {phantom:?}");
    for route in routes {
        let served = served_methods(&s.base, &concrete(route)).await;
        assert_eq!(served, documented[route], "methods of {route}");
    }
}

/// The response's JSON `error` message, after checking the body is a JSON error object.
async fn json_error(r: reqwest::Response) -> String {
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    let v: Value = r.json().await.unwrap();
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {v}"))
        .to_string()
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_and_a_json_error() {
    let s = start(ServerConfig::default()).await;
    let client = reqwest::Client::new();
    let cases = [
        (Method::DELETE, "/api/predictions", "POST"),
        (Method::GET, "/invocations", "POST"),
        (Method::POST, "/healthz", "GET,HEAD"),
        (Method::PUT, "/api/alerts", "GET,HEAD,POST"),
        (Method::POST, "/ui/app.js", "GET,HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = client
            .request(method.clone(), format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers()["allow"], allow, "{method} {path}");
        let msg = json_error(r).await;
        assert!(
            msg.contains(method.as_str()) && msg.contains(allow),
            "{msg}"
        );
    }
}

#[tokio::test]
async fn every_error_is_a_json_object_with_an_error_message() {
    let token = "contract-token-0123456789";
    let s = start(ServerConfig {
        max_body_bytes: 1024,
        token: Some(token.into()),
        ..ServerConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let authed = |rb: reqwest::RequestBuilder| rb.bearer_auth(token);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("no token", client.get(url("/healthz")), 401),
        (
            "unknown path",
            authed(client.get(url("/no/such/path"))),
            404,
        ),
        ("unknown UI asset", authed(client.get(url("/ui/x.js"))), 404),
        (
            "path that is not UTF-8",
            authed(client.get(url("/ui/%FF"))),
            400,
        ),
        (
            "query parse error",
            authed(client.get(url("/api/alerts?min_probability=high"))),
            400,
        ),
        (
            "not a WebSocket upgrade",
            authed(client.get(url("/api/alerts"))),
            400,
        ),
        (
            "JSON syntax",
            authed(client.post(url("/api/alerts")).body("{\"time\":")),
            400,
        ),
        (
            "wrong content type",
            authed(
                client
                    .post(url("/api/predictions"))
                    .header("Content-Type", "text/plain")
                    .body("x"),
            ),
            415,
        ),
        (
            "body too large",
            authed(client.post(url("/api/alerts")).body(vec![b' '; 4096])),
            413,
        ),
        (
            "wrong method",
            authed(client.delete(url("/api/model"))),
            405,
        ),
    ];
    for (name, request, status) in cases {
        let r = request.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{name}");
        let msg = json_error(r).await;
        assert!(!msg.is_empty(), "{name}");
    }
}
