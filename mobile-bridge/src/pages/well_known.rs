//! App-link files: they let the wallet apps open `/p/` links themselves (iOS universal links,
//! Android App Links). Valid, and empty, when no app is configured.

use crate::Bridge;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

pub async fn apple_app_site_association(State(bridge): State<Arc<Bridge>>) -> Response {
    let ids = &bridge.settings.apple_app_ids;
    let details: Vec<Value> = if ids.is_empty() {
        Vec::new()
    } else {
        vec![json!({ "appIDs": ids, "components": [{ "/": "/p/*" }] })]
    };
    json_file(json!({ "applinks": { "details": details } }))
}

pub async fn assetlinks(State(bridge): State<Arc<Bridge>>) -> Response {
    let fingerprints = &bridge.settings.android_cert_fingerprints;
    let statements: Vec<Value> = if fingerprints.is_empty() {
        Vec::new()
    } else {
        vec![json!({
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {
                "namespace": "android_app",
                "package_name": bridge.services.app_links.android_package,
                "sha256_cert_fingerprints": fingerprints,
            }
        })]
    };
    json_file(Value::Array(statements))
}

/// Served as is (Apple fetches without following redirects), cacheable for an hour.
fn json_file(body: Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body.to_string(),
    )
        .into_response()
}
