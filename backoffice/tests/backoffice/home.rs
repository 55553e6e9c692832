//! The home page: 30 days of the merchant's own activity, days counted in its time zone, and
//! the approval success rate.

use crate::helpers::*;
use axum::http::StatusCode;
use serde_json::json;

paygate_test_support::on_both_engines!(the_home_page_charts_thirty_seoul_days_and_the_success_rate,);

async fn the_home_page_charts_thirty_seoul_days_and_the_success_rate(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, sk) = office.signed_up("owner@shop.example", "Shop").await;
    // Day one (Jan 1 in Seoul): two payments and a refund; a decline; an abandoned intent.
    let paid = office.app.paid_intent(&sk, 12_000).await;
    office.app.paid_intent(&sk, 3_000).await;
    office.app.post(&sk, "/v1/refunds", json!({ "payment_intent": paid, "amount": 2_000 })).await;
    let declined = office.app.fake_intent(&sk).create().await;
    office.app.approve(&sk, &declined, "4000000000000002").await;
    let dropped = office.app.fake_intent(&sk).create().await;
    office.app.post(&sk, &format!("/v1/payment_intents/{dropped}/cancel"), json!({})).await;
    // 23:59 in Seoul still counts for Jan 1; a minute later is Jan 2.
    office.app.clock.set(START + 15 * 3_600_000 - 60_000);
    office.app.paid_intent(&sk, 1_000).await;
    office.app.clock.set(START + 15 * 3_600_000);
    office.app.paid_intent(&sk, 5_000).await;
    // Another merchant's payment is not in this one's figures.
    let (_, _, other_sk) = office.signed_up("other@shop.example", "Other").await;
    office.app.paid_intent(&other_sk, 99_000).await;

    owner.sign_in("owner@shop.example", PASSWORD).await;
    let page = owner.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Today is Jan 2 in Seoul: Jan 1 is the 29th of 30 bars.
    assert!(page.body.contains("<title>2026-01-01: ₩14,000</title>"), "12,000 + 3,000 + 1,000 − 2,000: {}", page.body);
    assert!(page.body.contains("<title>2026-01-02: ₩5,000</title>"));
    assert!(page.body.contains("<title>2025-12-04: ₩0</title>"), "thirty days, the first with nothing");
    assert!(page.body.contains("<title>2026-01-01: 3 payment</title>") && page.body.contains("<title>2026-01-01: 1 refund</title>"));
    assert!(page.body.contains("<title>2026-01-01: 1 cancel</title>"));
    assert!(!page.body.contains("99,000"));
    // Four succeeded, one failed (the canceled one had no outcome): 80.0%.
    assert!(page.body.contains("id=\"success-rate\">80.0%<"), "{}", page.body);
    let live = owner.get("/dashboard?mode=live").await;
    assert!(live.body.contains("id=\"success-rate\" class=\"muted\"") && !live.body.contains("id=\"test-badge\""));
}
