//! `GET /p/{code}/qr.svg`: the approval link as a QR code, only while it can be approved.

use crate::bridge_on_both_engines;
use crate::helpers::BridgeApp;
use axum::http::StatusCode;
use serde_json::json;

async fn the_qr_code_is_an_svg_cached_privately_for_the_intents_remaining_life(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({ "expires_in_minutes": 10 })).await;
    let intent = app.intent_status(&m, &id).await;
    assert_eq!(intent["next_action"]["qr_code_url"], format!("https://pay.example.test/p/{code}/qr.svg"));
    let page = app.page(&format!("/p/{code}/qr.svg"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "image/svg+xml");
    assert_eq!(page.headers["cache-control"], "private, max-age=600");
    assert!(page.html.starts_with("<?xml"), "{}", &page.html[..80.min(page.html.len())]);
    assert!(page.html.contains("<svg") && page.html.trim_end().ends_with("</svg>"));
    // Drawn dark modules: a real code, not an empty frame.
    assert!(page.html.matches('M').count() > 100);
    // Opening the image is not a scan.
    let events = app.core.get(&m.sk, "/v1/events?type=payment_intent.scanned").await;
    assert_eq!(events.body["data"].as_array().map(Vec::len), Some(0));
}

async fn the_qr_code_is_gone_once_the_intent_ends(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    app.core.approve(&m.sk, &id, "4242424242424242").await;
    let reply = app.get("", &format!("/p/{code}/qr.svg")).await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert_eq!(reply.code(), "approval_link_expired", "{}", reply.raw);

    let (_, late) = app.intent(&m, json!({})).await;
    app.core.clock.advance_minutes(16);
    let reply = app.get("", &format!("/p/{late}/qr.svg")).await;
    assert_eq!(reply.status, StatusCode::GONE, "past its deadline, even before the sweep");
}

async fn an_unknown_code_has_no_qr_code(app: BridgeApp) {
    for path in [format!("/p/{}/qr.svg", "B".repeat(32)), "/p/short/qr.svg".into()] {
        let reply = app.get("", &path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.code(), "resource_missing", "{}", reply.raw);
    }
}

bridge_on_both_engines!(
    the_qr_code_is_an_svg_cached_privately_for_the_intents_remaining_life,
    the_qr_code_is_gone_once_the_intent_ends,
    an_unknown_code_has_no_qr_code,
);
