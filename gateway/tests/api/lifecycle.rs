//! The whole payment lifecycle through the HTTP router.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::json;

crate::on_both_engines!(
    an_automatic_intent_is_created_approved_and_captured,
    a_manual_intent_is_captured_only_by_a_confirm_with_the_right_amount,
    an_intent_not_confirmed_within_ten_minutes_is_voided,
    cancel_works_only_before_payment,
    partial_and_full_refunds_never_exceed_the_captured_amount,
    each_magic_card_forces_its_outcome,
    an_expired_intent_cannot_be_approved,
    the_customer_can_decline,
    transactions_list_every_money_movement_with_filters,
    intents_list_with_cursor_pagination_and_filters,
    every_state_change_appends_one_event,
);

async fn an_automatic_intent_is_created_approved_and_captured(app: TestApp) {
    let m = app.merchant().await;
    let created = app
        .post(&m.sk, "/v1/payment_intents", json!({
            "amount": 12000, "currency": "krw", "merchant_order_id": "A-1", "order_name": "Beans",
            "customer_name": "Kim Minji", "customer_email": "minji@example.com", "metadata": {"cart": "42"}
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    let b = &created.body;
    assert_eq!(b["status"], "requires_action");
    assert_eq!(b["currency"], "KRW");
    assert_eq!(b["livemode"], false);
    assert_eq!(b["confirm_mode"], "automatic");
    assert_eq!(b["metadata"]["cart"], "42");
    assert!(b["client_secret"].as_str().unwrap().starts_with(&format!("{}_secret_", created.id())));
    assert!(b["next_action"]["url"].as_str().unwrap().starts_with("https://pay.example.test/p/"));
    assert_eq!(b["expires_at"], "2026-01-01T00:15:00.000Z", "default expiry is 15 minutes");

    let id = created.id();
    let approved = app.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.raw);
    assert_eq!(approved.body["status"], "succeeded");
    assert_eq!(approved.body["amount_captured"], 12000);
    assert_eq!(approved.body["connector"], "test_card");

    let fetched = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(fetched.body["status"], "succeeded");
    assert!(fetched.body.get("client_secret").is_none(), "the client secret is shown at creation only");
    assert_eq!(app.test_card.view(&id).await.captures, 1);
    app.assert_ledger_balanced().await;
}

async fn a_manual_intent_is_captured_only_by_a_confirm_with_the_right_amount(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({ "amount": 5000, "confirm_mode": "manual" })).await;
    let approved = app.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approved.body["status"], "requires_confirmation");
    assert_eq!(approved.body["confirm_deadline"], "2026-01-01T00:10:00.000Z");

    let wrong = app.post(&m.sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 4000 })).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.code(), "amount_mismatch");
    assert_eq!(wrong.body["error"]["param"], "amount");
    let after_wrong = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(after_wrong.body["status"], "requires_confirmation");
    assert_eq!(after_wrong.body["amount_captured"], 0, "nothing is captured on a mismatch");
    assert_eq!(app.test_card.view(&id).await.captures, 0);
    let txns = app.get(&m.sk, &format!("/v1/transactions?payment_intent={id}")).await;
    assert_eq!(txns.body["data"].as_array().unwrap().len(), 0);

    app.clock.advance_minutes(9);
    let right = app.post(&m.sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 5000 })).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.raw);
    assert_eq!(right.body["status"], "succeeded");
    assert_eq!(right.body["amount_captured"], 5000);
    assert_eq!(app.test_card.view(&id).await.captures, 1);

    let again = app.post(&m.sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 5000 })).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "intent_unexpected_state");
    app.assert_ledger_balanced().await;
}

async fn an_intent_not_confirmed_within_ten_minutes_is_voided(app: TestApp) {
    let m = app.merchant().await;
    let swept = app.create_intent(&m.sk, json!({ "confirm_mode": "manual" })).await;
    let late = app.create_intent(&m.sk, json!({ "confirm_mode": "manual" })).await;
    app.approve(&m.sk, &swept, "4242424242424242").await;
    app.approve(&m.sk, &late, "4242424242424242").await;
    app.clock.advance_minutes(10);

    // The merchant confirms too late: refused, and the intent is voided on the spot.
    let confirm = app.post(&m.sk, &format!("/v1/payment_intents/{late}/confirm"), json!({ "amount": 10000 })).await;
    assert_eq!(confirm.status, StatusCode::CONFLICT, "{}", confirm.raw);
    assert_eq!(confirm.code(), "intent_expired");

    // The other one is voided by the background sweep.
    let report = app.services.sweep().await.unwrap();
    assert_eq!(report.expired_intents, 1);
    for id in [&swept, &late] {
        let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
        assert_eq!(intent.body["status"], "expired");
        assert_eq!(intent.body["amount_captured"], 0);
        assert_eq!(app.test_card.view(id).await.captures, 0);
    }
    app.assert_ledger_balanced().await;
}

async fn cancel_works_only_before_payment(app: TestApp) {
    let m = app.merchant().await;
    let open = app.create_intent(&m.sk, json!({})).await;
    let canceled = app.post(&m.sk, &format!("/v1/payment_intents/{open}/cancel"), json!({ "cancellation_reason": "customer left" })).await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.raw);
    assert_eq!(canceled.body["status"], "canceled");
    assert_eq!(canceled.body["cancellation_reason"], "customer left");
    assert!(canceled.body["next_action"].is_null());

    let twice = app.post(&m.sk, &format!("/v1/payment_intents/{open}/cancel"), json!({})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.code(), "intent_unexpected_state");

    let approve_canceled = app.approve(&m.sk, &open, "4242424242424242").await;
    assert_eq!(approve_canceled.status, StatusCode::CONFLICT);

    let paid = app.paid_intent(&m.sk, 3000).await;
    let cancel_paid = app.post(&m.sk, &format!("/v1/payment_intents/{paid}/cancel"), json!({})).await;
    assert_eq!(cancel_paid.status, StatusCode::CONFLICT);
    assert_eq!(cancel_paid.code(), "intent_unexpected_state");

    // An approved manual intent can still be canceled: the authorization is released.
    let held = app.create_intent(&m.sk, json!({ "confirm_mode": "manual" })).await;
    app.approve(&m.sk, &held, "4242424242424242").await;
    let released = app.post(&m.sk, &format!("/v1/payment_intents/{held}/cancel"), json!({})).await;
    assert_eq!(released.body["status"], "canceled");
    let confirm = app.post(&m.sk, &format!("/v1/payment_intents/{held}/confirm"), json!({ "amount": 10000 })).await;
    assert_eq!(confirm.status, StatusCode::CONFLICT);
    assert_eq!(app.test_card.view(&held).await.captures, 0);
    assert_eq!(app.test_card.view(&held).await.voided, 1, "the authorization was released at the processor");
    app.assert_ledger_balanced().await;
}

async fn partial_and_full_refunds_never_exceed_the_captured_amount(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 10000).await;
    let first = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 3000, "reason": "one broken cup" })).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    assert_eq!(first.body["status"], "succeeded");
    assert_eq!(first.body["reason"], "one broken cup");
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "partially_refunded");
    assert_eq!(intent.body["amount_refunded"], 3000);

    let second = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 2000 })).await;
    assert_eq!(second.body["status"], "succeeded");

    let too_much = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 5001 })).await;
    assert_eq!(too_much.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_much.code(), "refund_exceeds_captured");

    // No amount: the rest.
    let rest = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id })).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.raw);
    assert_eq!(rest.body["amount"], 5000);
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "refunded");
    assert_eq!(intent.body["amount_refunded"], 10000);

    let nothing_left = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 1 })).await;
    assert_eq!(nothing_left.status, StatusCode::CONFLICT, "a fully refunded intent is no longer refundable: {}", nothing_left.raw);

    let refund_id = first.id();
    let fetched = app.get(&m.sk, &format!("/v1/refunds/{refund_id}")).await;
    assert_eq!(fetched.body["amount"], 3000);
    let listed = app.get(&m.sk, &format!("/v1/refunds?payment_intent={id}")).await;
    let amounts: Vec<i64> = listed.body["data"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts.iter().sum::<i64>(), 10000);
    assert_eq!(amounts.len(), 3);
    assert_eq!(app.test_card.view(&id).await.refunded, 10000);

    let unpaid = app.create_intent(&m.sk, json!({})).await;
    let refund_unpaid = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": unpaid, "amount": 100 })).await;
    assert_eq!(refund_unpaid.status, StatusCode::CONFLICT);
    app.assert_ledger_balanced().await;
}

async fn each_magic_card_forces_its_outcome(app: TestApp) {
    let m = app.merchant().await;
    for (card, status, failure) in [
        ("4242424242424242", "succeeded", None),
        ("4000000000000002", "failed", Some("card_declined")),
        ("4000000000009995", "failed", Some("insufficient_funds")),
        ("4242424242424241", "failed", Some("invalid_card")),
    ] {
        let id = app.create_intent(&m.sk, json!({})).await;
        let reply = app.approve(&m.sk, &id, card).await;
        assert_eq!(reply.status, StatusCode::OK, "{card}: {}", reply.raw);
        assert_eq!(reply.body["status"], status, "{card}");
        assert_eq!(reply.body["failure_code"].as_str(), failure, "{card}");
        let captured = if status == "succeeded" { 10000 } else { 0 };
        assert_eq!(reply.body["amount_captured"], captured);
    }
    let not_digits = app.approve(&m.sk, &app.create_intent(&m.sk, json!({})).await, "4242-abc").await;
    assert_eq!(not_digits.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_digits.body["error"]["param"], "card_number");
    app.assert_ledger_balanced().await;
}

async fn an_expired_intent_cannot_be_approved(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({ "expires_in_minutes": 5 })).await;
    app.clock.advance_minutes(5);
    let reply = app.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.raw);
    assert_eq!(reply.code(), "intent_expired");
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "expired");
    assert_eq!(app.test_card.view(&id).await.authorizations, 0, "the processor is never asked");

    let by_helper = app.create_intent(&m.sk, json!({})).await;
    let expired = app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{by_helper}/expire"), json!({})).await;
    assert_eq!(expired.body["status"], "expired");
    let again = app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{by_helper}/expire"), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let swept = app.create_intent(&m.sk, json!({ "expires_in_minutes": 1 })).await;
    app.clock.advance_minutes(2);
    app.services.sweep().await.unwrap();
    assert_eq!(app.get(&m.sk, &format!("/v1/payment_intents/{swept}")).await.body["status"], "expired");
    app.assert_ledger_balanced().await;
}

async fn the_customer_can_decline(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    let declined = app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/decline"), json!({})).await;
    assert_eq!(declined.body["status"], "failed");
    assert_eq!(declined.body["failure_code"], "customer_declined");
    let approve = app.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approve.status, StatusCode::CONFLICT);
    app.assert_ledger_balanced().await;
}

async fn transactions_list_every_money_movement_with_filters(app: TestApp) {
    let m = app.merchant().await;
    // Day 1: Kim pays, Lee pays and is partly refunded.
    let kim = app.create_intent(&m.sk, json!({ "customer_name": "Kim Minji", "amount": 1000 })).await;
    app.approve(&m.sk, &kim, "4242424242424242").await;
    app.clock.advance_minutes(1);
    let lee = app.create_intent(&m.sk, json!({ "customer_name": "Lee Jun_ho", "amount": 2000 })).await;
    app.approve(&m.sk, &lee, "4242424242424242").await;
    app.clock.advance_minutes(1);
    app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": lee, "amount": 500 })).await;
    // Day 3: Park cancels.
    app.clock.advance_minutes(2 * 24 * 60);
    let park = app.create_intent(&m.sk, json!({ "customer_name": "Park Seo-yeon", "amount": 3000 })).await;
    app.post(&m.sk, &format!("/v1/payment_intents/{park}/cancel"), json!({})).await;

    let all = app.get(&m.sk, "/v1/transactions").await;
    let rows = all.body["data"].as_array().unwrap().clone();
    let kinds: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["cancel", "refund", "payment", "payment"], "newest first");
    assert_eq!(rows[0]["customer_name"], "Park Seo-yeon");
    assert_eq!(rows[0]["amount"], 3000);
    assert_eq!(rows[1]["amount"], 500);
    assert_eq!(rows[1]["status"], "succeeded");
    assert_eq!(rows[1]["currency"], "KRW");
    assert!(rows[1]["created_at"].as_str().unwrap().starts_with("2026-01-01T"));

    let count = |path: String| {
        let app = &app;
        let sk = m.sk.clone();
        async move { app.get(&sk, &path).await.body["data"].as_array().map(|a| a.len()).unwrap_or(usize::MAX) }
    };
    assert_eq!(count("/v1/transactions?type=payment".into()).await, 2);
    assert_eq!(count("/v1/transactions?type=refund".into()).await, 1);
    assert_eq!(count("/v1/transactions?type=cancel".into()).await, 1);
    assert_eq!(count("/v1/transactions?customer_name=lee".into()).await, 2, "case-insensitive substring");
    assert_eq!(count("/v1/transactions?customer_name=jun_ho".into()).await, 2);
    assert_eq!(count("/v1/transactions?customer_name=e_j".into()).await, 0, "`_` is literal, not a wildcard");
    assert_eq!(count("/v1/transactions?customer_name=%25".into()).await, 0, "`%` is literal");
    let nul = app.get(&m.sk, "/v1/transactions?customer_name=%00").await;
    assert_eq!((nul.status, nul.code()), (StatusCode::BAD_REQUEST, "parameter_invalid"));
    assert_eq!(count("/v1/transactions?created_gte=2026-01-02".into()).await, 1);
    assert_eq!(count("/v1/transactions?created_lt=2026-01-02".into()).await, 3);
    assert_eq!(count("/v1/transactions?created_gte=2026-01-01T00:00:00Z&created_lt=2026-01-04T00:00:00Z&type=payment&customer_name=kim".into()).await, 1);
    assert_eq!(count(format!("/v1/transactions?payment_intent={lee}")).await, 2);

    // Cursor pagination walks every row once.
    let mut seen = Vec::new();
    let mut path = "/v1/transactions?limit=1".to_owned();
    loop {
        let page = app.get(&m.sk, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.raw);
        seen.extend(page.body["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/transactions?limit=1&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(seen, expected);
    app.assert_ledger_balanced().await;
}

async fn intents_list_with_cursor_pagination_and_filters(app: TestApp) {
    let m = app.merchant().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_intent(&m.sk, json!({ "customer_name": if i % 2 == 0 { "Choi Yuna" } else { "Jung Hoseok" } })).await);
        app.clock.advance_minutes(1);
    }
    app.approve(&m.sk, &ids[0], "4242424242424242").await;

    let page1 = app.get(&m.sk, "/v1/payment_intents?limit=2").await;
    assert_eq!(page1.body["has_more"], true);
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = app.get(&m.sk, &format!("/v1/payment_intents?limit=2&cursor={cursor}")).await;
    let page3 = app.get(&m.sk, &format!("/v1/payment_intents?limit=2&cursor={}", page2.body["next_cursor"].as_str().unwrap())).await;
    assert_eq!(page3.body["has_more"], false);
    assert!(page3.body["next_cursor"].is_null());
    let walked: Vec<String> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| p.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()))
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(walked, newest_first);

    let succeeded = app.get(&m.sk, "/v1/payment_intents?status=succeeded").await;
    assert_eq!(succeeded.body["data"].as_array().unwrap().len(), 1);
    let choi = app.get(&m.sk, "/v1/payment_intents?customer_name=CHOI").await;
    assert_eq!(choi.body["data"].as_array().unwrap().len(), 3);
    // Case folding beyond ASCII, the same on both engines.
    app.create_intent(&m.sk, json!({ "customer_name": "Émile Zoë" })).await;
    let emile = app.get(&m.sk, "/v1/payment_intents?customer_name=%C3%A9mile%20zo%C3%AB").await;
    assert_eq!(emile.body["data"].as_array().unwrap().len(), 1, "{}", emile.raw);
    let korean = app.create_intent(&m.sk, json!({ "customer_name": "김민지" })).await;
    let found = app.get(&m.sk, "/v1/payment_intents?customer_name=%EB%AF%BC%EC%A7%80").await;
    assert_eq!(found.body["data"][0]["id"], korean.as_str());
    let range = app.get(&m.sk, "/v1/payment_intents?created_gte=2026-01-01T00:01:00Z&created_lt=2026-01-01T00:03:00Z").await;
    assert_eq!(range.body["data"].as_array().unwrap().len(), 2);
}

async fn every_state_change_appends_one_event(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({ "confirm_mode": "manual" })).await;
    app.approve(&m.sk, &id, "4242424242424242").await;
    app.post(&m.sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 10000 })).await;
    app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 10000 })).await;
    let scope = gateway::domain::Scope { merchant_id: m.id.clone(), livemode: false };
    let events = app.store.events_after(&scope, Some(&id), 0, 1000).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "payment_intent.created",
            "payment_intent.processing",
            "payment_intent.requires_confirmation",
            "payment_intent.processing",
            "payment_intent.succeeded",
            "payment_intent.refunded",
        ]
    );
    assert!(events.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert_eq!(events[4].data["amount_captured"], 10000, "the payload is the object after the change");
}
