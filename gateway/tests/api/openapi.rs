//! The committed OpenAPI document is what the code generates; the docs page works offline.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{Request, StatusCode};

#[test]
fn the_committed_openapi_spec_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json")).expect("openapi/openapi.json exists");
    let generated = gateway::api::docs::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -q -- openapi > openapi/openapi.json` and commit it"
    );
}

#[test]
fn every_error_code_the_apis_can_return_is_documented_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md exists");
    // The gateway's codes and the customer side's (the wallet API shares the error shape).
    let gateway = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let bridge = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../mobile-bridge/src"));
    let mut missing = Vec::new();
    for code in error_codes_in(gateway).into_iter().chain(error_codes_in(bridge)) {
        if !readme.contains(&format!("`{code}`")) {
            missing.push(code);
        }
    }
    assert!(missing.is_empty(), "error codes missing from README.md: {missing:?}");
}

/// Error codes are the string literals passed as codes in the API and domain layers.
fn error_codes_in(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut codes = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            codes.extend(error_codes_in(&path));
            continue;
        }
        // Calls are often spread over lines: compare with all whitespace removed (codes have none).
        let text: String = std::fs::read_to_string(&path).unwrap().split_whitespace().collect();
        for pattern in ["ApiError::new(StatusCode::", "Self::new(StatusCode::", "ApiError::bad_request(", "ValidationError::new("] {
            for chunk in text.split(pattern).skip(1) {
                let literal = chunk.split('"').nth(1).unwrap_or_default();
                if !literal.is_empty() && literal.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    codes.insert(literal.to_owned());
                }
            }
        }
    }
    codes
}

#[tokio::test]
async fn the_spec_and_the_docs_page_are_served_without_any_external_asset() {
    let app = TestApp::sqlite().await;
    let spec = app.send(Request::get("/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert_eq!(spec.body["info"]["title"], "Paygate API");
    assert!(spec.body["paths"]["/v1/payment_intents"]["post"].is_object());

    let page = app.send(Request::get("/docs").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    let assets = [
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui-standalone-preset.js",
        "/docs/assets/swagger-ui.css",
        "/docs/assets/init.js",
    ];
    for asset in assets {
        assert!(page.raw.contains(asset), "{asset}");
        let served = app.send(Request::get(asset).body(Body::empty()).unwrap()).await;
        assert_eq!(served.status, StatusCode::OK, "{asset}");
        assert!(served.raw.len() > 100, "{asset}");
    }
    assert!(!page.raw.contains("http://") && !page.raw.contains("https://"), "no CDN or external URL in the docs page");

    // Swagger UI offers both specs (the wallet one is served by the mobile bridge's router) and
    // loads nothing from elsewhere: no online validator badge.
    let init = app.send(Request::get("/docs/assets/init.js").body(Body::empty()).unwrap()).await;
    for spec in ["{ url: '/openapi.json', name: 'Merchant API' }", "{ url: '/wallet/v1/openapi.json', name: 'Wallet API' }", "validatorUrl: null"] {
        assert!(init.raw.contains(spec), "init.js lacks {spec}: {}", init.raw);
    }
    assert!(!init.raw.contains("http://") && !init.raw.contains("https://"), "no external URL in init.js");
}
