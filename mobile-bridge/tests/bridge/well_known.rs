//! App-link files: the iOS and Android apps claim `/p/` links through them.

use crate::helpers::{BridgeApp, Engine, TestApp};
use axum::http::StatusCode;
use mobile_bridge::BridgeSettings;
use serde_json::{json, Value};

async fn json_file(app: &BridgeApp, path: &str) -> Value {
    let page = app.page(path, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{path} answers directly, no redirect");
    assert_eq!(page.headers["content-type"], "application/json", "{path}");
    serde_json::from_str(&page.html).unwrap()
}

#[tokio::test]
async fn the_app_link_files_name_the_configured_apps() {
    let settings = BridgeSettings {
        apple_app_ids: vec!["ABCDE12345.dev.paygate.wallet".into()],
        android_cert_fingerprints: vec!["14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5".into()],
        ..BridgeSettings::default()
    };
    let app = BridgeApp::over(TestApp::on(Engine::Sqlite).await, settings.clone());
    assert_eq!(
        json_file(&app, "/.well-known/apple-app-site-association").await,
        json!({ "applinks": { "details": [{ "appIDs": ["ABCDE12345.dev.paygate.wallet"], "components": [{ "/": "/p/*" }] }] } })
    );
    assert_eq!(
        json_file(&app, "/.well-known/assetlinks.json").await,
        json!([{
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {
                "namespace": "android_app",
                "package_name": "dev.paygate.wallet",
                "sha256_cert_fingerprints": settings.android_cert_fingerprints,
            }
        }])
    );
}

#[tokio::test]
async fn the_app_link_files_are_empty_but_valid_when_no_app_is_configured() {
    let app = BridgeApp::on(Engine::Sqlite).await;
    assert_eq!(json_file(&app, "/.well-known/apple-app-site-association").await, json!({ "applinks": { "details": [] } }));
    assert_eq!(json_file(&app, "/.well-known/assetlinks.json").await, json!([]));
}
