//! The event log through the REST API: listing, filtering, cursors, retrieval, isolation.

use crate::helpers::TestApp;
use crate::on_both_engines;
use axum::http::StatusCode;
use serde_json::{json, Value};

on_both_engines!(
    events_are_listed_newest_first_with_increasing_sequence_and_filtered_by_type,
    a_cursor_walk_over_events_sees_every_event_once,
    events_are_retrieved_by_id_and_another_merchants_event_is_not_found,
    opening_the_approval_page_emits_a_scanned_event_without_changing_the_status,
    bad_event_filters_are_refused_with_a_code,
);

fn types(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

async fn events_are_listed_newest_first_with_increasing_sequence_and_filtered_by_type(app: TestApp) {
    let m = app.merchant().await;
    let paid = app.paid_intent(&m.sk, 5000).await;
    let declined = app.create_intent(&m.sk, json!({})).await;
    app.approve(&m.sk, &declined, "4000000000000002").await;
    let refund = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": paid, "amount": 1000 })).await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.raw);

    let all = app.get(&m.sk, "/v1/events?limit=100").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.raw);
    let seqs: Vec<i64> = all.body["data"].as_array().unwrap().iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1), "newest first, one apart: {seqs:?}");
    let listed = types(&all.body);
    assert_eq!(listed.first().map(String::as_str), Some("payment_intent.partially_refunded"));
    assert_eq!(listed.last().map(String::as_str), Some("payment_intent.created"));

    let succeeded = app.get(&m.sk, "/v1/events?type=payment_intent.succeeded").await;
    assert_eq!(types(&succeeded.body), ["payment_intent.succeeded"]);
    assert_eq!(succeeded.body["data"][0]["data"]["id"], paid.as_str(), "the payload is the intent after the change");
    assert_eq!(succeeded.body["data"][0]["data"]["status"], "succeeded");

    let refunds = app.get(&m.sk, "/v1/events?type=refund.*").await;
    assert_eq!(types(&refunds.body), ["refund.succeeded", "refund.created"]);

    let of_declined = app.get(&m.sk, &format!("/v1/events?object={declined}")).await;
    assert_eq!(types(&of_declined.body), ["payment_intent.failed", "payment_intent.processing", "payment_intent.created"]);

    let future = app.get(&m.sk, "/v1/events?created_gte=2030-01-01").await;
    assert_eq!(future.body["data"].as_array().unwrap().len(), 0);
}

async fn a_cursor_walk_over_events_sees_every_event_once(app: TestApp) {
    let m = app.merchant().await;
    for _ in 0..7 {
        app.paid_intent(&m.sk, 1000).await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/events?limit=4".to_owned();
    loop {
        let page = app.get(&m.sk, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.raw);
        seen.extend(page.body["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/events?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    // Each payment: created, processing, succeeded.
    assert_eq!(seen.len(), 21);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 21, "no event twice");
}

async fn events_are_retrieved_by_id_and_another_merchants_event_is_not_found(app: TestApp) {
    let m = app.merchant().await;
    let other = app.merchant().await;
    app.paid_intent(&m.sk, 1000).await;
    let first = app.get(&m.sk, "/v1/events?limit=1").await.body["data"][0].clone();
    let id = first["id"].as_str().unwrap();
    let fetched = app.get(&m.sk, &format!("/v1/events/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body, first);
    let foreign = app.get(&other.sk, &format!("/v1/events/{id}")).await;
    assert_eq!((foreign.status, foreign.code()), (StatusCode::NOT_FOUND, "resource_missing"));
    let live = app.get(&m.live_sk, &format!("/v1/events/{id}")).await;
    assert_eq!(live.status, StatusCode::NOT_FOUND, "test events are not visible to live keys");
    assert_eq!(app.get(&other.sk, "/v1/events").await.body["data"].as_array().unwrap().len(), 0);
}

async fn opening_the_approval_page_emits_a_scanned_event_without_changing_the_status(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    let scanned = app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/scan"), json!({})).await;
    assert_eq!(scanned.status, StatusCode::OK, "{}", scanned.raw);
    assert_eq!(scanned.body["status"], "requires_action");
    let events = app.get(&m.sk, &format!("/v1/events?object={id}")).await;
    assert_eq!(types(&events.body), ["payment_intent.scanned", "payment_intent.created"]);
    // A second scan (a reload, another phone) answers the same and adds no event.
    let again = app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/scan"), json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.raw);
    let events = app.get(&m.sk, &format!("/v1/events?object={id}")).await;
    assert_eq!(types(&events.body), ["payment_intent.scanned", "payment_intent.created"], "scanned once per intent");

    app.approve(&m.sk, &id, "4242424242424242").await;
    let late = app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/scan"), json!({})).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "intent_unexpected_state"));
    let events = app.get(&m.sk, &format!("/v1/events?object={id}&type=payment_intent.scanned")).await;
    assert_eq!(events.body["data"].as_array().unwrap().len(), 1, "a paid intent is not scanned again");
}

async fn bad_event_filters_are_refused_with_a_code(app: TestApp) {
    let m = app.merchant().await;
    for (query, code, param) in [
        ("type=payment_intent.exploded", "parameter_invalid", "type"),
        ("type=%25", "parameter_invalid", "type"),
        ("object=cus_123", "invalid_id", "object"),
        ("created_gte=yesterday", "parameter_invalid", "created_gte"),
        ("limit=0", "parameter_invalid", "limit"),
        ("cursor=garbage", "invalid_cursor", "cursor"),
        ("colour=blue", "parameter_unknown", "colour"),
    ] {
        let reply = app.get(&m.sk, &format!("/v1/events?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}: {}", reply.raw);
        assert_eq!((reply.code(), reply.body["error"]["param"].as_str().unwrap_or("")), (code, param), "{query}");
    }
    let bad_id = app.get(&m.sk, "/v1/events/pi_123").await;
    assert_eq!((bad_id.status, bad_id.code()), (StatusCode::BAD_REQUEST, "invalid_id"));
}
