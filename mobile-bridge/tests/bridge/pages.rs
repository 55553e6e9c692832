//! The approval page (`/p/{code}`): what the customer's phone shows, in which language, and what
//! the merchant's checkout learns from it.

use crate::bridge_on_both_engines;
use crate::helpers::{BridgeApp, TestMerchant, START};
use axum::http::StatusCode;
use serde_json::json;

const KOREAN_PHONE: (&str, &str) = ("accept-language", "ko-KR,ko;q=0.9,en;q=0.8");
const AMERICAN_PHONE: (&str, &str) = ("accept-language", "en-US");

async fn scans(app: &BridgeApp, m: &TestMerchant) -> usize {
    let reply = app.core.get(&m.sk, "/v1/events?type=payment_intent.scanned").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    reply.body["data"].as_array().map_or(0, Vec::len)
}

async fn the_page_shows_merchant_order_and_amount_in_korean_for_a_korean_phone(app: BridgeApp) {
    let m = app.merchant().await;
    let (_, code) = app.intent(&m, json!({ "amount": 12000, "order_name": "원두 1kg" })).await;
    let page = app.page(&format!("/p/{code}"), &[KOREAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(r#"<html lang="ko">"#), "{}", page.html);
    assert!(page.html.contains("Test Shop"));
    assert!(page.html.contains("원두 1kg"));
    assert!(page.html.contains("₩12,000"));
    assert!(page.html.contains("결제 승인"));
    assert!(page.html.contains(">승인</button>") && page.html.contains(">거절</button>"));
    assert!(page.html.contains(r#"href="?lang=en""#), "the switch leads to English");
    // The countdown: 15 minutes from the test clock's now, and the deadline for the script.
    assert!(page.html.contains(">15:00</time>"), "{}", page.html);
    let deadline = START + 15 * 60_000;
    assert!(page.html.contains(&format!(r#"data-deadline="{deadline}""#)));
    assert!(page.headers.get("set-cookie").is_none(), "only ?lang= sets the cookie");
}

async fn the_page_is_in_english_for_an_english_phone_with_the_dollar_amount(app: BridgeApp) {
    let m = app.merchant().await;
    let (_, code) = app.intent(&m, json!({ "amount": 1200, "currency": "USD", "order_name": "Coffee beans" })).await;
    let page = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(r#"<html lang="en">"#));
    assert!(page.html.contains("$12.00"));
    assert!(page.html.contains("Coffee beans"));
    assert!(page.html.contains(">Approve</button>") && page.html.contains(">Decline</button>"));
    assert!(page.html.contains(r#"href="?lang=ko""#));
}

async fn lang_in_the_query_overrides_the_phone_and_is_remembered_in_a_cookie(app: BridgeApp) {
    let m = app.merchant().await;
    let (_, code) = app.intent(&m, json!({})).await;
    let page = app.page(&format!("/p/{code}?lang=en"), &[KOREAN_PHONE]).await;
    assert!(page.html.contains(r#"<html lang="en">"#));
    let cookie = page.headers.get("set-cookie").expect("a lang cookie").to_str().unwrap();
    assert!(cookie.starts_with("lang=en;"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    // The cookie then wins over Accept-Language.
    let page = app.page(&format!("/p/{code}"), &[KOREAN_PHONE, ("cookie", "lang=en")]).await;
    assert!(page.html.contains(r#"<html lang="en">"#));
    let page = app.page(&format!("/p/{code}?lang=ko"), &[AMERICAN_PHONE, ("cookie", "lang=en")]).await;
    assert!(page.html.contains(r#"<html lang="ko">"#));
    assert!(page.headers["set-cookie"].to_str().unwrap().starts_with("lang=ko;"));
}

async fn opening_the_page_tells_the_checkout_it_was_scanned_once(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    assert_eq!(scans(&app, &m).await, 0);
    let page = app.page(&format!("/p/{code}"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    // A reload, a language switch, another phone and the JSON view add nothing.
    app.page(&format!("/p/{code}"), &[]).await;
    app.page(&format!("/p/{code}?lang=ko"), &[AMERICAN_PHONE]).await;
    app.page(&format!("/p/{code}"), &[KOREAN_PHONE]).await;
    let view = app.core.get("", &format!("/wallet/v1/approvals/{code}")).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.raw);
    assert_eq!(view.body["status"], "requires_action", "{}", view.raw);
    let events = app.core.get(&m.sk, "/v1/events?type=payment_intent.scanned").await;
    assert_eq!(events.body["data"].as_array().map(Vec::len), Some(1), "{}", events.raw);
    assert_eq!(events.body["data"][0]["data"]["id"], id, "{}", events.raw);
}

async fn an_ended_intent_is_not_scanned(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    let canceled = app.core.post(&m.sk, &format!("/v1/payment_intents/{id}/cancel"), json!({})).await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.raw);
    app.page(&format!("/p/{code}"), &[]).await;
    assert_eq!(scans(&app, &m).await, 0);
}

async fn a_paid_intent_shows_the_paid_page(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({ "amount": 12000, "order_name": "Beans" })).await;
    let paid = app.core.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.raw);
    let page = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Payment complete"), "{}", page.html);
    assert!(page.html.contains(r#"data-outcome="paid""#));
    assert!(page.html.contains("₩12,000") && page.html.contains("Test Shop") && page.html.contains("Beans"));
    assert!(!page.html.contains(r#"id="approve""#), "no buttons on a final page");
}

async fn after_the_outcome_the_page_sends_the_phone_back_to_the_merchants_return_url(app: BridgeApp) {
    let m = app.merchant().await;
    let return_url = "https://shop.example.com/orders/7/return?from=pay";
    let (id, code) = app.intent(&m, json!({ "amount": 12000, "return_url": return_url, "confirm_mode": "manual" })).await;
    let secret = app.core.services.client_secret_for(&id);
    let approved = app.core.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approved.body["status"], "requires_confirmation", "{}", approved.raw);
    let processing = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    assert!(!processing.html.contains("return-to-merchant"), "not before the outcome");

    let confirmed = app.core.post(&m.sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 12000 })).await;
    assert_eq!(confirmed.body["status"], "succeeded", "{}", confirmed.raw);
    let page = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    let target = format!("{return_url}&#38;payment_intent={id}&#38;payment_intent_client_secret={}", secret.expose());
    assert!(page.html.contains(&format!(r#"id="return-to-merchant" href="{target}""#)), "{}", page.html);
    assert!(page.html.contains(&format!(r#"<meta http-equiv="refresh" content="3;url={target}">"#)), "{}", page.html);
    assert!(page.html.contains("Back to the shop"));

    let (other, other_code) = app.intent(&m, json!({})).await;
    app.core.approve(&m.sk, &other, "4242424242424242").await;
    let without = app.page(&format!("/p/{other_code}"), &[AMERICAN_PHONE]).await;
    assert!(!without.html.contains("return-to-merchant") && !without.html.contains("content=\"3;url="), "{}", without.html);
}

async fn a_refunded_intent_still_shows_the_paid_page(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({ "amount": 12000 })).await;
    app.core.approve(&m.sk, &id, "4242424242424242").await;
    let refund = app.core.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 2000 })).await;
    assert!(refund.status.is_success(), "{}", refund.raw);
    let page = app.page(&format!("/p/{code}?lang=ko"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("결제 완료"), "{}", page.html);
}

async fn a_canceled_intent_shows_the_canceled_page(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    app.core.post(&m.sk, &format!("/v1/payment_intents/{id}/cancel"), json!({})).await;
    let page = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Payment canceled"), "{}", page.html);
}

async fn an_expired_intent_shows_the_expired_page(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    let expired = app.core.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/expire"), json!({})).await;
    assert_eq!(expired.body["status"], "expired", "{}", expired.raw);
    let page = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Payment expired"), "{}", page.html);
}

async fn an_intent_past_its_deadline_shows_the_expired_page_before_the_sweep(app: BridgeApp) {
    let m = app.merchant().await;
    let (_, code) = app.intent(&m, json!({})).await;
    app.core.clock.advance_minutes(15);
    let page = app.page(&format!("/p/{code}"), &[KOREAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("결제 시간 만료"), "{}", page.html);
    assert_eq!(scans(&app, &m).await, 0);
}

async fn a_declined_intent_says_the_customer_declined(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    let declined = app.core.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/decline"), json!({})).await;
    assert_eq!(declined.body["failure_code"], "customer_declined", "{}", declined.raw);
    let page = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("You declined this payment."), "{}", page.html);
}

async fn a_card_decline_shows_the_not_completed_page(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({})).await;
    let failed = app.core.approve(&m.sk, &id, "4000000000000002").await;
    assert_eq!(failed.body["status"], "failed", "{}", failed.raw);
    let page = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Payment not completed"), "{}", page.html);
}

async fn an_approved_manual_intent_shows_a_processing_page_that_reloads_itself(app: BridgeApp) {
    let m = app.merchant().await;
    let (id, code) = app.intent(&m, json!({ "confirm_mode": "manual" })).await;
    let approved = app.core.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approved.body["status"], "requires_confirmation", "{}", approved.raw);
    let page = app.page(&format!("/p/{code}"), &[AMERICAN_PHONE]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Processing payment"), "{}", page.html);
    assert!(page.html.contains(r#"<meta http-equiv="refresh" content="2">"#));
}

async fn unknown_and_malformed_codes_get_the_same_not_valid_page(app: BridgeApp) {
    let unknown = app.page(&format!("/p/{}", "A".repeat(32)), &[AMERICAN_PHONE]).await;
    let malformed = app.page("/p/not-a-code", &[AMERICAN_PHONE]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    assert!(unknown.html.contains("This payment link is not valid"), "{}", unknown.html);
    assert_eq!(unknown.html, malformed.html, "codes cannot be probed");
    assert!(unknown.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(unknown.headers["cache-control"], "no-store");
}

async fn merchant_supplied_text_is_escaped(app: BridgeApp) {
    let m = app.merchant().await;
    let (_, code) = app.intent(&m, json!({ "order_name": "<script>alert(1)</script>" })).await;
    let page = app.page(&format!("/p/{code}"), &[]).await;
    assert!(!page.html.contains("<script>alert(1)</script>"), "{}", page.html);
    assert!(page.html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || page.html.contains("&lt;script&gt;"), "{}", page.html);
    // The only script is our own file; the CSP would block any other.
    assert_eq!(page.html.matches("<script").count(), 1);
}

async fn pages_carry_the_security_headers(app: BridgeApp) {
    let m = app.merchant().await;
    let (_, code) = app.intent(&m, json!({})).await;
    for path in [format!("/p/{code}"), "/p/unknown".into(), "/wallet".into(), "/offline".into()] {
        let page = app.page(&path, &[]).await;
        let h = &page.headers;
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            h["content-security-policy"],
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "{path}"
        );
        assert!(!page.html.contains("style=\""), "no inline styles on {path}");
        assert!(!page.html.contains("<style"), "no style elements on {path}");
    }
}

bridge_on_both_engines!(
    the_page_shows_merchant_order_and_amount_in_korean_for_a_korean_phone,
    the_page_is_in_english_for_an_english_phone_with_the_dollar_amount,
    lang_in_the_query_overrides_the_phone_and_is_remembered_in_a_cookie,
    opening_the_page_tells_the_checkout_it_was_scanned_once,
    an_ended_intent_is_not_scanned,
    a_paid_intent_shows_the_paid_page,
    after_the_outcome_the_page_sends_the_phone_back_to_the_merchants_return_url,
    a_refunded_intent_still_shows_the_paid_page,
    a_canceled_intent_shows_the_canceled_page,
    an_expired_intent_shows_the_expired_page,
    an_intent_past_its_deadline_shows_the_expired_page_before_the_sweep,
    a_declined_intent_says_the_customer_declined,
    a_card_decline_shows_the_not_completed_page,
    an_approved_manual_intent_shows_a_processing_page_that_reloads_itself,
    unknown_and_malformed_codes_get_the_same_not_valid_page,
    merchant_supplied_text_is_escaped,
    pages_carry_the_security_headers,
);
