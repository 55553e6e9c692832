//! What the customer side writes to the logs: request spans name the route template, never the
//! approval code in the path, and no password or token appears.

use crate::core_helpers::CapturedLogs;
use crate::helpers::{BridgeApp, PASSWORD};
use axum::http::StatusCode;
use serde_json::json;

crate::bridge_on_both_engines!(request_logs_name_the_route_never_the_approval_code_or_credentials);

async fn request_logs_name_the_route_never_the_approval_code_or_credentials(app: BridgeApp) {
    let m = app.merchant().await;
    let (_, code) = app.intent(&m, json!({})).await;

    // The test's own thread runs the router's future, so its spans and events land here.
    let (logs, _guard) = CapturedLogs::start();

    assert_eq!(app.page(&format!("/p/{code}"), &[]).await.status, StatusCode::OK);
    assert_eq!(app.page(&format!("/p/{code}/qr.svg"), &[]).await.status, StatusCode::OK);
    let phone = app.sign_up("logs@example.com").await;
    let signed_in = app.post("", "/wallet/v1/sessions", json!({ "identifier": "logs@example.com", "password": PASSWORD })).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.raw);
    let view = app.get("", &format!("/wallet/v1/approvals/{code}")).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.raw);
    let approved = app
        .post(&phone.access_token, &format!("/wallet/v1/approvals/{code}/approve"), json!({ "funding_source": "card_test_visa" }))
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.raw);

    let written = logs.text();
    for route in ["/p/{code}", "/p/{code}/qr.svg", "/wallet/v1/approvals/{code}", "/wallet/v1/approvals/{code}/approve"] {
        assert!(written.contains(&format!("route=\"{route}\"")), "no span names {route}:\n{written}");
    }
    for secret in [code.as_str(), PASSWORD, "logs@example.com", &phone.access_token, &phone.refresh_token] {
        assert!(!written.contains(secret), "the logs carry {secret}:\n{written}");
    }
}
