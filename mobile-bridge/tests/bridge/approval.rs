//! The approval flow through the wallet JSON API, as a phone drives it, on both engines.

use crate::helpers::{BridgeApp, Phone};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use gateway::connector::test_card::CARD_TIMEOUT;
use serde_json::{json, Value};

crate::bridge_on_both_engines!(
    approving_with_the_wallet_captures_once_and_moves_the_balance,
    declining_fails_the_intent_and_moves_nothing,
    an_intent_that_expires_while_the_customer_decides_is_not_charged,
    each_test_card_gives_its_outcome_through_the_wallet_api,
    a_wallet_without_enough_money_is_declined_and_keeps_its_balance,
    a_refund_of_a_wallet_payment_credits_the_wallet_back,
    a_funding_source_of_another_currency_or_mode_is_refused,
    a_customer_never_sees_or_spends_another_customers_money,
    two_phones_approving_at_once_get_one_capture_and_one_clear_error,
    an_unknown_or_malformed_code_is_not_found,
    approving_needs_a_signed_in_customer,
    funding_sources_are_labelled_in_the_customers_language,
);

async fn wallet(app: &BridgeApp, phone: &Phone, currency: &str) -> Value {
    let reply = app.get(&phone.access_token, "/wallet/v1/funding_sources").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    reply.body["data"]
        .as_array()
        .and_then(|d| d.iter().find(|s| s["type"] == "wallet" && s["currency"] == currency && s["livemode"] == false))
        .cloned()
        .unwrap_or_else(|| panic!("a test {currency} wallet in {}", reply.raw))
}

async fn balance(app: &BridgeApp, phone: &Phone, currency: &str) -> i64 {
    wallet(app, phone, currency).await["balance"].as_i64().unwrap()
}

async fn approve(app: &BridgeApp, phone: &Phone, code: &str, source: &str) -> crate::helpers::Reply {
    app.post(&phone.access_token, &format!("/wallet/v1/approvals/{code}/approve"), json!({ "funding_source": source })).await
}

async fn approving_with_the_wallet_captures_once_and_moves_the_balance(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({ "amount": 12000 })).await;
    let phone = app.sign_up("minji@example.com").await;

    let seen = app.get("", &format!("/wallet/v1/approvals/{code}")).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.raw);
    assert_eq!(seen.body["status"], "requires_action");
    assert_eq!(seen.body["amount_display"], "₩12,000");
    assert_eq!(seen.body["merchant_name"], "Test Shop");
    assert_eq!(seen.body["order_name"], "Coffee beans");

    let w = wallet(&app, &phone, "KRW").await;
    assert_eq!(w["balance"], 1_000_000, "test wallets open funded");
    let reply = approve(&app, &phone, &code, w["id"].as_str().unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    assert_eq!(reply.body["status"], "succeeded");

    let intent = app.intent_status(&m, &id).await;
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["connector"], "wallet");
    assert_eq!(intent["amount_captured"], 12000);
    assert_eq!(balance(&app, &phone, "KRW").await, 988_000);
    let payments = app.core.get(&m.sk, &format!("/v1/transactions?payment_intent={id}")).await;
    assert_eq!(payments.body["data"].as_array().map(Vec::len), Some(1), "{}", payments.raw);
    assert_eq!(payments.body["data"][0]["type"], "payment");

    let own = app.get(&phone.access_token, "/wallet/v1/payments").await;
    assert_eq!(own.body["data"].as_array().map(Vec::len), Some(1), "{}", own.raw);
    assert_eq!(own.body["data"][0]["id"], id);
    assert_eq!(own.body["data"][0]["merchant_name"], "Test Shop");
    assert_eq!(own.body["data"][0]["status"], "succeeded");

    let retried = approve(&app, &phone, &code, w["id"].as_str().unwrap()).await;
    assert_eq!((retried.status, &retried.body["status"]), (StatusCode::OK, &json!("succeeded")), "a retry gets the first outcome: {}", retried.raw);
    assert_eq!(balance(&app, &phone, "KRW").await, 988_000, "a second approval moves nothing");
    assert_eq!(app.core.test_card.view(&id).await.authorization_requests, 0);
    let other = app.sign_up("someone-else@example.com").await;
    let late = approve(&app, &other, &code, "card_test_visa").await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "approval_closed"), "{}", late.raw);
    let declined_after = app.post(&phone.access_token, &format!("/wallet/v1/approvals/{code}/decline"), json!({})).await;
    assert_eq!(declined_after.code(), "approval_closed", "an approved payment cannot be declined: {}", declined_after.raw);
    app.core.assert_ledger_balanced().await;
}

async fn declining_fails_the_intent_and_moves_nothing(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    let phone = app.sign_up("+821012345678").await;
    let w = wallet(&app, &phone, "KRW").await;
    let reply = app.post(&phone.access_token, &format!("/wallet/v1/approvals/{code}/decline"), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    assert_eq!(reply.body["status"], "failed");
    assert_eq!(reply.body["failure_code"], "customer_declined");
    assert_eq!(app.intent_status(&m, &id).await["failure_code"], "customer_declined");

    let late = approve(&app, &phone, &code, w["id"].as_str().unwrap()).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "approval_closed"), "{}", late.raw);
    let declined_again = app.post(&phone.access_token, &format!("/wallet/v1/approvals/{code}/decline"), json!({})).await;
    assert_eq!((declined_again.status, &declined_again.body["failure_code"]), (StatusCode::OK, &json!("customer_declined")), "{}", declined_again.raw);
    assert_eq!(balance(&app, &phone, "KRW").await, 1_000_000);
    let own = app.get(&phone.access_token, "/wallet/v1/payments").await;
    assert_eq!(own.body["data"][0]["status"], "failed", "the declined payment is the customer's own: {}", own.raw);
}

async fn an_intent_that_expires_while_the_customer_decides_is_not_charged(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({ "expires_in_minutes": 5 })).await;
    let phone = app.sign_up("slow@example.com").await;
    let w = wallet(&app, &phone, "KRW").await;
    assert_eq!(app.get("", &format!("/wallet/v1/approvals/{code}")).await.body["status"], "requires_action");

    app.core.clock.advance_ms(5 * 60_000 + 1);
    let reply = approve(&app, &phone, &code, w["id"].as_str().unwrap()).await;
    assert_eq!((reply.status, reply.code()), (StatusCode::CONFLICT, "intent_expired"), "{}", reply.raw);
    assert_eq!(app.intent_status(&m, &id).await["status"], "expired");
    assert_eq!(balance(&app, &phone, "KRW").await, 1_000_000);
    let again = approve(&app, &phone, &code, w["id"].as_str().unwrap()).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "approval_closed"), "{}", again.raw);
    app.core.assert_ledger_balanced().await;
}

async fn each_test_card_gives_its_outcome_through_the_wallet_api(app: BridgeApp) {
    let m = app.merchant().await;
    let phone = app.sign_up("cards@example.com").await;
    for (card, status, failure) in [
        ("card_test_visa", "succeeded", Value::Null),
        ("card_test_declined", "failed", json!("card_declined")),
        ("card_test_insufficient_funds", "failed", json!("insufficient_funds")),
        ("card_test_timeout", "succeeded", Value::Null),
    ] {
        let (id, code) = app.intent(&m, json!({})).await;
        let reply = approve(&app, &phone, &code, card).await;
        assert_eq!(reply.status, StatusCode::OK, "{card}: {}", reply.raw);
        assert_eq!(reply.body["status"], status, "{card}: {}", reply.raw);
        let intent = app.intent_status(&m, &id).await;
        assert_eq!(intent["failure_code"], failure, "{card}");
        assert_eq!(intent["connector"], "test_card");
        let at_processor = app.core.test_card.view(&id).await;
        assert_eq!(at_processor.authorization_requests, 1, "{card}: never authorized twice");
        assert_eq!(at_processor.captures, u32::from(status == "succeeded"), "{card}");
    }
    // The timeout card's answer was lost: the status check found the authorization.
    let _ = CARD_TIMEOUT;
    app.core.assert_ledger_balanced().await;
}

async fn a_wallet_without_enough_money_is_declined_and_keeps_its_balance(app: BridgeApp) {
    let m = app.merchant().await;
    let phone = app.sign_up("saver@example.com").await;
    let w = wallet(&app, &phone, "KRW").await;
    let wallet_id = w["id"].as_str().unwrap().to_owned();
    let (id, code) = app.intent(&m, json!({ "amount": 1_500_000 })).await;
    let reply = approve(&app, &phone, &code, &wallet_id).await;
    assert_eq!(reply.body["status"], "failed", "{}", reply.raw);
    assert_eq!(app.intent_status(&m, &id).await["failure_code"], "insufficient_funds");
    assert_eq!(balance(&app, &phone, "KRW").await, 1_000_000);

    let path = format!("/wallet/v1/wallets/{wallet_id}/top_ups");
    let topped = app.post(&phone.access_token, &path, json!({ "amount": 600_000 })).await;
    assert_eq!(topped.status, StatusCode::OK, "{}", topped.raw);
    assert_eq!(topped.body["balance"], 1_600_000);
    let bad = app.post(&phone.access_token, &path, json!({ "amount": 0 })).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "amount_invalid"), "{}", bad.raw);
    let too_much = app.post(&phone.access_token, &path, json!({ "amount": 99_000_000 })).await;
    assert_eq!(too_much.code(), "wallet_limit_exceeded", "{}", too_much.raw);

    let (_, code) = app.intent(&m, json!({ "amount": 1_500_000 })).await;
    assert_eq!(approve(&app, &phone, &code, &wallet_id).await.body["status"], "succeeded");
    assert_eq!(balance(&app, &phone, "KRW").await, 100_000);
    app.core.assert_ledger_balanced().await;
}

async fn a_refund_of_a_wallet_payment_credits_the_wallet_back(app: BridgeApp) {
    let m = app.merchant().await;
    let phone = app.sign_up("refund@example.com").await;
    let w = wallet(&app, &phone, "USD").await;
    let (id, code) = app.intent(&m, json!({ "amount": 1200, "currency": "USD" })).await;
    assert_eq!(app.get("", &format!("/wallet/v1/approvals/{code}")).await.body["amount_display"], "$12.00");
    assert_eq!(approve(&app, &phone, &code, w["id"].as_str().unwrap()).await.body["status"], "succeeded");
    assert_eq!(balance(&app, &phone, "USD").await, 100_000 - 1200);
    let refund = app.core.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 500 })).await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.raw);
    assert_eq!(balance(&app, &phone, "USD").await, 100_000 - 700);
    let own = app.get(&phone.access_token, "/wallet/v1/payments").await;
    assert_eq!(own.body["data"][0]["amount_refunded"], 500);
    app.core.assert_ledger_balanced().await;
}

async fn a_funding_source_of_another_currency_or_mode_is_refused(app: BridgeApp) {
    let m = app.merchant().await;
    let phone = app.sign_up("mixed@example.com").await;
    let usd = wallet(&app, &phone, "USD").await;
    let (id, code) = app.intent(&m, json!({})).await;
    let reply = approve(&app, &phone, &code, usd["id"].as_str().unwrap()).await;
    assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, "funding_source_currency_mismatch"), "{}", reply.raw);
    assert_eq!(app.intent_status(&m, &id).await["status"], "requires_action", "nothing happened: the customer may pick again");

    let live = app.core.create_intent(&m.live_sk, json!({})).await;
    let live_url = app.core.get(&m.live_sk, &format!("/v1/payment_intents/{live}")).await.body["next_action"]["url"].as_str().unwrap().to_owned();
    let live_code = live_url.rsplit('/').next().unwrap();
    let krw = wallet(&app, &phone, "KRW").await;
    for source in ["card_test_visa", krw["id"].as_str().unwrap()] {
        let reply = approve(&app, &phone, live_code, source).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, "funding_source_mode_mismatch"), "{source}: {}", reply.raw);
    }
    let unknown = approve(&app, &phone, &code, "card_test_nonexistent").await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "funding_source_missing"), "{}", unknown.raw);
}

async fn a_customer_never_sees_or_spends_another_customers_money(app: BridgeApp) {
    let m = app.merchant().await;
    let (alice, mallory) = (app.sign_up("alice@example.com").await, app.sign_up("mallory@example.com").await);
    let alices = wallet(&app, &alice, "KRW").await;
    let alices_id = alices["id"].as_str().unwrap();
    let (_, code) = app.intent(&m, json!({})).await;

    let stolen = approve(&app, &mallory, &code, alices_id).await;
    assert_eq!((stolen.status, stolen.code()), (StatusCode::NOT_FOUND, "funding_source_missing"), "{}", stolen.raw);
    let top_up = app.post(&mallory.access_token, &format!("/wallet/v1/wallets/{alices_id}/top_ups"), json!({ "amount": 1 })).await;
    assert_eq!(top_up.status, StatusCode::NOT_FOUND, "{}", top_up.raw);

    assert_eq!(approve(&app, &alice, &code, alices_id).await.body["status"], "succeeded");
    let mallorys = app.get(&mallory.access_token, "/wallet/v1/payments").await;
    assert_eq!(mallorys.body["data"], json!([]), "{}", mallorys.raw);
    let sources = app.get(&mallory.access_token, "/wallet/v1/funding_sources").await;
    assert!(!sources.raw.contains(alices_id), "{}", sources.raw);
    assert_eq!(balance(&app, &alice, "KRW").await, 990_000);
}

async fn two_phones_approving_at_once_get_one_capture_and_one_clear_error(app: BridgeApp) {
    let m = app.merchant().await;
    let (a, b) = (app.sign_up("first@example.com").await, app.sign_up("second@example.com").await);
    let (wa, wb) = (wallet(&app, &a, "KRW").await, wallet(&app, &b, "KRW").await);
    for round in 0..5 {
        let (id, code) = app.intent(&m, json!({ "merchant_order_id": format!("race-{round}") })).await;
        let (ra, rb) = tokio::join!(
            approve(&app, &a, &code, wa["id"].as_str().unwrap()),
            approve(&app, &b, &code, wb["id"].as_str().unwrap())
        );
        let mut outcomes = [(ra.status, ra.code().to_owned()), (rb.status, rb.code().to_owned())];
        outcomes.sort();
        assert_eq!(
            outcomes,
            [(StatusCode::OK, String::new()), (StatusCode::CONFLICT, "approval_closed".to_owned())],
            "round {round}: {} / {}",
            ra.raw,
            rb.raw
        );
        let txns = app.core.get(&m.sk, &format!("/v1/transactions?payment_intent={id}")).await;
        assert_eq!(txns.body["data"].as_array().map(Vec::len), Some(1), "one capture: {}", txns.raw);
    }
    // One phone tapping twice at once: both answers are the one outcome, with one capture.
    let (id, code) = app.intent(&m, json!({ "merchant_order_id": "double-tap" })).await;
    let (r1, r2) = tokio::join!(approve(&app, &a, &code, wa["id"].as_str().unwrap()), approve(&app, &a, &code, wa["id"].as_str().unwrap()));
    assert_eq!((r1.status, r2.status), (StatusCode::OK, StatusCode::OK), "{} / {}", r1.raw, r2.raw);
    let txns = app.core.get(&m.sk, &format!("/v1/transactions?payment_intent={id}")).await;
    assert_eq!(txns.body["data"].as_array().map(Vec::len), Some(1), "one capture: {}", txns.raw);
    let spent = (1_000_000 - balance(&app, &a, "KRW").await) + (1_000_000 - balance(&app, &b, "KRW").await);
    assert_eq!(spent, 6 * 10_000, "six payments, six debits, whoever won each");
    app.core.assert_ledger_balanced().await;
}

async fn an_unknown_or_malformed_code_is_not_found(app: BridgeApp) {
    let phone = app.sign_up("lost@example.com").await;
    for code in ["A".repeat(32), "short".into(), "%2e%2e".into()] {
        let seen = app.get("", &format!("/wallet/v1/approvals/{code}")).await;
        assert_eq!((seen.status, seen.code()), (StatusCode::NOT_FOUND, "approval_link_invalid"), "{code}: {}", seen.raw);
        let reply = approve(&app, &phone, &code, "card_test_visa").await;
        assert_eq!(reply.code(), "approval_link_invalid", "{code}: {}", reply.raw);
    }
}

async fn approving_needs_a_signed_in_customer(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    let reply = app.post("", &format!("/wallet/v1/approvals/{code}/approve"), json!({ "funding_source": "card_test_visa" })).await;
    assert_eq!((reply.status, reply.code()), (StatusCode::UNAUTHORIZED, "authentication_required"), "{}", reply.raw);
    let with_merchant_key = app.post(&m.sk, &format!("/wallet/v1/approvals/{code}/approve"), json!({ "funding_source": "card_test_visa" })).await;
    assert_eq!(with_merchant_key.status, StatusCode::UNAUTHORIZED, "{}", with_merchant_key.raw);
    assert_eq!(app.intent_status(&m, &id).await["status"], "requires_action");
}

async fn funding_sources_are_labelled_in_the_customers_language(app: BridgeApp) {
    let phone = app.sign_up("jiwoo@example.com").await;
    let labels = |headers: &'static [(&'static str, &'static str)]| {
        let app = &app;
        let token = phone.access_token.clone();
        async move {
            let mut req = Request::get("/wallet/v1/funding_sources").header("authorization", format!("Bearer {token}"));
            for (name, value) in headers {
                req = req.header(*name, *value);
            }
            let reply = app.send(req.body(Body::empty()).unwrap()).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
            let by_id = |id: &str| -> String {
                let found = reply.body["data"].as_array().unwrap().iter().find(|s| s["id"] == id).cloned();
                found.map(|s| s["label"].as_str().unwrap().to_owned()).unwrap_or_default()
            };
            let krw = reply.body["data"].as_array().unwrap().iter().find(|s| s["type"] == "wallet" && s["currency"] == "KRW").cloned();
            (krw.map(|s| s["label"].as_str().unwrap().to_owned()).unwrap_or_default(), by_id("card_test_timeout"))
        }
    };
    let korean = labels(&[("accept-language", "ko-KR,ko;q=0.9")]).await;
    assert_eq!(korean, ("지갑 KRW (테스트)".to_owned(), "테스트 카드 ···· 0119 (처리 시간 초과)".to_owned()));
    let english = labels(&[("accept-language", "en-US")]).await;
    assert_eq!(english, ("Wallet KRW (test)".to_owned(), "Test card ···· 0119 (processor timeout)".to_owned()));
    // The page's language switch (the cookie) wins over the phone's settings, as on the page.
    let switched = labels(&[("accept-language", "ko-KR"), ("cookie", "lang=en")]).await;
    assert_eq!(switched, english);
}
