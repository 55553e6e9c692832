//! The wallet part of the store conformance suite: the wallet connector's book on both engines.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{TestApp, START};
use gateway::domain::money::{Amount, Currency};
use gateway::domain::wallet::{WalletAuthorizationStatus, MAX_BALANCE};
use gateway::store::{TopUpOutcome, WalletCapture, WalletRefund};
use gateway::store::StoreError;
use std::sync::Arc;

crate::on_both_engines!(
    a_wallet_opens_funded_once,
    an_authorization_holds_the_amount_once_per_reference,
    a_declined_authorization_keeps_its_decision_and_the_balance,
    a_void_releases_the_held_amount_once,
    refunds_credit_once_per_reference_and_never_more_than_was_captured,
    concurrent_authorizations_never_overdraw_a_wallet,
    top_ups_are_idempotent_and_bounded,
    another_customers_wallet_is_not_found,
);

fn amount(minor_units: i64) -> Amount {
    Amount::parse(minor_units).unwrap()
}

/// A customer row for the wallets to belong to (the account API is not needed here).
async fn customer(app: &TestApp, id: &str) -> String {
    app.exec_raw(&format!(
        "INSERT INTO customers (id, email, password_hash, created_at) VALUES ('{id}', '{id}@example.test', 'x', {START})"
    ))
    .await
    .expect("customer row");
    id.to_owned()
}

async fn a_wallet_opens_funded_once(app: TestApp) {
    let c = customer(&app, "cus_open").await;
    let first = app.store.open_wallet(&c, false, Currency::KRW, Some(amount(1_000_000)), START).await.unwrap();
    let again = app.store.open_wallet(&c, false, Currency::KRW, Some(amount(1_000_000)), START + 1).await.unwrap();
    assert_eq!(first, again, "the second open finds the first wallet and funds nothing");
    assert_eq!(again.balance, 1_000_000);
    let usd = app.store.open_wallet(&c, false, Currency::USD, None, START).await.unwrap();
    assert_eq!(usd.balance, 0);
    assert_eq!(app.store.list_wallets(&c).await.unwrap().len(), 2);
    app.assert_ledger_balanced().await;
}

async fn an_authorization_holds_the_amount_once_per_reference(app: TestApp) {
    let c = customer(&app, "cus_hold").await;
    let w = app.store.open_wallet(&c, false, Currency::KRW, Some(amount(50_000)), START).await.unwrap();
    let first = app.store.wallet_authorize("pi_1", &w.id, amount(12_000), Currency::KRW, START).await.unwrap();
    assert_eq!(first.status, WalletAuthorizationStatus::Held);
    let again = app.store.wallet_authorize("pi_1", &w.id, amount(12_000), Currency::KRW, START).await.unwrap();
    assert_eq!(again, first, "one decision per reference");
    assert_eq!(app.store.get_wallet(&c, &w.id).await.unwrap().balance, 38_000);
    assert_eq!(app.store.wallet_capture(&first.id, amount(12_000), START).await.unwrap(), WalletCapture::Captured);
    assert_eq!(app.store.wallet_capture(&first.id, amount(12_000), START).await.unwrap(), WalletCapture::Captured, "idempotent");
    assert_eq!(app.store.wallet_capture(&first.id, amount(11_000), START).await.unwrap(), WalletCapture::Refused, "another amount");
    assert_eq!(app.store.get_wallet(&c, &w.id).await.unwrap().balance, 38_000);
    assert_eq!(app.store.wallet_authorization("pi_1").await.unwrap().map(|a| a.status), Some(WalletAuthorizationStatus::Captured));
    assert_eq!(app.store.wallet_authorization("pi_unknown").await.unwrap(), None);
    app.assert_ledger_balanced().await;
}

async fn a_declined_authorization_keeps_its_decision_and_the_balance(app: TestApp) {
    let c = customer(&app, "cus_poor").await;
    let w = app.store.open_wallet(&c, false, Currency::KRW, Some(amount(5_000)), START).await.unwrap();
    let declined = app.store.wallet_authorize("pi_2", &w.id, amount(12_000), Currency::KRW, START).await.unwrap();
    assert_eq!(declined.status, WalletAuthorizationStatus::Declined);
    assert_eq!(declined.decline.map(|d| d.code()), Some("insufficient_funds"));
    app.store.top_up_wallet(&c, &w.id, amount(10_000), "topup-1", START, None).await.unwrap();
    let asked_again = app.store.wallet_authorize("pi_2", &w.id, amount(12_000), Currency::KRW, START).await.unwrap();
    assert_eq!(asked_again, declined, "a decided reference is not decided again");
    let other_currency = app.store.wallet_authorize("pi_3", &w.id, amount(100), Currency::USD, START).await.unwrap();
    assert_eq!(other_currency.decline.map(|d| d.code()), Some("funding_source_unusable"));
    assert_eq!(app.store.get_wallet(&c, &w.id).await.unwrap().balance, 15_000);
    assert_eq!(app.store.wallet_capture(&declined.id, amount(12_000), START).await.unwrap(), WalletCapture::Refused);
    app.assert_ledger_balanced().await;
}

async fn a_void_releases_the_held_amount_once(app: TestApp) {
    let c = customer(&app, "cus_void").await;
    let w = app.store.open_wallet(&c, false, Currency::KRW, Some(amount(20_000)), START).await.unwrap();
    let held = app.store.wallet_authorize("pi_4", &w.id, amount(12_000), Currency::KRW, START).await.unwrap();
    assert_eq!(app.store.wallet_void(&held.id, START).await.unwrap(), WalletAuthorizationStatus::Voided);
    assert_eq!(app.store.wallet_void(&held.id, START).await.unwrap(), WalletAuthorizationStatus::Voided);
    assert_eq!(app.store.get_wallet(&c, &w.id).await.unwrap().balance, 20_000);
    assert_eq!(app.store.wallet_capture(&held.id, amount(12_000), START).await.unwrap(), WalletCapture::Refused, "voided is never captured");
    let captured = app.store.wallet_authorize("pi_5", &w.id, amount(1_000), Currency::KRW, START).await.unwrap();
    app.store.wallet_capture(&captured.id, amount(1_000), START).await.unwrap();
    assert_eq!(app.store.wallet_void(&captured.id, START).await.unwrap(), WalletAuthorizationStatus::Captured, "a capture stays");
    assert_eq!(app.store.get_wallet(&c, &w.id).await.unwrap().balance, 19_000);
    app.assert_ledger_balanced().await;
}

async fn refunds_credit_once_per_reference_and_never_more_than_was_captured(app: TestApp) {
    let c = customer(&app, "cus_refund").await;
    let w = app.store.open_wallet(&c, false, Currency::KRW, Some(amount(20_000)), START).await.unwrap();
    let held = app.store.wallet_authorize("pi_6", &w.id, amount(12_000), Currency::KRW, START).await.unwrap();
    assert_eq!(app.store.wallet_refund(&held.id, "re_0", amount(1_000), START).await.unwrap(), WalletRefund::Refused, "not captured yet");
    app.store.wallet_capture(&held.id, amount(12_000), START).await.unwrap();
    assert_eq!(app.store.wallet_refund(&held.id, "re_1", amount(5_000), START).await.unwrap(), WalletRefund::Credited);
    assert_eq!(app.store.wallet_refund(&held.id, "re_1", amount(5_000), START).await.unwrap(), WalletRefund::Credited);
    assert_eq!(app.store.wallet_refund(&held.id, "re_2", amount(7_001), START).await.unwrap(), WalletRefund::Refused);
    assert_eq!(app.store.wallet_refund(&held.id, "re_3", amount(7_000), START).await.unwrap(), WalletRefund::Credited);
    assert_eq!(app.store.get_wallet(&c, &w.id).await.unwrap().balance, 20_000);
    app.assert_ledger_balanced().await;
}

async fn concurrent_authorizations_never_overdraw_a_wallet(app: TestApp) {
    let c = customer(&app, "cus_race").await;
    let w = app.store.open_wallet(&c, false, Currency::KRW, Some(amount(100_000)), START).await.unwrap();
    let store = app.store.clone();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, wallet) = (Arc::clone(&store), w.id.clone());
            tokio::spawn(async move { store.wallet_authorize(&format!("pi_r{i}"), &wallet, amount(10_000), Currency::KRW, START).await })
        })
        .collect();
    let mut held = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().status == WalletAuthorizationStatus::Held {
            held += 1;
        }
    }
    assert_eq!(held, 10);
    assert_eq!(app.store.get_wallet(&c, &w.id).await.unwrap().balance, 0);
    app.assert_ledger_balanced().await;
}

async fn top_ups_are_idempotent_and_bounded(app: TestApp) {
    let c = customer(&app, "cus_topup").await;
    let w = app.store.open_wallet(&c, false, Currency::KRW, None, START).await.unwrap();
    let TopUpOutcome::Applied(once) = app.store.top_up_wallet(&c, &w.id, amount(30_000), "key-1", START, None).await.unwrap() else { panic!("applied") };
    let TopUpOutcome::Applied(twice) = app.store.top_up_wallet(&c, &w.id, amount(30_000), "key-1", START, None).await.unwrap() else { panic!("replayed") };
    assert_eq!((once.balance, twice.balance), (30_000, 30_000));
    let over = app.store.top_up_wallet(&c, &w.id, amount(MAX_BALANCE), "key-2", START, None).await.unwrap();
    assert!(matches!(over, TopUpOutcome::OverLimit(ref w) if w.balance == 30_000), "{over:?}");
    app.assert_ledger_balanced().await;
}

async fn another_customers_wallet_is_not_found(app: TestApp) {
    let (a, b) = (customer(&app, "cus_a").await, customer(&app, "cus_b").await);
    let w = app.store.open_wallet(&a, false, Currency::KRW, Some(amount(10_000)), START).await.unwrap();
    assert!(matches!(app.store.get_wallet(&b, &w.id).await, Err(StoreError::NotFound)));
    assert!(matches!(app.store.top_up_wallet(&b, &w.id, amount(1), "k", START, None).await, Err(StoreError::NotFound)));
    assert!(app.store.list_wallets(&b).await.unwrap().is_empty());
}
