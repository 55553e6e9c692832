//! Crashes and outages in the middle of a money movement: the sweep finishes the work, and
//! nothing is captured or refunded twice.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::TestApp;
use axum::http::StatusCode;
use gateway::clock::Clock;
use gateway::connector::{Authorization, AuthorizeRequest, Connector, PaymentMethod};
use gateway::domain::intent::IntentTransition;
use gateway::domain::money::Currency;
use gateway::domain::Scope;
use gateway::store::TransitionOutcome;
use serde_json::json;

crate::on_both_engines!(
    an_approval_cut_off_before_the_processor_answered_fails_without_capturing,
    an_approval_cut_off_after_authorization_is_captured_once_by_the_sweep,
    a_manual_approval_cut_off_after_authorization_waits_for_confirmation,
    a_capture_during_a_processor_outage_is_finished_once_when_it_is_back,
    a_refund_during_a_processor_outage_stays_pending_then_settles_once,
    a_processor_timeout_is_resolved_by_a_status_check_and_charged_once,
    an_authorization_whose_answer_was_lost_in_a_crash_is_found_by_the_sweeps_status_check,
    while_the_status_check_cannot_reach_the_processor_the_intent_stays_processing,
    the_processor_remembers_its_decision_across_a_restart_so_recovery_captures_instead_of_failing,
);

/// The whole process restarts between the processor's approval and our record of it: a new
/// process, with a new test card processor, over the same database. The processor's book is
/// durable, so the sweep's status check finds the approval and captures it, once.
async fn the_processor_remembers_its_decision_across_a_restart_so_recovery_captures_instead_of_failing(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    start_processing(&app, &scope(&m), &id).await;
    authorize_at_processor(&app, &id).await;
    // The process dies here; another starts over the same database.
    let restarted = std::sync::Arc::new(gateway::service::Services::new(
        app.store.clone(),
        app.clock.clone() as std::sync::Arc<dyn Clock>,
        gateway::domain::keys::KeyHasher::new(gateway::secret::Secret::new(crate::helpers::HASH_SECRET)),
        "https://pay.example.test".into(),
    ));
    app.clock.advance_minutes(3);
    assert_eq!(restarted.sweep().await.unwrap().recovered_intents, 1);
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "succeeded", "not processing_interrupted: {}", intent.raw);
    let view = app.test_card.view(&id).await;
    assert_eq!((view.authorization_requests, view.captures), (1, 1), "authorized once, captured once");
    app.assert_ledger_balanced().await;
}

fn scope(m: &crate::helpers::TestMerchant) -> Scope {
    Scope { merchant_id: m.id.clone(), livemode: false }
}

/// The request died right after the intent moved to `processing`.
async fn start_processing(app: &TestApp, scope: &Scope, id: &str) {
    let t = IntentTransition::StartProcessing { connector: "test_card".into(), customer: None };
    let outcome = app.store.transition_intent(scope, id, &t, app.clock.now(), None, None).await.unwrap();
    assert!(matches!(outcome, TransitionOutcome::Applied(_)));
}

async fn authorize_at_processor(app: &TestApp, id: &str) -> String {
    let req = AuthorizeRequest {
        reference: id.to_owned(),
        amount: gateway::domain::money::Amount::parse(10000).unwrap(),
        currency: Currency::KRW,
        payment_method: PaymentMethod::TestCard { number: "4242424242424242".into() },
    };
    match app.test_card.authorize(&req).await.unwrap() {
        Authorization::Approved { connector_ref } => connector_ref,
        other => panic!("{other:?}"),
    }
}

async fn an_approval_cut_off_before_the_processor_answered_fails_without_capturing(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    start_processing(&app, &scope(&m), &id).await;
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 0, "too fresh to be presumed dead");
    app.clock.advance_minutes(3);
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 1);
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "failed");
    assert_eq!(intent.body["failure_code"], "processing_interrupted");
    assert_eq!(intent.body["amount_captured"], 0);
    app.assert_ledger_balanced().await;
}

async fn an_approval_cut_off_after_authorization_is_captured_once_by_the_sweep(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    start_processing(&app, &scope(&m), &id).await;
    let auth = authorize_at_processor(&app, &id).await;
    app.store.record_authorization(&scope(&m), &id, &auth, app.clock.now()).await.unwrap();
    // The processor even captured before the crash: the recovery capture must not repeat it.
    app.test_card.capture(&auth, gateway::domain::money::Amount::parse(10000).unwrap()).await.unwrap();
    app.clock.advance_minutes(3);
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 1);
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 0);
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "succeeded");
    assert_eq!(app.test_card.view(&id).await.captures, 1);
    let payments = app.get(&m.sk, &format!("/v1/transactions?payment_intent={id}&type=payment")).await;
    assert_eq!(payments.body["data"].as_array().unwrap().len(), 1);
    app.assert_ledger_balanced().await;
}

async fn a_manual_approval_cut_off_after_authorization_waits_for_confirmation(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({ "confirm_mode": "manual" })).await;
    start_processing(&app, &scope(&m), &id).await;
    let auth = authorize_at_processor(&app, &id).await;
    app.store.record_authorization(&scope(&m), &id, &auth, app.clock.now()).await.unwrap();
    app.clock.advance_minutes(3);
    app.services.sweep().await.unwrap();
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "requires_confirmation");
    assert_eq!(app.test_card.view(&id).await.captures, 0, "never captured without the merchant's confirm");
    let confirmed = app.post(&m.sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 10000 })).await;
    assert_eq!(confirmed.body["status"], "succeeded", "{}", confirmed.raw);
    assert_eq!(app.test_card.view(&id).await.captures, 1);
    app.assert_ledger_balanced().await;
}

async fn a_capture_during_a_processor_outage_is_finished_once_when_it_is_back(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({ "confirm_mode": "manual" })).await;
    app.approve(&m.sk, &id, "4242424242424242").await;
    app.test_card.set_unreachable(true);
    let confirm = app.post(&m.sk, &format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": 10000 })).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert_eq!(confirm.body["status"], "processing", "outcome unknown: neither failed nor succeeded");
    app.clock.advance_minutes(3);
    let report = app.services.sweep().await.unwrap();
    assert_eq!(report.recovered_intents, 0, "still unreachable: left for a later pass");
    app.test_card.set_unreachable(false);
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 0, "the retry waits out its 30 s backoff");
    app.clock.advance_minutes(1);
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 1);
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "succeeded");
    assert_eq!(app.test_card.view(&id).await.captures, 1);
    app.assert_ledger_balanced().await;
}

async fn a_refund_during_a_processor_outage_stays_pending_then_settles_once(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 10_000).await;
    app.test_card.set_unreachable(true);
    let refund = app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 4000 })).await;
    assert_eq!(refund.status, StatusCode::CREATED);
    assert_eq!(refund.body["status"], "pending");
    app.clock.advance_minutes(2);
    assert_eq!(app.services.sweep().await.unwrap().settled_refunds, 0);
    // Backing off: 30 s, then 60 s, while the processor stays down.
    app.clock.advance_minutes(1);
    assert_eq!(app.services.sweep().await.unwrap().settled_refunds, 0);
    app.test_card.set_unreachable(false);
    assert_eq!(app.services.sweep().await.unwrap().settled_refunds, 0, "the second wait is not over");
    app.clock.advance_minutes(1);
    assert_eq!(app.services.sweep().await.unwrap().settled_refunds, 1);
    assert_eq!(app.get(&m.sk, &format!("/v1/refunds/{}", refund.id())).await.body["status"], "succeeded");
    assert_eq!(app.test_card.view(&id).await.refunded, 4000);
    app.assert_ledger_balanced().await;
}

async fn a_processor_timeout_is_resolved_by_a_status_check_and_charged_once(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    let approved = app.approve(&m.sk, &id, gateway::connector::test_card::CARD_TIMEOUT).await;
    assert_eq!(approved.body["status"], "succeeded", "{}", approved.raw);
    let view = app.test_card.view(&id).await;
    assert_eq!(
        (view.authorization_requests, view.authorizations, view.captures),
        (1, 1, 1),
        "the status check found the authorization; nothing was authorized again"
    );
    app.assert_ledger_balanced().await;
}

async fn an_authorization_whose_answer_was_lost_in_a_crash_is_found_by_the_sweeps_status_check(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    start_processing(&app, &scope(&m), &id).await;
    // The processor authorized, and the process died before it recorded the answer.
    authorize_at_processor(&app, &id).await;
    app.clock.advance_minutes(3);
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 1);
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "succeeded", "{}", intent.raw);
    let view = app.test_card.view(&id).await;
    assert_eq!((view.authorization_requests, view.authorizations, view.captures), (1, 1, 1));
    app.assert_ledger_balanced().await;
}

async fn while_the_status_check_cannot_reach_the_processor_the_intent_stays_processing(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    start_processing(&app, &scope(&m), &id).await;
    authorize_at_processor(&app, &id).await;
    app.test_card.set_unreachable(true);
    app.clock.advance_minutes(3);
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 0);
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "processing", "unknown is not failed: the processor may have authorized");
    app.test_card.set_unreachable(false);
    app.clock.advance_minutes(1);
    assert_eq!(app.services.sweep().await.unwrap().recovered_intents, 1);
    let intent = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(intent.body["status"], "succeeded");
    let view = app.test_card.view(&id).await;
    assert_eq!((view.authorization_requests, view.authorizations, view.captures), (1, 1, 1));
    app.assert_ledger_balanced().await;
}
