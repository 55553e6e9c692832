//! The wallet API's OpenAPI document: the committed copy is what the code generates, the
//! server serves that copy, it lists every route of the wallet API, and the docs page offers it.

use crate::helpers::{BridgeApp, Engine};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/wallet.json");

/// Every route of the wallet JSON API, and whether it needs an access token.
const WALLET_ROUTES: &[(&str, &str, bool)] = &[
    ("post", "/wallet/v1/customers", false),
    ("post", "/wallet/v1/sessions", false),
    ("post", "/wallet/v1/sessions/refresh", false),
    ("post", "/wallet/v1/sessions/revoke", false),
    ("get", "/wallet/v1/me", true),
    ("get", "/wallet/v1/funding_sources", true),
    ("post", "/wallet/v1/wallets/{id}/top_ups", true),
    ("get", "/wallet/v1/payments", true),
    ("get", "/wallet/v1/approvals/{code}", false),
    ("post", "/wallet/v1/approvals/{code}/approve", true),
    ("post", "/wallet/v1/approvals/{code}/decline", true),
];

fn committed() -> String {
    std::fs::read_to_string(COMMITTED).expect("openapi/wallet.json exists")
}

#[test]
fn the_committed_wallet_openapi_spec_matches_the_code() {
    let generated = mobile_bridge::api::docs::wallet_openapi_json();
    assert!(
        committed() == generated,
        "openapi/wallet.json is stale: run `cargo run -q -- openapi --wallet > openapi/wallet.json` and commit it"
    );
}

#[tokio::test]
async fn the_served_wallet_spec_is_the_committed_one_and_lists_every_route() {
    let app = BridgeApp::on(Engine::Sqlite).await;
    let served = app.send_raw(Request::get("/wallet/v1/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "application/json");
    let bytes = axum::body::to_bytes(served.into_body(), usize::MAX).await.unwrap();
    assert!(bytes == committed().as_bytes(), "/wallet/v1/openapi.json differs from openapi/wallet.json");

    let spec: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(spec["info"]["title"], "Paygate Wallet API");
    let scheme = &spec["components"]["securitySchemes"]["access_token"];
    assert_eq!((scheme["type"].as_str(), scheme["scheme"].as_str(), scheme["bearerFormat"].as_str()), (Some("http"), Some("bearer"), Some("JWT")));
    for schema in ["ErrorBody", "ErrorDetail", "Customer", "SessionBody", "SignUpBody", "SignInBody", "RefreshBody"] {
        assert!(spec["components"]["schemas"][schema].is_object(), "schema {schema} missing");
    }

    let mut documented = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    let mut expected: Vec<(String, String)> = WALLET_ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected, "the spec's operations are exactly the wallet API's routes");

    for &(method, path, signed_in) in WALLET_ROUTES {
        let op = &spec["paths"][path][method];
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path} has no tag");
        let security = op["security"].as_array().cloned().unwrap_or_default();
        assert_eq!(security.iter().any(|s| s.get("access_token").is_some()), signed_in, "{method} {path}: security");
        if signed_in {
            assert!(op["responses"]["401"].is_object(), "{method} {path}: 401 undocumented");
        }

        // The route is really there: the router answers it with something else than "no such route".
        let uri = path.replace("{id}", "wal_missing").replace("{code}", "missing");
        let req = Request::builder().method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap()).uri(&uri);
        let reply = app.send(req.header("content-type", "application/json").body(Body::from("{}")).unwrap()).await;
        assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_ne!(reply.code(), "route_not_found", "{method} {uri}");
    }
}

#[test]
fn every_account_answer_is_documented_with_its_error_codes() {
    let spec: Value = serde_json::from_str(&committed()).unwrap();
    let params = ["parameter_missing", "parameter_unknown", "parameter_invalid", "invalid_json", "body_not_object"];
    // (method, path, [(status, error codes its description names)])
    type Answers = &'static [(&'static str, &'static [&'static str])];
    let table: &[(&str, &str, Answers)] = &[
        ("post", "/wallet/v1/customers", &[
            ("201", &[]),
            ("400", &["identifier_required", "email_invalid", "phone_invalid", "password_too_short", "password_too_long"]),
            ("409", &["identifier_taken"]),
            ("413", &["body_too_large"]),
            ("415", &["unsupported_media_type"]),
            ("500", &["internal_error"]),
            ("503", &["database_unavailable"]),
        ]),
        ("post", "/wallet/v1/sessions", &[
            ("200", &[]),
            ("400", &["identifier_required", "email_invalid", "phone_invalid"]),
            ("401", &["invalid_credentials"]),
            ("413", &["body_too_large"]),
            ("415", &["unsupported_media_type"]),
            ("423", &["account_locked"]),
            ("429", &["rate_limited"]),
            ("500", &["internal_error"]),
            ("503", &["database_unavailable"]),
        ]),
        ("post", "/wallet/v1/sessions/refresh", &[
            ("200", &[]),
            ("400", &[]),
            ("401", &["refresh_token_invalid", "refresh_token_reused"]),
            ("413", &["body_too_large"]),
            ("415", &["unsupported_media_type"]),
            ("500", &["internal_error"]),
            ("503", &["database_unavailable"]),
        ]),
        ("post", "/wallet/v1/sessions/revoke", &[
            ("204", &[]),
            ("400", &[]),
            ("413", &["body_too_large"]),
            ("415", &["unsupported_media_type"]),
            ("500", &["internal_error"]),
            ("503", &["database_unavailable"]),
        ]),
        ("get", "/wallet/v1/me", &[
            ("200", &[]),
            ("401", &["authentication_required", "token_invalid", "token_expired"]),
            ("404", &["resource_missing"]),
            ("500", &["internal_error"]),
            ("503", &["database_unavailable"]),
        ]),
    ];
    for &(method, path, answers) in table {
        let responses = spec["paths"][path][method]["responses"].as_object().unwrap_or_else(|| panic!("{method} {path} undocumented"));
        let mut statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        statuses.sort_unstable();
        let expected: Vec<&str> = answers.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, expected, "{method} {path}: documented statuses");
        for &(status, codes) in answers {
            let description = responses[status]["description"].as_str().unwrap_or_default();
            let codes = codes.iter().chain(if status == "400" { &params[..] } else { &[] });
            for code in codes {
                assert!(description.contains(code), "{method} {path} {status} does not name {code}: {description}");
            }
            if status.starts_with('4') {
                assert_eq!(responses[status]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody", "{method} {path} {status}");
            }
        }
    }
    let limited = &spec["paths"]["/wallet/v1/sessions"]["post"]["responses"]["429"];
    assert!(limited["headers"]["Retry-After"].is_object(), "429 documents Retry-After");
    for (key, schema) in [("SignUpBody", "password"), ("SignInBody", "password"), ("RefreshBody", "refresh_token")] {
        let field = &spec["components"]["schemas"][key]["properties"][schema];
        assert_eq!((field["type"].as_str(), field["format"].as_str()), (Some("string"), Some("password")), "{key}.{schema}");
    }
}

#[tokio::test]
async fn the_docs_page_offers_the_merchant_and_the_wallet_specs() {
    let app = BridgeApp::on(Engine::Sqlite).await;
    let init = app.send(Request::get("/docs/assets/init.js").body(Body::empty()).unwrap()).await;
    assert_eq!(init.status, StatusCode::OK);
    for (url, name, title) in [("/openapi.json", "Merchant API", "Paygate API"), ("/wallet/v1/openapi.json", "Wallet API", "Paygate Wallet API")] {
        assert!(init.raw.contains(&format!("{{ url: '{url}', name: '{name}' }}")), "init.js offers {name}: {}", init.raw);
        let spec = app.send(Request::get(url).body(Body::empty()).unwrap()).await;
        assert_eq!(spec.status, StatusCode::OK, "{url}");
        assert_eq!(spec.body["info"]["title"], title, "{url}");
    }
}

#[tokio::test]
async fn a_keyed_wallet_call_checks_the_token_before_the_key_and_answers_other_methods_405() {
    let app = BridgeApp::on(Engine::Sqlite).await;
    for path in ["/wallet/v1/approvals/missing/approve", "/wallet/v1/approvals/missing/decline", "/wallet/v1/wallets/wal_missing/top_ups"] {
        // No token and a malformed key: the missing token is what the client hears.
        let req = Request::post(path).header("idempotency-key", "has spaces").header("content-type", "application/json");
        let reply = app.send(req.body(Body::from("{}")).unwrap()).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::UNAUTHORIZED, "authentication_required"), "{path}: {}", reply.raw);
        // Another method: 405 with the methods the route takes, whatever the key.
        let req = Request::builder().method(Method::TRACE).uri(path).header("idempotency-key", "has spaces");
        let reply = app.send_raw(req.body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(reply.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"), "{path}");
    }
}
