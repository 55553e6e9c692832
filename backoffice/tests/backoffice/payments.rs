//! The payment detail page, refunds and cancels from the back office: amounts, reasons, double
//! submits, roles and the audit entries.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::domain::Role;
use backoffice::store::Outcome;
use gateway::domain::query::Page;
use serde_json::json;

paygate_test_support::on_both_engines!(
    support_refunds_part_with_a_reason_and_a_double_submit_makes_one_refund,
    a_refund_without_an_amount_refunds_what_is_left_and_one_beyond_it_is_refused,
    a_waiting_payment_is_canceled_once_however_often_the_form_is_sent,
    roles_without_refund_or_cancel_see_no_form_and_are_refused_and_audited,
    the_detail_shows_the_timeline_transactions_and_webhook_deliveries,
    staff_of_another_merchant_get_404_on_every_payment_route,
);

async fn form_tokens(browser: &Browser<'_>, id: &str) -> (String, String) {
    let page = browser.get(&format!("/dashboard/payments/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    (page.hidden("csrf").unwrap(), page.hidden("submit").expect("a refund form"))
}

async fn support_refunds_part_with_a_reason_and_a_double_submit_makes_one_refund(app: TestApp) {
    let office = Office::over(app).await;
    let (_, merchant_id, sk) = office.signed_up("owner@shop.example", "Shop").await;
    let id = office.app.paid_intent(&sk, 10_000).await;
    let support = office.member(&merchant_id, "support@shop.example", Role::Support).await;
    let (csrf, submit) = form_tokens(&support, &id).await;
    let fields = [("csrf", csrf.as_str()), ("submit", submit.as_str()), ("amount", "3,000"), ("reason", "one cup returned")];
    let path = format!("/dashboard/payments/{id}/refund");
    let (a, b) = tokio::join!(support.post(&path, &fields, &[]), support.post(&path, &fields, &[]));
    for reply in [&a, &b] {
        assert_eq!(reply.location.as_deref(), Some(format!("/dashboard/payments/{id}?done=refund").as_str()), "{}", reply.body);
    }
    let refunds = office.app.get(&sk, &format!("/v1/refunds?payment_intent={id}")).await;
    let list = refunds.body["data"].as_array().unwrap();
    assert_eq!(list.len(), 1, "one refund for two submits: {}", refunds.raw);
    assert_eq!((list[0]["amount"].as_i64(), list[0]["reason"].as_str()), (Some(3_000), Some("one cup returned")));
    let page = support.get(&format!("/dashboard/payments/{id}?done=refund")).await;
    assert!(page.body.contains("The refund was made.") && page.body.contains("partially_refunded"));
    office.app.assert_ledger_balanced().await;
    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &Page::first(50)).await.unwrap();
    let refunds: Vec<_> = log.iter().filter(|e| e.action == "payment.refund").collect();
    assert!(refunds.iter().all(|e| e.actor == "support@shop.example" && e.outcome == Outcome::Success && e.target.as_deref() == Some(id.as_str())));
    assert!(!refunds.is_empty());
}

async fn a_refund_without_an_amount_refunds_what_is_left_and_one_beyond_it_is_refused(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, sk) = office.signed_up("owner@shop.example", "Shop").await;
    let id = office.app.fake_intent(&sk).currency("USD").amount(2_500).paid().await;
    let (csrf, submit) = form_tokens(&owner, &id).await;
    let path = format!("/dashboard/payments/{id}/refund");
    let too_much = owner.post(&path, &[("csrf", &csrf), ("submit", &submit), ("amount", "25.01")], &[]).await;
    assert_eq!((too_much.status, too_much.error_code().as_deref()), (StatusCode::CONFLICT, Some("refund_exceeds_captured")));
    let (_, submit) = form_tokens(&owner, &id).await;
    let part = owner.post(&path, &[("csrf", &csrf), ("submit", &submit), ("amount", "10.50")], &[]).await;
    assert_eq!(part.status, StatusCode::SEE_OTHER, "{}", part.body);
    let (_, submit) = form_tokens(&owner, &id).await;
    let rest = owner.post(&path, &[("csrf", &csrf), ("submit", &submit), ("amount", "")], &[]).await;
    assert_eq!(rest.status, StatusCode::SEE_OTHER, "{}", rest.body);
    let intent = office.app.get(&sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!((intent.body["status"].as_str(), intent.body["amount_refunded"].as_i64()), (Some("refunded"), Some(2_500)));
    let page = owner.get(&format!("/dashboard/payments/{id}")).await;
    assert!(page.hidden("submit").is_none(), "nothing is left to refund");
    let bad = owner.post(&path, &[("csrf", &csrf), ("submit", "short"), ("amount", "1")], &[]).await;
    assert_eq!(bad.error_code().as_deref(), Some("submit_token_invalid"));
    office.app.assert_ledger_balanced().await;
}

async fn a_waiting_payment_is_canceled_once_however_often_the_form_is_sent(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, sk) = office.signed_up("owner@shop.example", "Shop").await;
    let id = office.app.fake_intent(&sk).create().await;
    let page = owner.get(&format!("/dashboard/payments/{id}")).await;
    assert!(page.body.contains("id=\"cancel-submit\""));
    let csrf = page.hidden("csrf").unwrap();
    let path = format!("/dashboard/payments/{id}/cancel");
    let fields = [("csrf", csrf.as_str()), ("reason", "out of stock")];
    let (a, b) = tokio::join!(owner.post(&path, &fields, &[]), owner.post(&path, &fields, &[]));
    assert_eq!((a.status, b.status), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER), "{} / {}", a.body, b.body);
    let intent = office.app.get(&sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!((intent.body["status"].as_str(), intent.body["cancellation_reason"].as_str()), (Some("canceled"), Some("out of stock")));
    let cancels = office.app.get(&sk, &format!("/v1/transactions?payment_intent={id}")).await;
    assert_eq!(cancels.body["data"].as_array().unwrap().len(), 1, "one cancel transaction");
    // A paid one cannot be canceled: the page offers no form and a forged post is refused.
    let paid = office.app.paid_intent(&sk, 5_000).await;
    assert!(!owner.get(&format!("/dashboard/payments/{paid}")).await.body.contains("id=\"cancel-submit\""));
    let refused = owner.post(&format!("/dashboard/payments/{paid}/cancel"), &fields, &[]).await;
    assert_eq!((refused.status, refused.error_code().as_deref()), (StatusCode::CONFLICT, Some("invalid_state")));
    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &Page::first(50)).await.unwrap();
    let outcomes: Vec<_> = log.iter().filter(|e| e.action == "payment.cancel").map(|e| e.outcome).collect();
    assert!(outcomes.contains(&Outcome::Success) && outcomes.contains(&Outcome::Failure), "{outcomes:?}");
}

async fn roles_without_refund_or_cancel_see_no_form_and_are_refused_and_audited(app: TestApp) {
    let office = Office::over(app).await;
    let (_, merchant_id, sk) = office.signed_up("owner@shop.example", "Shop").await;
    let paid = office.app.paid_intent(&sk, 10_000).await;
    let waiting = office.app.fake_intent(&sk).create().await;
    for role in Role::ALL {
        let browser = office.member(&merchant_id, &format!("{}@shop.example", role.as_str()), role).await;
        let may = matches!(role, Role::Owner | Role::Admin | Role::Support);
        let page = browser.get(&format!("/dashboard/payments/{paid}")).await;
        assert_eq!(page.status, StatusCode::OK, "{role:?} reads payments");
        assert_eq!(page.hidden("submit").is_some(), may, "{role:?}'s refund form");
        assert_eq!(browser.get(&format!("/dashboard/payments/{waiting}")).await.body.contains("cancel-submit"), may, "{role:?}'s cancel form");
        if !may {
            let csrf = page.hidden("csrf").unwrap();
            let submit = "a".repeat(32);
            let refund = browser.post(&format!("/dashboard/payments/{paid}/refund"), &[("csrf", &csrf), ("submit", &submit), ("amount", "1")], &[]).await;
            assert_eq!((refund.status, refund.error_code().as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")), "{role:?}");
            let cancel = browser.post(&format!("/dashboard/payments/{waiting}/cancel"), &[("csrf", &csrf)], &[]).await;
            assert_eq!(cancel.status, StatusCode::FORBIDDEN, "{role:?}");
        }
    }
    let intent = office.app.get(&sk, &format!("/v1/payment_intents/{paid}")).await;
    assert_eq!(intent.body["amount_refunded"], 0);
    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &Page::first(100)).await.unwrap();
    let refused: Vec<_> = log.iter().filter(|e| e.outcome == Outcome::Refused).map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused.contains(&("analyst@shop.example", "payment.refund")) && refused.contains(&("developer@shop.example", "payment.cancel")));
}

async fn the_detail_shows_the_timeline_transactions_and_webhook_deliveries(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, sk) = office.signed_up("owner@shop.example", "Shop").await;
    let endpoint = office.app.post(&sk, "/v1/webhook_endpoints", json!({ "url": "https://hooks.example.test/paygate", "enabled_events": ["*"] })).await;
    assert_eq!(endpoint.status, StatusCode::CREATED, "{}", endpoint.raw);
    let id = office.app.fake_intent(&sk).customer("김민수").order("o-77").paid().await;
    office.app.post(&sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 1_000 })).await;
    let page = owner.get(&format!("/dashboard/payments/{id}")).await;
    for text in ["김민수", "o-77", "₩10,000", "payment_intent.created", "payment_intent.succeeded", "refund.succeeded", "https://hooks.example.test/paygate", "not tried yet", ">refund<", ">payment<"] {
        assert!(page.body.contains(text), "the page shows {text}");
    }
    let events = page.body.split("id=\"payment-events\"").nth(1).unwrap();
    let created = events.find("payment_intent.created").unwrap();
    assert!(created < events.find("payment_intent.succeeded").unwrap(), "oldest first");
}

async fn staff_of_another_merchant_get_404_on_every_payment_route(app: TestApp) {
    let office = Office::over(app).await;
    let (_, _, sk) = office.signed_up("owner@shop.example", "Shop").await;
    let paid = office.app.paid_intent(&sk, 10_000).await;
    let waiting = office.app.fake_intent(&sk).create().await;
    let (other, _, _) = office.signed_up("owner@other.example", "Other").await;
    let csrf = other.get("/dashboard/transactions").await.hidden("csrf").unwrap();
    let submit = "a".repeat(32);
    for id in [&paid, &waiting, &"pi_doesnotexist".to_owned()] {
        assert_eq!(other.get(&format!("/dashboard/payments/{id}")).await.status, StatusCode::NOT_FOUND);
        let refund = other.post(&format!("/dashboard/payments/{id}/refund"), &[("csrf", &csrf), ("submit", &submit)], &[]).await;
        assert_eq!(refund.status, StatusCode::NOT_FOUND);
        let cancel = other.post(&format!("/dashboard/payments/{id}/cancel"), &[("csrf", &csrf)], &[]).await;
        assert_eq!(cancel.status, StatusCode::NOT_FOUND);
    }
    let intent = office.app.get(&sk, &format!("/v1/payment_intents/{waiting}")).await;
    assert_eq!(intent.body["status"], "requires_action");
}
