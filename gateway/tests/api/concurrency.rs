//! Many concurrent requests on one object: money moves once.

use crate::helpers::TestApp;
use axum::http::StatusCode;
use futures::future::join_all;
use serde_json::json;
use std::sync::Arc;

crate::on_both_engines!(
    a_hundred_concurrent_approvals_capture_exactly_once,
    twenty_concurrent_partial_refunds_never_exceed_the_capture,
    concurrent_confirms_capture_exactly_once,
    concurrent_cancel_and_approve_leave_one_winner,
    concurrent_refunds_that_together_refund_everything_leave_the_intent_refunded,
);

async fn a_hundred_concurrent_approvals_capture_exactly_once(app: TestApp) {
    let app = Arc::new(app);
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({ "amount": 7000 })).await;
    let replies = join_all((0..100).map(|_| {
        let (app, sk, id) = (app.clone(), m.sk.clone(), id.clone());
        tokio::spawn(async move { app.approve(&sk, &id, "4242424242424242").await })
    }))
    .await;
    let replies: Vec<_> = replies.into_iter().map(|r| r.unwrap()).collect();
    let winners = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(winners, 1, "exactly one approval succeeds");
    for loser in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(loser.status, StatusCode::CONFLICT, "{}", loser.raw);
        assert_eq!(loser.code(), "intent_unexpected_state");
    }
    let txns = app.get(&m.sk, &format!("/v1/transactions?payment_intent={id}&type=payment")).await;
    assert_eq!(txns.body["data"].as_array().unwrap().len(), 1, "one capture row");
    let view = app.test_card.view(&id).await;
    assert_eq!((view.authorizations, view.captures), (1, 1), "the processor authorized and captured once");
    app.assert_ledger_balanced().await;
}

async fn twenty_concurrent_partial_refunds_never_exceed_the_capture(app: TestApp) {
    let app = Arc::new(app);
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 10_000).await;
    // 20 x 1,500 = 30,000 asked against 10,000 captured.
    let replies = join_all((0..20).map(|_| {
        let (app, sk, id) = (app.clone(), m.sk.clone(), id.clone());
        tokio::spawn(async move { app.post(&sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 1500 })).await })
    }))
    .await;
    let replies: Vec<_> = replies.into_iter().map(|r| r.unwrap()).collect();
    let ok = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
    assert_eq!(ok, 6, "6 x 1,500 fit into 10,000");
    for refused in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(refused.code(), "refund_exceeds_captured", "{}", refused.raw);
    }
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["amount_refunded"], 9000);
    assert_eq!(intent.body["status"], "partially_refunded");
    assert_eq!(app.test_card.view(&id).await.refunded, 9000);
    app.assert_ledger_balanced().await;
}

async fn concurrent_confirms_capture_exactly_once(app: TestApp) {
    let app = Arc::new(app);
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({ "confirm_mode": "manual" })).await;
    app.approve(&m.sk, &id, "4242424242424242").await;
    let replies = join_all((0..30).map(|_| {
        let (app, sk, id) = (app.clone(), m.sk.clone(), id.clone());
        tokio::spawn(async move { app.post(&sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 10000 })).await })
    }))
    .await;
    let ok = replies.iter().filter(|r| r.as_ref().unwrap().status == StatusCode::OK).count();
    assert_eq!(ok, 1);
    assert_eq!(app.test_card.view(&id).await.captures, 1);
    app.assert_ledger_balanced().await;
}

async fn concurrent_cancel_and_approve_leave_one_winner(app: TestApp) {
    let app = Arc::new(app);
    let m = app.merchant().await;
    for _ in 0..5 {
        let id = app.create_intent(&m.sk, json!({})).await;
        let cancel_path = format!("/v1/payment_intents/{id}/cancel");
        let (a, c) = tokio::join!(app.approve(&m.sk, &id, "4242424242424242"), app.post(&m.sk, &cancel_path, json!({})));
        assert!(
            (a.status == StatusCode::OK) != (c.status == StatusCode::OK),
            "exactly one of approve ({}) and cancel ({}) wins",
            a.status,
            c.status
        );
        let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
        let status = intent.body["status"].as_str().unwrap();
        assert!(status == "succeeded" || status == "canceled", "{status}");
    }
    app.assert_ledger_balanced().await;
}

async fn concurrent_refunds_that_together_refund_everything_leave_the_intent_refunded(app: TestApp) {
    let app = Arc::new(app);
    let m = app.merchant().await;
    for _ in 0..3 {
        let id = app.paid_intent(&m.sk, 10_000).await;
        let replies = join_all((0..10).map(|_| {
            let (app, sk, id) = (app.clone(), m.sk.clone(), id.clone());
            tokio::spawn(async move { app.post(&sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 1000 })).await })
        }))
        .await;
        assert!(replies.iter().all(|r| r.as_ref().unwrap().status == StatusCode::CREATED));
        let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
        assert_eq!(intent.body["amount_refunded"], 10_000);
        assert_eq!(intent.body["status"], "refunded", "the last settlement sees every other one");
    }
    app.assert_ledger_balanced().await;
}
