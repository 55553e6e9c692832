//! Idempotency across crashes: for every `/v1` POST that creates or changes something, the answer
//! is lost on purpose after the work committed (the `fault-hooks` feature: as a process that
//! dies, or a connection that drops, between the commit and the response). The client's retry
//! after the lease gets the same object, and the work happened exactly once. Then the requests
//! cut off between two of their phases: the retry finishes the work instead of refusing or
//! repeating it.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{Reply, TestApp, TestMerchant};
use axum::http::StatusCode;
use gateway::clock::Clock;
use gateway::connector::{Authorization, AuthorizeRequest, Connector, PaymentMethod};
use gateway::domain::idempotency::{Finish, IdempotencyScope, KeyStep, Keyed, Resume, View};
use gateway::domain::money::{Amount, Currency};
use gateway::domain::intent::IntentTransition;
use gateway::domain::Scope;
use gateway::ids::IdKind;
use gateway::store::{IdempotencyBegin, NewRefundRecord, RefundReservation, TransitionOutcome};
use serde_json::{json, Value};

crate::on_both_engines!(
    a_created_intent_whose_answer_was_lost_is_the_one_intent_the_retry_gets,
    a_confirm_whose_answer_was_lost_captures_once,
    a_cancel_whose_answer_was_lost_cancels_once,
    a_refund_whose_answer_was_lost_refunds_once,
    a_webhook_endpoint_whose_answer_was_lost_is_registered_once_and_its_secret_replayed,
    a_webhook_endpoint_update_whose_answer_was_lost_is_replayed,
    a_secret_rotation_whose_answer_was_lost_rotates_once,
    a_resend_whose_answer_was_lost_queues_the_event_once,
    test_helper_approvals_declines_expiries_and_scans_whose_answers_were_lost_happen_once,
    a_refusal_whose_answer_was_lost_is_refused_again,
    an_approval_cut_off_after_it_reached_processing_is_finished_by_the_retry,
    a_confirm_cut_off_after_the_capture_started_is_finished_by_the_retry,
    a_refund_cut_off_after_its_reservation_is_settled_by_the_retry,
    a_request_whose_lease_passed_to_a_retry_cannot_commit_its_work,
);

/// Posts with `key` once losing the answer, then again after the lease ran out; returns the retry.
async fn lose_then_retry(app: &TestApp, sk: &str, path: &str, body: Value, key: &str) -> Reply {
    app.services.faults.lose_next_answer(path);
    let lost = app.post_idem(sk, path, body.clone(), Some(key)).await;
    assert_eq!(lost.status, StatusCode::INTERNAL_SERVER_ERROR, "the answer is lost: {}", lost.raw);
    app.clock.advance_minutes(2);
    let retry = app.post_idem(sk, path, body, Some(key)).await;
    assert!(retry.replayed, "the retry gets the saved answer: {}", retry.raw);
    retry
}

async fn count(app: &TestApp, sk: &str, path: &str) -> usize {
    app.get(sk, path).await.body["data"].as_array().map_or(0, Vec::len)
}

async fn events_of(app: &TestApp, sk: &str, kind: &str) -> usize {
    count(app, sk, &format!("/v1/events?type={kind}&limit=100")).await
}

async fn manual_intent_awaiting_confirmation(app: &TestApp, m: &TestMerchant) -> String {
    let id = app.fake_intent(&m.sk).manual().create().await;
    let approved = app.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approved.body["status"], "requires_confirmation", "{}", approved.raw);
    id
}

async fn a_created_intent_whose_answer_was_lost_is_the_one_intent_the_retry_gets(app: TestApp) {
    let m = app.merchant().await;
    let body = app.fake_intent(&m.sk).order("lost-1").body();
    let retry = lose_then_retry(&app, &m.sk, "/v1/payment_intents", body, "create-lost").await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.raw);
    assert_eq!(count(&app, &m.sk, "/v1/payment_intents?limit=100").await, 1, "one intent");
    assert_eq!(retry.body["status"], "requires_action");
    let secret = retry.body["client_secret"].as_str().unwrap();
    assert_eq!(secret, app.services.client_secret_for(&retry.id()).expose(), "the client secret is derived again");
    let stored = app.raw_text("SELECT COALESCE(answer, '') FROM idempotency_keys").await.join("\n");
    assert!(stored.contains(&retry.id()) && !stored.contains(secret), "the answer is saved without its client secret");
    assert_eq!(events_of(&app, &m.sk, "payment_intent.created").await, 1);
}

async fn a_confirm_whose_answer_was_lost_captures_once(app: TestApp) {
    let m = app.merchant().await;
    let id = manual_intent_awaiting_confirmation(&app, &m).await;
    let retry = lose_then_retry(&app, &m.sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 10000 }), "confirm-lost").await;
    assert_eq!((retry.status, retry.body["status"].as_str()), (StatusCode::OK, Some("succeeded")), "{}", retry.raw);
    assert_eq!(app.test_card.view(&id).await.captures, 1);
    assert_eq!(count(&app, &m.sk, &format!("/v1/transactions?payment_intent={id}&type=payment")).await, 1);
    app.assert_ledger_balanced().await;
}

async fn a_cancel_whose_answer_was_lost_cancels_once(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    let path = format!("/v1/payment_intents/{id}/cancel");
    let retry = lose_then_retry(&app, &m.sk, &path, json!({ "cancellation_reason": "out of stock" }), "cancel-lost").await;
    assert_eq!((retry.status, retry.body["status"].as_str()), (StatusCode::OK, Some("canceled")), "{}", retry.raw);
    assert_eq!(count(&app, &m.sk, &format!("/v1/transactions?payment_intent={id}&type=cancel")).await, 1);
    assert_eq!(events_of(&app, &m.sk, "payment_intent.canceled").await, 1);
}

async fn a_refund_whose_answer_was_lost_refunds_once(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 10_000).await;
    let retry = lose_then_retry(&app, &m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 3000 }), "refund-lost").await;
    assert_eq!((retry.status, retry.body["status"].as_str()), (StatusCode::CREATED, Some("succeeded")), "{}", retry.raw);
    let refunds = app.get(&m.sk, &format!("/v1/refunds?payment_intent={id}")).await;
    assert_eq!(refunds.body["data"].as_array().unwrap().len(), 1, "one refund");
    assert_eq!(refunds.body["data"][0]["id"], retry.body["id"], "the same refund");
    assert_eq!(app.test_card.view(&id).await.refunded, 3000);
    app.assert_ledger_balanced().await;
}

async fn a_webhook_endpoint_whose_answer_was_lost_is_registered_once_and_its_secret_replayed(app: TestApp) {
    let m = app.merchant().await;
    let retry = lose_then_retry(&app, &m.sk, "/v1/webhook_endpoints", json!({ "url": "https://shop.example.com/hooks" }), "we-lost").await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.raw);
    assert_eq!(count(&app, &m.sk, "/v1/webhook_endpoints").await, 1, "one endpoint");
    let secret = retry.body["secret"].as_str().unwrap();
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let stored = app.store.get_webhook_endpoint(&scope, &retry.id()).await.unwrap();
    assert_eq!(app.services.open_webhook_secret(&stored.id, &stored.secret).unwrap().expose(), secret, "the endpoint's own secret");
    let saved = app.raw_text("SELECT COALESCE(answer, '') FROM idempotency_keys").await.join("\n");
    assert!(!saved.contains(&secret[6..]), "kept sealed in the saved answer");
}

async fn a_webhook_endpoint_update_whose_answer_was_lost_is_replayed(app: TestApp) {
    let m = app.merchant().await;
    let id = app.post(&m.sk, "/v1/webhook_endpoints", json!({ "url": "https://shop.example.com/a" })).await.id();
    let path = format!("/v1/webhook_endpoints/{id}");
    let retry = lose_then_retry(&app, &m.sk, &path, json!({ "url": "https://shop.example.com/b" }), "we-update-lost").await;
    assert_eq!((retry.status, retry.body["url"].as_str()), (StatusCode::OK, Some("https://shop.example.com/b")), "{}", retry.raw);
    assert!(retry.body.get("secret").is_none(), "an update shows no secret");
    assert_eq!(app.get(&m.sk, &path).await.body, retry.body);
}

async fn a_secret_rotation_whose_answer_was_lost_rotates_once(app: TestApp) {
    let m = app.merchant().await;
    let created = app.post(&m.sk, "/v1/webhook_endpoints", json!({ "url": "https://shop.example.com/r" })).await;
    let path = format!("/v1/webhook_endpoints/{}/rotate_secret", created.id());
    let retry = lose_then_retry(&app, &m.sk, &path, json!({}), "rotate-lost").await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.raw);
    let replayed = retry.body["secret"].as_str().unwrap();
    assert_ne!(replayed, created.body["secret"].as_str().unwrap());
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let stored = app.store.get_webhook_endpoint(&scope, &created.id()).await.unwrap();
    assert_eq!(app.services.open_webhook_secret(&stored.id, &stored.secret).unwrap().expose(), replayed, "rotated once: the replayed secret is the current one");
    let previous = stored.previous_secret.expect("the first secret still signs during the overlap");
    assert_eq!(app.services.open_webhook_secret(&stored.id, &previous).unwrap().expose(), created.body["secret"].as_str().unwrap());
}

async fn a_resend_whose_answer_was_lost_queues_the_event_once(app: TestApp) {
    let m = app.merchant().await;
    let endpoint = app.post(&m.sk, "/v1/webhook_endpoints", json!({ "url": "https://shop.example.com/s" })).await.id();
    app.create_intent(&m.sk, json!({})).await;
    let event = app.get(&m.sk, "/v1/events?limit=1").await.body["data"][0]["id"].as_str().unwrap().to_owned();
    let retry = lose_then_retry(&app, &m.sk, &format!("/v1/webhook_endpoints/{endpoint}/resend"), json!({ "event": event }), "resend-lost").await;
    assert_eq!((retry.status, retry.body["attempts"].as_i64()), (StatusCode::ACCEPTED, Some(0)), "{}", retry.raw);
    let rows = app.raw_text(&format!("SELECT event_id FROM webhook_deliveries WHERE endpoint_id = '{endpoint}'")).await;
    assert_eq!(rows.iter().filter(|e| **e == event).count(), 1);
}

async fn test_helper_approvals_declines_expiries_and_scans_whose_answers_were_lost_happen_once(app: TestApp) {
    let m = app.merchant().await;
    let approved = app.create_intent(&m.sk, json!({})).await;
    let retry = lose_then_retry(&app, &m.sk, &format!("/v1/test_helpers/payment_intents/{approved}/approve"), json!({}), "approve-lost").await;
    assert_eq!((retry.status, retry.body["status"].as_str()), (StatusCode::OK, Some("succeeded")), "{}", retry.raw);
    let view = app.test_card.view(&approved).await;
    assert_eq!((view.authorization_requests, view.captures), (1, 1), "authorized and captured once");
    app.assert_ledger_balanced().await;

    let declined = app.create_intent(&m.sk, json!({})).await;
    let retry = lose_then_retry(&app, &m.sk, &format!("/v1/test_helpers/payment_intents/{declined}/decline"), json!({}), "decline-lost").await;
    assert_eq!(retry.body["failure_code"], "customer_declined", "{}", retry.raw);
    assert_eq!(events_of(&app, &m.sk, "payment_intent.failed").await, 1);

    let expired = app.create_intent(&m.sk, json!({})).await;
    let retry = lose_then_retry(&app, &m.sk, &format!("/v1/test_helpers/payment_intents/{expired}/expire"), json!({}), "expire-lost").await;
    assert_eq!(retry.body["status"], "expired", "{}", retry.raw);
    assert_eq!(events_of(&app, &m.sk, "payment_intent.expired").await, 1);

    let scanned = app.create_intent(&m.sk, json!({})).await;
    let retry = lose_then_retry(&app, &m.sk, &format!("/v1/test_helpers/payment_intents/{scanned}/scan"), json!({}), "scan-lost").await;
    assert_eq!(retry.body["status"], "requires_action", "{}", retry.raw);
    assert_eq!(events_of(&app, &m.sk, "payment_intent.scanned").await, 1);
}

/// A refusal commits nothing, so losing it loses nothing: the retry is refused the same way, and
/// from then on that refusal is the key's saved answer.
async fn a_refusal_whose_answer_was_lost_is_refused_again(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 1000).await;
    let body = json!({ "payment_intent": id, "amount": 5000 });
    app.services.faults.lose_next_answer("/v1/refunds");
    assert_eq!(app.post_idem(&m.sk, "/v1/refunds", body.clone(), Some("refused-lost")).await.status, StatusCode::INTERNAL_SERVER_ERROR);
    app.clock.advance_minutes(2);
    let retry = app.post_idem(&m.sk, "/v1/refunds", body.clone(), Some("refused-lost")).await;
    assert_eq!((retry.status, retry.code(), retry.replayed), (StatusCode::BAD_REQUEST, "refund_exceeds_captured", false), "{}", retry.raw);
    let again = app.post_idem(&m.sk, "/v1/refunds", body, Some("refused-lost")).await;
    assert!(again.replayed);
    assert_eq!(again.raw, retry.raw);
    assert_eq!(app.test_card.view(&id).await.refunded, 0);
    assert_eq!(count(&app, &m.sk, &format!("/v1/refunds?payment_intent={id}")).await, 0);
}

/// The key as the API takes it for `path`, owned by a request that is about to die; its answer
/// would have been `status` with the object.
async fn a_dying_request(app: &TestApp, m: &TestMerchant, path: &str, body: &Value, key: &str, status: u16) -> Keyed {
    let scope = IdempotencyScope { owner: m.id.clone(), livemode: false, method: "POST".into(), path: path.into(), key: key.into() };
    let now = app.clock.now();
    let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.to_string().as_bytes()));
    match app.store.idempotency_begin(&scope, &fingerprint, now, now + 60_000).await.unwrap() {
        IdempotencyBegin::Started(lease) => Keyed { lease, finish: Finish::new(status, View::Object) },
        other => panic!("expected Started, got {other:?}"),
    }
}

async fn an_approval_cut_off_after_it_reached_processing_is_finished_by_the_retry(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    let path = format!("/v1/test_helpers/payment_intents/{id}/approve");
    let body = json!({ "card_number": "4242424242424242" });
    // The first request's first phase committed (processing, with its resume point), and it died.
    let dying = a_dying_request(&app, &m, &path, &body, "approve-cut", 200).await;
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let start = IntentTransition::StartProcessing { connector: "test_card".into(), customer: None };
    let resume = Resume::intent(&scope, &id);
    let outcome = app.store.transition_intent(&scope, &id, &start, app.clock.now(), None, Some(KeyStep::Checkpoint(&dying, &resume))).await.unwrap();
    assert!(matches!(outcome, TransitionOutcome::Applied(_)));
    // It had asked the processor, which authorized; the answer never came back.
    let request = AuthorizeRequest {
        reference: id.clone(),
        amount: Amount::parse(10000).unwrap(),
        currency: Currency::KRW,
        payment_method: PaymentMethod::TestCard { number: "4242424242424242".into() },
    };
    assert!(matches!(app.test_card.authorize(&request).await.unwrap(), Authorization::Approved { .. }));

    let during = app.post_idem(&m.sk, &path, body.clone(), Some("approve-cut")).await;
    assert_eq!(during.code(), "idempotency_key_in_use", "the dead request's lease still holds");
    app.clock.advance_minutes(2);
    let retry = app.post_idem(&m.sk, &path, body.clone(), Some("approve-cut")).await;
    assert_eq!((retry.status, retry.body["status"].as_str()), (StatusCode::OK, Some("succeeded")), "not intent_unexpected_state: {}", retry.raw);
    assert_eq!(app.test_card.view(&id).await.captures, 1);
    let again = app.post_idem(&m.sk, &path, body, Some("approve-cut")).await;
    assert!(again.replayed);
    assert_eq!(again.raw, retry.raw);
    assert_eq!(app.test_card.view(&id).await.authorization_requests, 1, "the processor was asked once");
    app.assert_ledger_balanced().await;
}

async fn a_confirm_cut_off_after_the_capture_started_is_finished_by_the_retry(app: TestApp) {
    let m = app.merchant().await;
    let id = manual_intent_awaiting_confirmation(&app, &m).await;
    let path = format!("/v1/payment_intents/{id}/confirm");
    let body = json!({ "amount": 10000 });
    let dying = a_dying_request(&app, &m, &path, &body, "confirm-cut", 200).await;
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let resume = Resume::intent(&scope, &id);
    let step = Some(KeyStep::Checkpoint(&dying, &resume));
    app.store.transition_intent(&scope, &id, &IntentTransition::StartCapture, app.clock.now(), None, step).await.unwrap();
    app.clock.advance_minutes(2);
    let retry = app.post_idem(&m.sk, &path, body, Some("confirm-cut")).await;
    assert_eq!((retry.status, retry.body["status"].as_str()), (StatusCode::OK, Some("succeeded")), "{}", retry.raw);
    assert_eq!(app.test_card.view(&id).await.captures, 1);
    assert_eq!(count(&app, &m.sk, &format!("/v1/transactions?payment_intent={id}&type=payment")).await, 1);
    app.assert_ledger_balanced().await;
}

async fn a_refund_cut_off_after_its_reservation_is_settled_by_the_retry(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 10_000).await;
    let body = json!({ "payment_intent": id, "amount": 2500 });
    let dying = a_dying_request(&app, &m, "/v1/refunds", &body, "refund-cut", 201).await;
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let new = NewRefundRecord {
        id: IdKind::Refund.generate(),
        payment_intent_id: id.clone(),
        amount: Some(Amount::parse(2500).unwrap()),
        reason: None,
        idempotency_key: Some("refund-cut".into()),
        created_at: app.clock.now(),
    };
    let resume = Resume::refund(&scope, &new.id);
    let reserved = app.store.reserve_refund(&scope, &new, Some(KeyStep::Checkpoint(&dying, &resume))).await.unwrap();
    assert!(matches!(reserved, RefundReservation::Reserved { .. }));
    app.clock.advance_minutes(2);
    let retry = app.post_idem(&m.sk, "/v1/refunds", body, Some("refund-cut")).await;
    assert_eq!((retry.status, retry.body["status"].as_str()), (StatusCode::CREATED, Some("succeeded")), "{}", retry.raw);
    assert_eq!(retry.id(), new.id, "the reserved refund, settled");
    assert_eq!(app.test_card.view(&id).await.refunded, 2500);
    app.assert_ledger_balanced().await;
}

async fn a_request_whose_lease_passed_to_a_retry_cannot_commit_its_work(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    let path = format!("/v1/payment_intents/{id}/cancel");
    let slow = a_dying_request(&app, &m, &path, &json!({}), "slow-cancel", 200).await;
    // The slow first request's lease ran out and a retry took the key over (and did the work).
    app.clock.advance_minutes(2);
    let retry = app.post_idem(&m.sk, &path, json!({}), Some("slow-cancel")).await;
    assert_eq!(retry.body["status"], "canceled", "{}", retry.raw);
    // The slow request now tries to commit its own step: refused, and nothing is written.
    let other = app.create_intent(&m.sk, json!({})).await;
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let cancel = IntentTransition::Cancel { reason: None };
    let late = app.store.transition_intent(&scope, &other, &cancel, app.clock.now(), None, Some(KeyStep::Finish(&slow))).await;
    assert!(matches!(late, Err(gateway::store::StoreError::LeaseLost)), "{late:?}");
    assert_eq!(app.get(&m.sk, &format!("/v1/payment_intents/{other}")).await.body["status"], "requires_action", "rolled back");
}
