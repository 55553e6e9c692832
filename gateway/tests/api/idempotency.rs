//! Idempotency-Key on every POST: replay, mismatch, in-flight, scope, retention, crash recovery.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::TestApp;
use axum::http::StatusCode;
use futures::future::join_all;
use gateway::clock::Clock;
use gateway::domain::intent::parse_amount;
use gateway::domain::Scope;
use gateway::ids::IdKind;
use gateway::store::{IdempotencyScope, NewRefundRecord, RefundReservation};
use serde_json::json;
use std::sync::Arc;

crate::on_both_engines!(
    the_same_key_and_body_replays_the_saved_response,
    errors_are_replayed_too,
    the_same_key_with_another_body_is_refused,
    fifty_concurrent_requests_with_one_key_have_one_effect,
    keys_are_scoped_per_merchant_mode_and_path,
    keys_are_kept_at_least_a_day,
    a_retry_after_a_crash_mid_refund_does_not_refund_twice,
    a_refund_left_pending_by_a_crash_is_settled_once_by_the_sweep,
    a_bad_idempotency_key_is_refused,
    a_key_with_spaces_tabs_or_two_values_is_refused,
    a_refund_key_cannot_be_reused_for_another_refund_even_after_it_was_purged,
    a_full_refund_retried_with_its_key_after_the_purge_finds_the_first,
);

fn intent_body() -> serde_json::Value {
    json!({ "amount": 4500, "currency": "USD", "merchant_order_id": "X-9", "order_name": "Mug", "customer_name": "Ada" })
}

async fn intent_count(app: &TestApp, sk: &str) -> usize {
    app.get(sk, "/v1/payment_intents?limit=100").await.body["data"].as_array().unwrap().len()
}

async fn the_same_key_and_body_replays_the_saved_response(app: TestApp) {
    let m = app.merchant().await;
    let first = app.post_idem(&m.sk, "/v1/payment_intents", intent_body(), Some("order-X-9")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(!first.replayed);
    let second = app.post_idem(&m.sk, "/v1/payment_intents", intent_body(), Some("order-X-9")).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert!(second.replayed);
    assert_eq!(second.raw, first.raw, "status and body are replayed byte for byte");
    assert_eq!(intent_count(&app, &m.sk).await, 1);

    let id = first.id();
    app.approve(&m.sk, &id, "4242424242424242").await;
    let refund = json!({ "payment_intent": id, "amount": 1000 });
    let r1 = app.post_idem(&m.sk, "/v1/refunds", refund.clone(), Some("refund-1")).await;
    let r2 = app.post_idem(&m.sk, "/v1/refunds", refund, Some("refund-1")).await;
    assert_eq!(r1.raw, r2.raw);
    assert_eq!(app.test_card.view(&id).await.refunded, 1000);
    app.assert_ledger_balanced().await;
}

async fn errors_are_replayed_too(app: TestApp) {
    let m = app.merchant().await;
    let bad = json!({ "amount": 0, "currency": "KRW", "merchant_order_id": "o", "order_name": "n", "customer_name": "c" });
    let first = app.post_idem(&m.sk, "/v1/payment_intents", bad.clone(), Some("k-err")).await;
    assert_eq!(first.status, StatusCode::BAD_REQUEST);
    let second = app.post_idem(&m.sk, "/v1/payment_intents", bad, Some("k-err")).await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert!(second.replayed);
    assert_eq!(second.raw, first.raw);
}

async fn the_same_key_with_another_body_is_refused(app: TestApp) {
    let m = app.merchant().await;
    app.post_idem(&m.sk, "/v1/payment_intents", intent_body(), Some("k1")).await;
    let mut other = intent_body();
    other["amount"] = json!(4600);
    let reply = app.post_idem(&m.sk, "/v1/payment_intents", other, Some("k1")).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.code(), "idempotency_key_reused");
    assert_eq!(intent_count(&app, &m.sk).await, 1);
}

async fn fifty_concurrent_requests_with_one_key_have_one_effect(app: TestApp) {
    let app = Arc::new(app);
    let m = app.merchant().await;
    let replies = join_all((0..50).map(|_| {
        let (app, sk) = (app.clone(), m.sk.clone());
        tokio::spawn(async move { app.post_idem(&sk, "/v1/payment_intents", intent_body(), Some("same-key")).await })
    }))
    .await;
    let replies: Vec<_> = replies.into_iter().map(|r| r.unwrap()).collect();
    let originals: Vec<_> = replies.iter().filter(|r| r.status == StatusCode::CREATED && !r.replayed).collect();
    assert_eq!(originals.len(), 1, "one request ran");
    for r in &replies {
        match r.status {
            StatusCode::CREATED => assert_eq!(r.raw, originals[0].raw, "a replay is identical"),
            StatusCode::CONFLICT => assert_eq!(r.code(), "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {}", r.raw),
        }
    }
    assert_eq!(intent_count(&app, &m.sk).await, 1, "one effect");

    // The same for a refund: money moves once.
    let id = app.paid_intent(&m.sk, 10_000).await;
    let replies = join_all((0..50).map(|_| {
        let (app, sk, id) = (app.clone(), m.sk.clone(), id.clone());
        tokio::spawn(async move { app.post_idem(&sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 700 }), Some("refund-key")).await })
    }))
    .await;
    for r in replies {
        let r = r.unwrap();
        assert!(r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT, "{}", r.raw);
    }
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["amount_refunded"], 700);
    assert_eq!(app.test_card.view(&id).await.refunded, 700);
    app.assert_ledger_balanced().await;
}

async fn keys_are_scoped_per_merchant_mode_and_path(app: TestApp) {
    let a = app.merchant().await;
    let b = app.merchant().await;
    let ra = app.post_idem(&a.sk, "/v1/payment_intents", intent_body(), Some("shared")).await;
    let rb = app.post_idem(&b.sk, "/v1/payment_intents", intent_body(), Some("shared")).await;
    let rl = app.post_idem(&a.live_sk, "/v1/payment_intents", intent_body(), Some("shared")).await;
    for r in [&ra, &rb, &rl] {
        assert_eq!(r.status, StatusCode::CREATED);
        assert!(!r.replayed);
    }
    assert_ne!(ra.id(), rb.id());
    assert_ne!(ra.id(), rl.id());
    assert_eq!(rl.body["livemode"], true);
    // Another path with the same key is another request.
    let cancel = app.post_idem(&a.sk, &format!("/v1/payment_intents/{}/cancel", ra.id()), json!({}), Some("shared")).await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.raw);
}

async fn keys_are_kept_at_least_a_day(app: TestApp) {
    let m = app.merchant().await;
    let first = app.post_idem(&m.sk, "/v1/payment_intents", intent_body(), Some("daily")).await;
    app.clock.advance_minutes(25 * 60);
    app.services.sweep().await.unwrap();
    let replay = app.post_idem(&m.sk, "/v1/payment_intents", intent_body(), Some("daily")).await;
    assert!(replay.replayed, "still replayed after 25 hours");
    assert_eq!(replay.raw, first.raw);
    app.clock.advance_minutes(24 * 60);
    let report = app.services.sweep().await.unwrap();
    assert_eq!(report.purged_idempotency_keys, 1, "purged after 48 hours");
}

/// The first request owned the key and reserved the refund, then its process died before the
/// connector was asked and before the response was saved. The client retries with the same key.
async fn a_retry_after_a_crash_mid_refund_does_not_refund_twice(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 10_000).await;
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let body = json!({ "payment_intent": id, "amount": 2500 });
    let key = IdempotencyScope {
        owner: m.id.clone(),
        livemode: false,
        method: "POST".into(),
        path: "/v1/refunds".into(),
        key: "crashy".into(),
    };
    let now = app.clock.now();
    let fingerprint = sha256_hex(body.to_string().as_bytes());
    app.store.idempotency_begin(&key, &fingerprint, now, now + 60_000).await.unwrap();
    let reserved = app
        .store
        .reserve_refund(&scope, &NewRefundRecord {
            id: IdKind::Refund.generate(),
            payment_intent_id: id.clone(),
            amount: Some(parse_amount(2500).unwrap()),
            reason: None,
            idempotency_key: Some("crashy".into()),
            created_at: now,
        }, None)
        .await
        .unwrap();
    let RefundReservation::Reserved { refund: pending, .. } = reserved else { panic!("reserved") };

    let during = app.post_idem(&m.sk, "/v1/refunds", body.clone(), Some("crashy")).await;
    assert_eq!(during.status, StatusCode::CONFLICT, "the dead request's lease still holds");

    app.clock.advance_minutes(2);
    let retry = app.post_idem(&m.sk, "/v1/refunds", body.clone(), Some("crashy")).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.raw);
    assert_eq!(retry.id(), pending.id, "the retry finishes the first refund instead of making another");
    assert_eq!(retry.body["status"], "succeeded");
    let again = app.post_idem(&m.sk, "/v1/refunds", body, Some("crashy")).await;
    assert!(again.replayed);

    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["amount_refunded"], 2500);
    assert_eq!(app.test_card.view(&id).await.refunded, 2500);
    app.assert_ledger_balanced().await;
}

async fn a_refund_left_pending_by_a_crash_is_settled_once_by_the_sweep(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 10_000).await;
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let new = NewRefundRecord {
        id: IdKind::Refund.generate(),
        payment_intent_id: id.clone(),
        amount: Some(parse_amount(4000).unwrap()),
        reason: None,
        idempotency_key: None,
        created_at: app.clock.now(),
    };
    app.store.reserve_refund(&scope, &new, None).await.unwrap();
    let pending = app.get(&m.sk, &format!("/v1/refunds/{}", new.id)).await;
    assert_eq!(pending.body["status"], "pending");
    // While pending, the reserved amount cannot be refunded by anyone else.
    let over = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 6001 })).await;
    assert_eq!(over.code(), "refund_exceeds_captured");
    app.assert_ledger_balanced().await;

    app.clock.advance_minutes(2);
    assert_eq!(app.services.sweep().await.unwrap().settled_refunds, 1);
    assert_eq!(app.services.sweep().await.unwrap().settled_refunds, 0);
    let settled = app.get(&m.sk, &format!("/v1/refunds/{}", new.id)).await;
    assert_eq!(settled.body["status"], "succeeded");
    assert_eq!(app.test_card.view(&id).await.refunded, 4000);
    app.assert_ledger_balanced().await;
}

async fn a_bad_idempotency_key_is_refused(app: TestApp) {
    let m = app.merchant().await;
    let long = "k".repeat(300);
    let reply = app.post_idem(&m.sk, "/v1/payment_intents", intent_body(), Some(&long)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "idempotency_key_invalid");
}

async fn a_key_with_spaces_tabs_or_two_values_is_refused(app: TestApp) {
    let m = app.merchant().await;
    for bad in ["order 1", "order\t1", " order-1", "order-1 "] {
        let reply = app.post_idem(&m.sk, "/v1/payment_intents", intent_body(), Some(bad)).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, "idempotency_key_invalid"), "{bad:?}: {}", reply.raw);
    }
    let req = axum::http::Request::post("/v1/payment_intents")
        .header("authorization", format!("Bearer {}", m.sk))
        .header("content-type", "application/json")
        .header("idempotency-key", "one")
        .header("idempotency-key", "two")
        .body(axum::body::Body::from(intent_body().to_string()))
        .unwrap();
    let twice = app.send(req).await;
    assert_eq!(twice.code(), "idempotency_key_invalid", "{}", twice.raw);
    assert_eq!(intent_count(&app, &m.sk).await, 0, "nothing was created");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

async fn a_refund_key_cannot_be_reused_for_another_refund_even_after_it_was_purged(app: TestApp) {
    let m = app.merchant().await;
    let first = app.paid_intent(&m.sk, 5000).await;
    let second = app.paid_intent(&m.sk, 5000).await;
    let r1 = app.post_idem(&m.sk, "/v1/refunds", json!({ "payment_intent": first, "amount": 1000 }), Some("rk-1")).await;
    assert_eq!(r1.status, StatusCode::CREATED);
    app.clock.advance_minutes(49 * 60);
    assert_eq!(app.services.sweep().await.unwrap().purged_idempotency_keys, 1);

    // The same refund asked again still finds the first one: nothing is refunded twice.
    let same = app.post_idem(&m.sk, "/v1/refunds", json!({ "payment_intent": first, "amount": 1000 }), Some("rk-1")).await;
    assert_eq!(same.status, StatusCode::CREATED, "{}", same.raw);
    assert_eq!(same.id(), r1.id());

    app.clock.advance_minutes(49 * 60);
    app.services.sweep().await.unwrap();
    let other = app.post_idem(&m.sk, "/v1/refunds", json!({ "payment_intent": second, "amount": 3000 }), Some("rk-1")).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", other.raw);
    assert_eq!(other.code(), "idempotency_key_reused");
    assert_eq!(app.get(&m.sk, &format!("/v1/payment_intents/{second}")).await.body["amount_refunded"], 0);
    assert_eq!(app.test_card.view(&first).await.refunded, 1000);
    app.assert_ledger_balanced().await;
}

async fn a_full_refund_retried_with_its_key_after_the_purge_finds_the_first(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 6000).await;
    let first = app.post_idem(&m.sk, "/v1/refunds", json!({ "payment_intent": id }), Some("all")).await;
    assert_eq!((first.status, first.body["amount"].as_i64()), (StatusCode::CREATED, Some(6000)));
    app.clock.advance_minutes(49 * 60);
    app.services.sweep().await.unwrap();
    let retry = app.post_idem(&m.sk, "/v1/refunds", json!({ "payment_intent": id }), Some("all")).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.raw);
    assert_eq!(retry.id(), first.id());
    assert_eq!(app.test_card.view(&id).await.refunded, 6000);
}
