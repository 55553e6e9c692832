//! Crashes in the middle of a wallet payment: the sweep finishes the work from the wallet's own
//! book, and the balance moves once.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{BridgeApp, Phone};
use gateway::clock::Clock;
use gateway::domain::intent::IntentTransition;
use gateway::domain::money::Currency;
use gateway::domain::wallet::WalletAuthorizationStatus;
use gateway::domain::Scope;
use gateway::store::TransitionOutcome;
use serde_json::json;

crate::bridge_on_both_engines!(
    a_wallet_approval_cut_off_after_the_hold_is_captured_once_by_the_sweep,
    a_wallet_approval_cut_off_before_the_hold_fails_and_moves_nothing,
    a_held_amount_comes_back_when_a_manual_payment_is_never_confirmed,
);

async fn krw_wallet(app: &BridgeApp, phone: &Phone) -> String {
    let sources = app.get(&phone.access_token, "/wallet/v1/funding_sources").await;
    sources.body["data"].as_array().unwrap().iter().find(|s| s["currency"] == "KRW").unwrap()["id"].as_str().unwrap().to_owned()
}

async fn balance(app: &BridgeApp, phone: &Phone, wallet: &str) -> i64 {
    app.core.store.get_wallet(&phone.customer_id, wallet).await.unwrap().balance
}

/// The approval request died right after the intent moved to `processing` for this customer.
async fn start_processing(app: &BridgeApp, scope: &Scope, id: &str, phone: &Phone) {
    let t = IntentTransition::StartProcessing { connector: "wallet".into(), customer: Some(phone.customer_id.clone()) };
    let outcome = app.core.store.transition_intent(scope, id, &t, app.core.clock.now(), None, None).await.unwrap();
    assert!(matches!(outcome, TransitionOutcome::Applied(_)));
}

async fn a_wallet_approval_cut_off_after_the_hold_is_captured_once_by_the_sweep(app: BridgeApp) {
    let m = app.merchant().await;
    let phone = app.sign_up("crash@example.com").await;
    let wallet = krw_wallet(&app, &phone).await;
    let (id, _) = app.intent(&m, json!({})).await;
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    start_processing(&app, &scope, &id, &phone).await;
    // The wallet held the money, then the process died before the core heard back.
    let held = app.core.store.wallet_authorize(&id, &wallet, gateway::domain::money::Amount::parse(10_000).unwrap(), Currency::KRW, app.core.clock.now()).await.unwrap();
    assert_eq!(held.status, WalletAuthorizationStatus::Held);
    app.core.clock.advance_minutes(3);
    assert_eq!(app.core.services.sweep().await.unwrap().recovered_intents, 1);
    assert_eq!(app.core.services.sweep().await.unwrap().recovered_intents, 0);
    let intent = app.intent_status(&m, &id).await;
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(balance(&app, &phone, &wallet).await, 990_000, "held once, captured once");
    let own = app.get(&phone.access_token, "/wallet/v1/payments").await;
    assert_eq!(own.body["data"][0]["status"], "succeeded");
    app.core.assert_ledger_balanced().await;
}

async fn a_wallet_approval_cut_off_before_the_hold_fails_and_moves_nothing(app: BridgeApp) {
    let m = app.merchant().await;
    let phone = app.sign_up("early@example.com").await;
    let wallet = krw_wallet(&app, &phone).await;
    let (id, _) = app.intent(&m, json!({})).await;
    start_processing(&app, &Scope { merchant_id: m.id.clone(), livemode: false }, &id, &phone).await;
    app.core.clock.advance_minutes(3);
    assert_eq!(app.core.services.sweep().await.unwrap().recovered_intents, 1);
    let intent = app.intent_status(&m, &id).await;
    assert_eq!(intent["failure_code"], "processing_interrupted");
    assert_eq!(balance(&app, &phone, &wallet).await, 1_000_000);
    app.core.assert_ledger_balanced().await;
}

async fn a_held_amount_comes_back_when_a_manual_payment_is_never_confirmed(app: BridgeApp) {
    let m = app.merchant().await;
    let phone = app.sign_up("manual@example.com").await;
    let wallet = krw_wallet(&app, &phone).await;
    let (id, code) = app.intent(&m, json!({ "confirm_mode": "manual" })).await;
    let reply = app.post(&phone.access_token, &format!("/wallet/v1/approvals/{code}/approve"), json!({ "funding_source": wallet })).await;
    assert_eq!(reply.body["status"], "requires_confirmation", "{}", reply.raw);
    assert_eq!(balance(&app, &phone, &wallet).await, 990_000, "held while the merchant decides");
    app.core.clock.advance_minutes(11);
    app.core.services.sweep().await.unwrap();
    assert_eq!(app.intent_status(&m, &id).await["status"], "expired");
    assert_eq!(balance(&app, &phone, &wallet).await, 1_000_000, "released once the confirmation window closed");
    app.core.services.sweep().await.unwrap();
    assert_eq!(balance(&app, &phone, &wallet).await, 1_000_000);
    app.core.assert_ledger_balanced().await;
}
