//! What a checkout page (the web SDK) may see of an intent: its status read with the publishable
//! key and the client secret, the same public view on its event stream, and the `return_url`
//! that brings a phone back to the merchant.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{TestApp, TestMerchant};
use crate::on_both_engines;
use crate::sse_client::SseClient;
use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

on_both_engines!(
    the_publishable_key_and_client_secret_read_only_the_public_part_of_the_intent,
    the_status_read_refuses_a_wrong_secret_a_missing_secret_and_another_merchants_key,
    the_status_read_answers_any_origin_and_its_preflight,
    a_publishable_key_still_gets_secret_key_required_everywhere_else,
    the_intent_stream_carries_the_public_view_of_the_intent,
    a_return_url_is_kept_on_the_intent_and_a_bad_one_is_refused,
    the_intent_stream_resumes_after_the_event_named_in_its_query,
    the_sdks_state_machine_follows_the_real_stream_to_the_outcome,
    the_sdk_is_served_with_its_content_types_caching_and_cors,
);

/// The fields a publishable key may see, and nothing else.
const PUBLIC_FIELDS: [&str; 12] = [
    "id", "object", "livemode", "status", "amount", "currency", "order_name", "confirm_mode", "next_action", "failure_code",
    "failure_message", "created_at",
];

async fn created(app: &TestApp, m: &TestMerchant) -> (String, String) {
    let reply = app
        .post(&m.sk, "/v1/payment_intents", json!({
            "amount": 12000, "currency": "KRW", "merchant_order_id": "order-77", "order_name": "Beans",
            "customer_name": "Kim Minji", "customer_email": "minji@example.com", "metadata": {"ref": "A-1"},
            "return_url": "https://shop.example.com/orders/77/return",
        }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    (reply.id(), reply.body["client_secret"].as_str().unwrap().to_owned())
}

fn read_path(id: &str, secret: &str) -> String {
    format!("/v1/payment_intents/{id}?client_secret={secret}")
}

fn keys_of(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn public_keys() -> Vec<String> {
    let mut keys: Vec<String> = PUBLIC_FIELDS.iter().map(|k| (*k).to_owned()).chain(["expires_at".to_owned()]).collect();
    keys.sort();
    keys
}

async fn the_publishable_key_and_client_secret_read_only_the_public_part_of_the_intent(app: TestApp) {
    let m = app.merchant().await;
    let (id, secret) = created(&app, &m).await;
    let public = app.get(&m.pk, &read_path(&id, &secret)).await;
    assert_eq!(public.status, 200, "{}", public.raw);
    assert_eq!(keys_of(&public.body), public_keys());
    assert_eq!(public.body["status"], "requires_action");
    assert_eq!(public.body["amount"], 12000);
    assert!(public.body["next_action"]["url"].as_str().unwrap().contains("/p/"));
    for private in ["Kim Minji", "minji@example.com", "order-77", "A-1", "shop.example.com"] {
        assert!(!public.raw.contains(private), "{private} must not reach the checkout: {}", public.raw);
    }
    // The secret key still reads all of it, with or without a client secret.
    let full = app.get(&m.sk, &read_path(&id, &secret)).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.body["customer_name"], "Kim Minji");
    assert_eq!(full.body["return_url"], "https://shop.example.com/orders/77/return");

    let approved = app.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approved.body["status"], "succeeded");
    let after = app.get(&m.pk, &read_path(&id, &secret)).await;
    assert_eq!(after.body["status"], "succeeded");
    assert!(after.body["next_action"].is_null());
}

async fn the_status_read_refuses_a_wrong_secret_a_missing_secret_and_another_merchants_key(app: TestApp) {
    let m = app.merchant().await;
    let other = app.merchant().await;
    let (id, secret) = created(&app, &m).await;
    let (other_id, other_secret) = created(&app, &m).await;
    let cases = [
        (m.pk.clone(), read_path(&id, &other_secret), 401, "client_secret_invalid"),
        (m.pk.clone(), read_path(&id, &format!("{id}_secret_0000000000000000000000000000000000000000")), 401, "client_secret_invalid"),
        (m.pk.clone(), read_path(&id, "nonsense"), 401, "client_secret_invalid"),
        (m.pk.clone(), format!("/v1/payment_intents/{id}"), 400, "parameter_missing"),
        (m.pk.clone(), format!("/v1/payment_intents/{id}?client_secret="), 400, "parameter_invalid"),
        (m.sk.clone(), format!("/v1/payment_intents/{id}?client_secret={}", "x".repeat(201)), 400, "parameter_invalid"),
        (other.pk.clone(), read_path(&id, &secret), 404, "resource_missing"),
        ("pk_test_0000000000000000000000000000000000000000000000000000000000000000".to_owned(), read_path(&id, &secret), 401, "invalid_api_key"),
        (m.pk.clone(), read_path("pi_nope", &secret), 400, "invalid_id"),
    ];
    for (key, path, status, code) in cases {
        let reply = app.get(&key, &path).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (status, code), "{path}: {}", reply.raw);
        assert!(!reply.raw.contains(&secret) && !reply.raw.contains(&other_secret), "nothing secret echoed");
    }
    assert_eq!(app.get(&m.pk, &read_path(&other_id, &other_secret)).await.status, 200);
}

async fn the_status_read_answers_any_origin_and_its_preflight(app: TestApp) {
    let m = app.merchant().await;
    let (id, secret) = created(&app, &m).await;
    let preflight = app
        .send(
            Request::options(read_path(&id, &secret))
                .header("origin", "https://shop.example")
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(preflight.status.is_success(), "preflight: {} {}", preflight.status, preflight.raw);
    let base = app.serve().await;
    let bearer = format!("Bearer {}", m.pk);
    let reply = SseClient::open(&base, &read_path(&id, &secret), &[("origin", "https://shop.example"), ("authorization", &bearer)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
}

async fn a_publishable_key_still_gets_secret_key_required_everywhere_else(app: TestApp) {
    let m = app.merchant().await;
    let (id, _) = created(&app, &m).await;
    for path in ["/v1/payment_intents", "/v1/refunds", "/v1/events", "/v1/transactions"] {
        let reply = app.get(&m.pk, path).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (403, "secret_key_required"), "{path}");
    }
    let cancel = app.post(&m.pk, &format!("/v1/payment_intents/{id}/cancel"), json!({})).await;
    assert_eq!((cancel.status.as_u16(), cancel.code()), (403, "secret_key_required"));
    let created = app.post(&m.pk, "/v1/payment_intents", json!({"amount": 1})).await;
    assert_eq!((created.status.as_u16(), created.code()), (403, "secret_key_required"));
}

async fn the_intent_stream_carries_the_public_view_of_the_intent(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let (id, secret) = created(&app, &m).await;
    app.approve(&m.sk, &id, "4242424242424242").await;
    let path = format!("/v1/payment_intents/{id}/events?client_secret={secret}&key={}", m.pk);
    let mut client = SseClient::open(&base, &path, &[]).await;
    assert_eq!(client.status, 200);
    let mut seen = Vec::new();
    while let Some(frame) = client.next_event().await {
        let event = frame.json();
        assert_eq!(keys_of(&event["data"]), public_keys(), "{event}");
        assert!(!frame.data.contains("Kim Minji") && !frame.data.contains("order-77"), "{}", frame.data);
        seen.push(event["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.last().map(String::as_str), Some("payment_intent.succeeded"));
}

async fn a_return_url_is_kept_on_the_intent_and_a_bad_one_is_refused(app: TestApp) {
    let m = app.merchant().await;
    let local = app.fake_intent(&m.sk).with(json!({"return_url": "http://localhost:8081/orders/1/return"})).create().await;
    assert_eq!(app.get(&m.sk, &format!("/v1/payment_intents/{local}")).await.body["return_url"], "http://localhost:8081/orders/1/return");
    let none = app.fake_intent(&m.sk).create().await;
    assert!(app.get(&m.sk, &format!("/v1/payment_intents/{none}")).await.body["return_url"].is_null());
    for bad in ["http://shop.example.com/return", "javascript:alert(1)", "/relative", "https://u:p@shop.example.com/"] {
        let body = app.fake_intent(&m.sk).with(json!({"return_url": bad})).body();
        let reply = app.post(&m.sk, "/v1/payment_intents", body).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (400, "return_url_invalid"), "{bad}: {}", reply.raw);
        assert_eq!(reply.body["error"]["param"], "return_url");
    }
}

async fn the_intent_stream_resumes_after_the_event_named_in_its_query(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let (id, secret) = created(&app, &m).await;
    app.approve(&m.sk, &id, "4242424242424242").await;
    let path = format!("/v1/payment_intents/{id}/events?client_secret={secret}&key={}", m.pk);
    let mut all = SseClient::open(&base, &path, &[]).await;
    let mut ids = Vec::new();
    while let Some(frame) = all.next_event().await {
        ids.push(frame.id.unwrap());
    }
    assert!(ids.len() >= 3, "{ids:?}");
    let mut resumed = SseClient::open(&base, &format!("{path}&last_event_id={}", ids[0]), &[]).await;
    let mut after = Vec::new();
    while let Some(frame) = resumed.next_event().await {
        after.push(frame.id.unwrap());
    }
    assert_eq!(after, ids[1..].to_vec());
    // The header wins over the query.
    let mut both = SseClient::open(&base, &format!("{path}&last_event_id={}", ids[0]), &[("last-event-id", ids[1].as_str())]).await;
    assert_eq!(both.next_event().await.unwrap().id.as_deref(), Some(ids[2].as_str()));
    let bad = SseClient::open(&base, &format!("{path}&last_event_id=evt_nope"), &[]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("invalid_last_event_id"), "{}", bad.body);
}

async fn the_sdks_state_machine_follows_the_real_stream_to_the_outcome(app: TestApp) {
    use paygate_wire::checkout::{Checkout, Outcome, Step};
    let base = app.serve().await;
    let m = app.merchant().await;
    let (id, secret) = created(&app, &m).await;
    let read = app.get(&m.pk, &read_path(&id, &secret)).await;
    let mut checkout = Checkout::from_json(&read.raw, false).unwrap();
    assert_eq!(checkout.step(), Step::WaitingForScan);
    app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/scan"), json!({})).await;
    app.approve(&m.sk, &id, "4242424242424242").await;
    let path = format!("/v1/payment_intents/{id}/events?client_secret={secret}&key={}", m.pk);
    let mut client = SseClient::open(&base, &path, &[]).await;
    let mut steps = Vec::new();
    while let Some(frame) = client.next_event().await {
        checkout.apply_event_json(&frame.data).unwrap();
        steps.push(checkout.step());
    }
    assert!(steps.contains(&Step::Scanned), "{steps:?}");
    assert_eq!(checkout.outcome(), Some(Outcome::Succeeded));
    // Replaying the whole stream (a reconnect without an id) changes nothing.
    let mut again = SseClient::open(&base, &path, &[]).await;
    while let Some(frame) = again.next_event().await {
        checkout.apply_event_json(&frame.data).unwrap();
    }
    assert_eq!(checkout.outcome(), Some(Outcome::Succeeded));
    let after = app.get(&m.pk, &read_path(&id, &secret)).await;
    checkout.apply_status_json(&after.raw).unwrap();
    assert_eq!(checkout.intent().status, paygate_wire::intent::IntentStatus::Succeeded);
}

async fn the_sdk_is_served_with_its_content_types_caching_and_cors(app: TestApp) {
    let version = gateway::api::sdk::SDK_VERSION;
    let package: Value = serde_json::from_str(include_str!("../../../sdk-wasm/package.json")).unwrap();
    assert_eq!(package["version"], version, "the gateway serves the version sdk-wasm/package.json names");
    let base = app.serve().await;
    let cases = [
        ("paygate.js", "text/javascript; charset=utf-8"),
        ("paygate_sdk_bg.wasm", "application/wasm"),
        ("paygate.css", "text/css; charset=utf-8"),
        ("paygate.mjs", "text/javascript; charset=utf-8"),
    ];
    for (file, content_type) in cases {
        let current = SseClient::open(&base, &format!("/sdk/v1/{file}"), &[("origin", "https://shop.example")]).await;
        assert_eq!(current.status, 200, "{file}");
        assert_eq!(current.header("content-type"), Some(content_type));
        assert_eq!(current.header("cache-control"), Some("public, max-age=300"));
        assert_eq!(current.header("access-control-allow-origin"), Some("*"));
        let pinned = SseClient::open(&base, &format!("/sdk/v1/{version}/{file}"), &[]).await;
        assert_eq!(pinned.status, 200, "{file}");
        assert_eq!(pinned.header("cache-control"), Some("public, max-age=31536000, immutable"));
    }
    assert!(include_str!("../../../sdk-wasm/dist/paygate.js").contains(&format!("const VERSION = \"{version}\"")));
    for missing in ["/sdk/v1/nope.js".to_owned(), "/sdk/v1/9.9.9/paygate.js".to_owned(), format!("/sdk/v1/{version}/../Cargo.toml")] {
        let reply = SseClient::open(&base, &missing, &[]).await;
        assert_eq!(reply.status, 404, "{missing}");
    }
}

#[test]
fn the_readme_lists_the_integrity_hash_of_every_sdk_file() {
    use base64::Engine;
    use sha2::Digest;
    let readme = include_str!("../../../README.md");
    for (file, bytes) in gateway::api::sdk::files().filter(|(file, _)| !file.ends_with(".d.ts")) {
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(bytes));
        assert!(readme.contains(&format!("| `{file}` |")) && readme.contains(&format!("sha384-{hash}")), "README must list {file} with sha384-{hash}");
    }
}
