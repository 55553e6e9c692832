//! The audit entries each action writes: who, what, from where, and the outcome.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::store::{AuditEntry, Outcome};
use gateway::domain::query::Page;

paygate_test_support::on_both_engines!(
    sign_up_sign_in_export_switch_and_sign_out_each_leave_an_entry,
    owners_read_the_log_filtered_by_action_and_actor_and_others_are_refused,
);

async fn entries(office: &Office, merchant_id: &str) -> Vec<AuditEntry> {
    office.office.stores.audit.list_audit(merchant_id, &Default::default(), &Page::first(100)).await.unwrap()
}

async fn sign_up_sign_in_export_switch_and_sign_out_each_leave_an_entry(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, merchant_id, _) = office.signed_up("owner@shop.example", "Shop").await;
    let owner_client = browser.client.clone();
    let tick = || office.app.clock.advance_ms(1_000);
    tick();
    let stranger = office.browser();
    stranger.sign_in("owner@shop.example", "a wrong password!").await;
    tick();
    let again = office.browser();
    again.sign_in("owner@shop.example", PASSWORD).await;
    tick();
    browser.get("/dashboard/transactions.csv?range=all&q=kim").await;
    tick();
    browser.submit("/dashboard/transactions", "/dashboard/switch", &[("merchant", &merchant_id)]).await;
    tick();
    browser.submit("/dashboard/transactions", "/dashboard/signout", &[]).await;

    let log = entries(&office, &merchant_id).await;
    let actions: Vec<(&str, Outcome)> = log.iter().rev().map(|e| (e.action.as_str(), e.outcome)).collect();
    assert_eq!(
        actions,
        vec![
            ("signup", Outcome::Success),
            ("signin", Outcome::Success),
            ("transactions.export", Outcome::Success),
            ("merchant.switch", Outcome::Success),
            ("signout", Outcome::Success),
        ]
    );
    assert!(log.iter().all(|e| e.actor == "owner@shop.example" && e.staff_id.is_some()));
    let signup = log.iter().find(|e| e.action == "signup").unwrap();
    assert_eq!(signup.client_ip, owner_client, "the address the request came from");
    assert_eq!(signup.target.as_deref(), Some(merchant_id.as_str()));
    let export = log.iter().find(|e| e.action == "transactions.export").unwrap();
    assert!(export.target.as_deref().unwrap().contains("q=kim"), "the export names its filter");
    // The failed sign-in is not the merchant's (it reached no merchant) but the account's.
    let staff_id = signup.staff_id.clone().unwrap();
    let failures = office.office.stores.audit.list_audit_of_staff(&staff_id, 10).await.unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!((failures[0].action.as_str(), failures[0].outcome, failures[0].client_ip.as_str()), ("signin", Outcome::Failure, stranger.client.as_str()));
}

async fn owners_read_the_log_filtered_by_action_and_actor_and_others_are_refused(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, _) = office.signed_up("owner@shop.example", "Shop").await;
    let analyst = office.member(&merchant_id, "analyst@shop.example", backoffice::domain::Role::Analyst).await;
    analyst.get("/dashboard/transactions.csv?range=all").await;
    let all = owner.get("/dashboard/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    for text in ["signup", "signin", "transactions.export", "analyst@shop.example", "owner@shop.example", analyst.client.as_str()] {
        assert!(all.body.contains(text), "the log shows {text}");
    }
    let exports = owner.get("/dashboard/audit?action=transactions.export").await;
    assert!(exports.body.contains("analyst@shop.example") && !exports.body.contains(">signup<"));
    let by_owner = owner.get("/dashboard/audit?actor=OWNER@shop.example&range=today").await;
    assert!(!by_owner.body.contains("analyst@shop.example") && by_owner.body.contains(">signup<"));
    assert_eq!(analyst.get("/dashboard/audit").await.status, StatusCode::FORBIDDEN);
    let log = entries(&office, &merchant_id).await;
    assert!(log.iter().any(|e| e.action == "audit.read" && e.outcome == Outcome::Refused && e.actor == "analyst@shop.example"));
}
