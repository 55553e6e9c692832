//! The wallet API's POSTs under an Idempotency-Key when the answer is lost after the work
//! committed (the gateway's `fault-hooks`, as a crash or a dropped connection would): the
//! phone's retry after the lease gets the same answer, and the money moved once.

use crate::helpers::{BridgeApp, Phone, Reply};
use axum::http::StatusCode;
use serde_json::{json, Value};

crate::bridge_on_both_engines!(
    a_top_up_whose_answer_was_lost_adds_the_money_once,
    an_approval_whose_answer_was_lost_charges_the_wallet_once,
    a_decline_whose_answer_was_lost_is_answered_again_the_same_way,
    keys_belong_to_the_customer_who_sent_them,
);

async fn krw_wallet(app: &BridgeApp, phone: &Phone) -> Value {
    let sources = app.get(&phone.access_token, "/wallet/v1/funding_sources").await;
    sources.body["data"].as_array().unwrap().iter().find(|s| s["type"] == "wallet" && s["currency"] == "KRW").cloned().unwrap()
}

async fn lose_then_retry(app: &BridgeApp, phone: &Phone, path: &str, body: Value, key: &str) -> Reply {
    app.core.services.faults.lose_next_answer(path);
    let lost = app.post_idem(&phone.access_token, path, body.clone(), key).await;
    assert_eq!(lost.status, StatusCode::INTERNAL_SERVER_ERROR, "the answer is lost: {}", lost.raw);
    app.core.clock.advance_minutes(2);
    let retry = app.post_idem(&phone.access_token, path, body, key).await;
    assert!(retry.replayed, "the saved answer: {}", retry.raw);
    retry
}

async fn a_top_up_whose_answer_was_lost_adds_the_money_once(app: BridgeApp) {
    let phone = app.sign_up("topper@example.com").await;
    let wallet = krw_wallet(&app, &phone).await;
    let path = format!("/wallet/v1/wallets/{}/top_ups", wallet["id"].as_str().unwrap());
    let retry = lose_then_retry(&app, &phone, &path, json!({ "amount": 50_000 }), "top-up-lost").await;
    assert_eq!((retry.status, retry.body["balance"].as_i64()), (StatusCode::OK, Some(1_050_000)), "{}", retry.raw);
    assert_eq!(krw_wallet(&app, &phone).await["balance"], 1_050_000, "added once");
    app.core.assert_ledger_balanced().await;
}

async fn an_approval_whose_answer_was_lost_charges_the_wallet_once(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({ "amount": 12_000 })).await;
    let phone = app.sign_up("payer@example.com").await;
    let wallet = krw_wallet(&app, &phone).await;
    let path = format!("/wallet/v1/approvals/{code}/approve");
    let retry = lose_then_retry(&app, &phone, &path, json!({ "funding_source": wallet["id"] }), "approve-lost").await;
    assert_eq!((retry.status, retry.body["status"].as_str()), (StatusCode::OK, Some("succeeded")), "{}", retry.raw);
    assert_eq!(retry.body["code"], code.as_str(), "the approval as the page shows it");
    assert_eq!(retry.body["merchant_name"], "Test Shop");
    assert_eq!(krw_wallet(&app, &phone).await["balance"], 988_000, "charged once");
    assert_eq!(app.intent_status(&m, &id).await["amount_captured"], 12_000);
    app.core.assert_ledger_balanced().await;
}

async fn a_decline_whose_answer_was_lost_is_answered_again_the_same_way(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    let phone = app.sign_up("decliner@example.com").await;
    let retry = lose_then_retry(&app, &phone, &format!("/wallet/v1/approvals/{code}/decline"), json!({}), "decline-lost").await;
    assert_eq!((retry.status, retry.body["failure_code"].as_str()), (StatusCode::OK, Some("customer_declined")), "{}", retry.raw);
    let failed = app.core.get(&m.sk, "/v1/events?type=payment_intent.failed").await;
    assert_eq!(failed.body["data"].as_array().unwrap().len(), 1, "declined once");
    assert_eq!(app.intent_status(&m, &id).await["status"], "failed");
}

async fn keys_belong_to_the_customer_who_sent_them(app: BridgeApp) {
    let m = app.merchant().await;
    let (_, code) = app.intent(&m, json!({})).await;
    let (alice, bob) = (app.sign_up("alice@example.com").await, app.sign_up("bob@example.com").await);
    let path = format!("/wallet/v1/approvals/{code}/decline");
    let a = app.post_idem(&alice.access_token, &path, json!({}), "same").await;
    assert_eq!(a.body["status"], "failed", "{}", a.raw);
    // The same path and key from another customer is another request: not Alice's answer.
    let b = app.post_idem(&bob.access_token, &path, json!({}), "same").await;
    assert_eq!((b.status, b.code(), b.replayed), (StatusCode::CONFLICT, "approval_closed", false), "{}", b.raw);
    let again = app.post_idem(&alice.access_token, &path, json!({}), "same").await;
    assert!(again.replayed);
    assert_eq!(again.raw, a.raw);
}
