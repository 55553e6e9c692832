//! The store conformance suite: the trait's promises, checked on both engines.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{TestApp, START};
use gateway::domain::intent::{parse_amount, IntentStatus, IntentTransition};
use gateway::domain::refund::RefundOutcome;
use gateway::domain::Scope;
use gateway::ids::IdKind;
use gateway::domain::idempotency::{Finish, Saved, View};
use gateway::store::{IdempotencyBegin, IdempotencyScope, NewRefundRecord, RefundReservation, TransitionOutcome};
use gateway::domain::customer::{Identifier, LOCKOUT_MS, SIGN_IN_FAILURE_LIMIT};
use gateway::domain::keys::KeyHash;
use gateway::secret::Secret;
use gateway::store::{CustomerCreated, NewCustomerRecord, NextRefreshToken, RefreshOutcome, RefreshTokenRecord};
use gateway::store::StoreError;
use serde_json::json;

crate::on_both_engines!(
    a_transition_from_the_wrong_state_is_refused_with_the_current_state,
    a_second_capture_of_one_intent_is_refused,
    events_get_strictly_increasing_sequence_numbers_per_merchant,
    idempotency_records_move_through_their_states,
    refund_reservations_are_bounded_by_the_capture,
    settling_a_refund_twice_changes_nothing,
    the_ledger_and_the_event_log_are_append_only,
    the_ledger_check_reports_each_broken_invariant,
    an_api_key_expiry_only_moves_earlier,
    an_email_or_phone_signs_in_one_account_only,
    the_tenth_failed_sign_in_locks_the_account_and_starts_the_count_afresh,
    a_refresh_token_rotates_once_and_its_reuse_revokes_the_family,
    concurrent_uses_of_one_refresh_token_rotate_exactly_once,
    expired_revoked_and_unknown_refresh_tokens_are_invalid,
    only_refresh_families_expired_through_and_through_are_purged,
    an_intent_found_by_its_code_is_read_in_one_piece_while_a_phone_approves_it,
    the_test_card_book_decides_once_per_reference_and_forgets_only_what_can_no_longer_move_money,
);

fn scope(merchant: &str) -> Scope {
    Scope { merchant_id: merchant.to_owned(), livemode: false }
}

async fn a_transition_from_the_wrong_state_is_refused_with_the_current_state(app: TestApp) {
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    let outcome = app.store.transition_intent(&scope(&m.id), &id, &IntentTransition::StartCapture, START, None, None).await.unwrap();
    match outcome {
        TransitionOutcome::Refused(current) => assert_eq!(current.status, IntentStatus::RequiresAction),
        TransitionOutcome::Applied(_) => panic!("requires_action cannot start a capture"),
    }
    let missing = app.store.transition_intent(&scope(&m.id), "pi_000000000000000000000000", &IntentTransition::Expire, START, None, None).await;
    assert!(matches!(missing, Err(gateway::store::StoreError::NotFound)));
    // The deadline check: an intent past its expiry cannot start processing.
    let late = app.store.transition_intent(&scope(&m.id), &id, &IntentTransition::StartProcessing { connector: "test_card".into(), customer: None }, START, Some(START + 15 * 60_000), None).await.unwrap();
    assert!(matches!(late, TransitionOutcome::Refused(_)));
}

async fn a_second_capture_of_one_intent_is_refused(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 1000).await;
    let again = app.store.transition_intent(&scope(&m.id), &id, &IntentTransition::Capture { connector_ref: "x".into() }, START, None, None).await.unwrap();
    assert!(matches!(again, TransitionOutcome::Refused(ref i) if i.status == IntentStatus::Succeeded));
    // Even behind the state machine's back, the database holds at most one payment row per intent.
    let dup = app
        .exec_raw(&format!(
            "INSERT INTO transactions (id, merchant_id, livemode, type, status, payment_intent_id, amount, currency, customer_name, customer_name_search, created_at, updated_at) \
             VALUES ('txn_dup', '{}', false, 'payment', 'succeeded', '{id}', 1000, 'KRW', 'x', 'x', 0, 0)",
            m.id
        ))
        .await;
    assert!(dup.is_err(), "a second payment row must be refused by the database");
    app.assert_ledger_balanced().await;
}

async fn events_get_strictly_increasing_sequence_numbers_per_merchant(app: TestApp) {
    let a = app.merchant().await;
    let b = app.merchant().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push((a.id.clone(), app.paid_intent(&a.sk, 100).await));
        ids.push((b.id.clone(), app.create_intent(&b.sk, json!({})).await));
    }
    for merchant in [&a.id, &b.id] {
        let mut seqs = Vec::new();
        for (owner, id) in ids.iter().filter(|(o, _)| o == merchant) {
            seqs.extend(app.store.events_after(&scope(owner), Some(id), 0, 1000).await.unwrap().iter().map(|e| e.sequence));
        }
        let mut sorted = seqs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seqs.len(), "no sequence number repeats");
        assert_eq!(sorted.first(), Some(&1));
        assert_eq!(sorted.last(), Some(&(seqs.len() as i64)), "no gaps within one merchant");
    }
}

async fn idempotency_records_move_through_their_states(app: TestApp) {
    let m = app.merchant().await;
    let key = IdempotencyScope { owner: m.id.clone(), livemode: false, method: "POST".into(), path: "/v1/x".into(), key: "k".into() };
    let store = &app.store;
    let started = |b: IdempotencyBegin| match b {
        IdempotencyBegin::Started(lease) => lease,
        other => panic!("expected Started, got {other:?}"),
    };
    let answer = |status: u16, code: &str| Finish::new(status, View::Object).answer(Saved::Error { code: code.into(), message: "m".into(), param: None });
    let first = started(store.idempotency_begin(&key, "fp", START, START + 1000).await.unwrap());
    assert!(matches!(store.idempotency_begin(&key, "fp", START + 1, START + 1001).await.unwrap(), IdempotencyBegin::InFlight));
    assert!(matches!(store.idempotency_begin(&key, "other", START + 1, START + 1001).await.unwrap(), IdempotencyBegin::Mismatch));
    // The lease ran out: exactly one retry takes the key over.
    let second = started(store.idempotency_begin(&key, "fp", START + 2000, START + 3000).await.unwrap());
    assert_ne!(first.token, second.token);
    assert!(matches!(store.idempotency_begin(&key, "fp", START + 2000, START + 3000).await.unwrap(), IdempotencyBegin::InFlight));
    // The slow first owner can neither save nor release what it no longer owns.
    assert!(!store.idempotency_answer(&first, &answer(500, "stale")).await.unwrap());
    store.idempotency_release(&first).await.unwrap();
    assert!(matches!(store.idempotency_begin(&key, "fp", START + 2001, START + 3001).await.unwrap(), IdempotencyBegin::InFlight));
    assert!(store.idempotency_answer(&second, &answer(201, "ok")).await.unwrap());
    match store.idempotency_begin(&key, "fp", START + 5000, START + 6000).await.unwrap() {
        IdempotencyBegin::Completed(saved) => assert_eq!(saved, answer(201, "ok")),
        other => panic!("expected Completed, got {other:?}"),
    }
    store.idempotency_release(&second).await.unwrap();
    assert!(matches!(store.idempotency_begin(&key, "fp", START, START).await.unwrap(), IdempotencyBegin::Completed(_)), "release only forgets in-flight keys");
    assert_eq!(store.idempotency_purge(START + 1).await.unwrap(), 1);
    started(store.idempotency_begin(&key, "fp", START, START + 1).await.unwrap());
}

fn refund(intent: &str, amount: i64, key: Option<&str>) -> NewRefundRecord {
    NewRefundRecord {
        id: IdKind::Refund.generate(),
        payment_intent_id: intent.to_owned(),
        amount: Some(parse_amount(amount).unwrap()),
        reason: None,
        idempotency_key: key.map(str::to_owned),
        created_at: START,
    }
}

async fn refund_reservations_are_bounded_by_the_capture(app: TestApp) {
    let m = app.merchant().await;
    let s = scope(&m.id);
    let paid = app.paid_intent(&m.sk, 1000).await;
    let open = app.create_intent(&m.sk, json!({})).await;
    assert!(matches!(app.store.reserve_refund(&s, &refund(&paid, 600, Some("a")), None).await.unwrap(), RefundReservation::Reserved { .. }));
    assert!(matches!(app.store.reserve_refund(&s, &refund(&paid, 600, None), None).await.unwrap(), RefundReservation::ExceedsCaptured { available: 400 }));
    assert!(matches!(app.store.reserve_refund(&s, &refund(&paid, 600, Some("a")), None).await.unwrap(), RefundReservation::Existing { .. }), "same key finds the first");
    assert!(matches!(app.store.reserve_refund(&s, &refund(&paid, 999, Some("a")), None).await.unwrap(), RefundReservation::KeyReused), "same key, other amount");
    assert!(matches!(app.store.reserve_refund(&s, &refund(&open, 1, None), None).await.unwrap(), RefundReservation::NotRefundable(IntentStatus::RequiresAction)));
    assert!(matches!(app.store.reserve_refund(&s, &refund("pi_000000000000000000000000", 1, None), None).await.unwrap(), RefundReservation::IntentMissing));
    let other = app.merchant().await;
    assert!(matches!(app.store.reserve_refund(&scope(&other.id), &refund(&paid, 1, None), None).await.unwrap(), RefundReservation::IntentMissing));
}

async fn settling_a_refund_twice_changes_nothing(app: TestApp) {
    let m = app.merchant().await;
    let s = scope(&m.id);
    let paid = app.paid_intent(&m.sk, 1000).await;
    let r = refund(&paid, 300, None);
    app.store.reserve_refund(&s, &r, None).await.unwrap();
    let ok = RefundOutcome::Succeeded { connector_ref: "ref".into() };
    let first = app.store.complete_refund(&s, &r.id, &ok, START, None).await.unwrap();
    let second = app.store.complete_refund(&s, &r.id, &RefundOutcome::Failed { code: "late".into() }, START, None).await.unwrap();
    assert_eq!(first, second, "a settled refund stays as it was");
    assert_eq!(app.store.get_intent(&s, &paid).await.unwrap().amount_refunded, 300);

    let failing = refund(&paid, 700, None);
    app.store.reserve_refund(&s, &failing, None).await.unwrap();
    let failed = app.store.complete_refund(&s, &failing.id, &RefundOutcome::Failed { code: "processor_said_no".into() }, START, None).await.unwrap();
    assert_eq!(failed.failure_code.as_deref(), Some("processor_said_no"));
    assert_eq!(app.store.get_intent(&s, &paid).await.unwrap().amount_refunded, 300, "a failed refund releases its reservation");
    app.assert_ledger_balanced().await;
}

async fn the_ledger_and_the_event_log_are_append_only(app: TestApp) {
    let m = app.merchant().await;
    app.paid_intent(&m.sk, 1000).await;
    for sql in ["UPDATE ledger_postings SET amount = 0", "DELETE FROM ledger_postings", "UPDATE events SET type = 'x'", "DELETE FROM events"] {
        let err = app.exec_raw(sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    app.assert_ledger_balanced().await;
}

async fn the_ledger_check_reports_each_broken_invariant(app: TestApp) {
    let m = app.merchant().await;
    let id = app.paid_intent(&m.sk, 1000).await;
    app.assert_ledger_balanced().await;
    let txn: String = app.get(&m.sk, &format!("/v1/transactions?payment_intent={id}")).await.body["data"][0]["id"].as_str().unwrap().to_owned();
    app.exec_raw(&format!(
        "INSERT INTO ledger_postings (id, transaction_id, merchant_id, livemode, account, currency, amount, created_at) \
         VALUES ('lp_bogus', '{txn}', '{}', false, 'merchant_payable', 'KRW', -5, 0)",
        m.id
    ))
    .await
    .unwrap();
    app.exec_raw(&format!("UPDATE payment_intents SET amount_captured = 900 WHERE id = '{id}'")).await.unwrap();
    // A second capture row (behind the unique index, dropped for the purpose) and a refund row
    // larger than the capture, with no reservation on the intent.
    app.exec_raw("DROP INDEX transactions_one_payment").await.unwrap();
    for (txn, kind, amount) in [("txn_second", "payment", 1000), ("txn_refund", "refund", 5000)] {
        app.exec_raw(&format!(
            "INSERT INTO transactions (id, merchant_id, livemode, type, status, payment_intent_id, amount, currency, customer_name, customer_name_search, created_at, updated_at) \
             VALUES ('{txn}', '{}', false, '{kind}', 'succeeded', '{id}', {amount}, 'KRW', 'x', 'x', 0, 0)",
            m.id
        ))
        .await
        .unwrap();
    }
    let found: Vec<&str> = app.store.ledger_check().await.unwrap().iter().map(|v| v.invariant).collect::<Vec<_>>().into_iter().collect();
    for invariant in [
        "postings_sum_to_zero_per_currency",
        "postings_sum_to_zero_per_transaction",
        "at_most_one_capture_per_intent",
        "refunded_at_most_captured",
        "captured_matches_transactions",
        "refund_reservation_consistent",
        "merchant_payable_matches_net_capture",
    ] {
        assert!(found.contains(&invariant), "{invariant} not reported: {found:?}");
    }
}

async fn an_api_key_expiry_only_moves_earlier(app: TestApp) {
    let m = app.merchant().await;
    let key = app.services.create_key(&m.id, gateway::domain::keys::KeyKind::Secret, false).await.unwrap();
    let later = app.store.expire_api_key(&key.record.id, START + 10_000).await.unwrap();
    assert_eq!(later.expires_at, Some(START + 10_000));
    let sooner = app.store.expire_api_key(&key.record.id, START + 5_000).await.unwrap();
    assert_eq!(sooner.expires_at, Some(START + 5_000));
    let not_later = app.store.expire_api_key(&key.record.id, START + 50_000).await.unwrap();
    assert_eq!(not_later.expires_at, Some(START + 5_000));
}

fn new_customer(email: Option<&str>, phone: Option<&str>) -> NewCustomerRecord {
    NewCustomerRecord {
        id: IdKind::Customer.generate(),
        email: email.map(str::to_owned),
        phone: phone.map(str::to_owned),
        password_hash: Secret::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"),
        created_at: START,
    }
}

async fn customer(app: &TestApp, email: &str) -> String {
    match app.store.create_customer(&new_customer(Some(email), None)).await.unwrap() {
        CustomerCreated::Created(c) => c.id,
        CustomerCreated::IdentifierTaken => panic!("{email} is new"),
    }
}

fn first_token(customer_id: &str, hash: &str, expires_at: i64) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: IdKind::RefreshToken.generate(),
        family_id: format!("rtf_{}", gateway::ids::random_base62(24)),
        customer_id: customer_id.to_owned(),
        token_hash: KeyHash(hash.to_owned()),
        created_at: START,
        expires_at,
    }
}

fn next_token(hash: &str) -> NextRefreshToken {
    NextRefreshToken { id: IdKind::RefreshToken.generate(), token_hash: KeyHash(hash.to_owned()), expires_at: START + 60_000 }
}

async fn an_email_or_phone_signs_in_one_account_only(app: TestApp) {
    let created = app.store.create_customer(&new_customer(Some("a@example.com"), Some("+821012345678"))).await.unwrap();
    let CustomerCreated::Created(a) = created else { panic!("a new account") };
    assert_eq!(app.store.get_customer(&a.id).await.unwrap(), a);
    for taken in [new_customer(Some("a@example.com"), None), new_customer(None, Some("+821012345678"))] {
        assert_eq!(app.store.create_customer(&taken).await.unwrap(), CustomerCreated::IdentifierTaken);
    }
    for identifier in [Identifier::Email("a@example.com".into()), Identifier::Phone("+821012345678".into())] {
        let found = app.store.find_customer_by_identifier(&identifier).await.unwrap().expect("found");
        assert_eq!(found.customer, a);
        assert_eq!(found.failed_signins, 0);
        assert_eq!(found.locked_until, None);
    }
    assert!(app.store.find_customer_by_identifier(&Identifier::Email("b@example.com".into())).await.unwrap().is_none());
    assert!(matches!(app.store.get_customer("cus_000000000000000000000000").await, Err(StoreError::NotFound)));
}

async fn the_tenth_failed_sign_in_locks_the_account_and_starts_the_count_afresh(app: TestApp) {
    let id = customer(&app, "locked@example.com").await;
    let who = Identifier::Email("locked@example.com".into());
    for n in 1..SIGN_IN_FAILURE_LIMIT {
        assert_eq!(app.store.record_failed_sign_in(&id, START).await.unwrap(), None);
        assert_eq!(app.store.find_customer_by_identifier(&who).await.unwrap().unwrap().failed_signins, n);
    }
    assert_eq!(app.store.record_failed_sign_in(&id, START).await.unwrap(), Some(START + LOCKOUT_MS));
    let locked = app.store.find_customer_by_identifier(&who).await.unwrap().unwrap();
    assert_eq!((locked.failed_signins, locked.locked_until), (0, Some(START + LOCKOUT_MS)));
    app.store.record_failed_sign_in(&id, START).await.unwrap();
    app.store.reset_failed_sign_ins(&id).await.unwrap();
    assert_eq!(app.store.find_customer_by_identifier(&who).await.unwrap().unwrap().failed_signins, 0);
}

async fn a_refresh_token_rotates_once_and_its_reuse_revokes_the_family(app: TestApp) {
    let id = customer(&app, "rotate@example.com").await;
    app.store.insert_refresh_token(&first_token(&id, "h1", START + 60_000)).await.unwrap();
    let hash = |h: &str| KeyHash(h.to_owned());
    assert_eq!(app.store.use_refresh_token(&hash("h1"), START, &next_token("h2")).await.unwrap(), RefreshOutcome::Rotated { customer_id: id.clone() });
    assert_eq!(app.store.use_refresh_token(&hash("h2"), START, &next_token("h3")).await.unwrap(), RefreshOutcome::Rotated { customer_id: id.clone() });
    // h1 comes back: the family (h2 spent, h3 live) is revoked, and h3 stops working.
    assert_eq!(app.store.use_refresh_token(&hash("h1"), START, &next_token("h4")).await.unwrap(), RefreshOutcome::Reused { customer_id: id.clone() });
    assert_eq!(app.store.use_refresh_token(&hash("h3"), START, &next_token("h5")).await.unwrap(), RefreshOutcome::Invalid);
    // Sign-out revokes another family, and only it.
    app.store.insert_refresh_token(&first_token(&id, "g1", START + 60_000)).await.unwrap();
    app.store.insert_refresh_token(&first_token(&id, "k1", START + 60_000)).await.unwrap();
    assert_eq!(app.store.revoke_refresh_family(&hash("g1"), START).await.unwrap(), 1);
    assert_eq!(app.store.use_refresh_token(&hash("g1"), START, &next_token("g2")).await.unwrap(), RefreshOutcome::Invalid);
    assert!(matches!(app.store.use_refresh_token(&hash("k1"), START, &next_token("k2")).await.unwrap(), RefreshOutcome::Rotated { .. }));
    assert_eq!(app.store.revoke_refresh_family(&hash("unknown"), START).await.unwrap(), 0);
}

async fn concurrent_uses_of_one_refresh_token_rotate_exactly_once(app: TestApp) {
    let id = customer(&app, "race@example.com").await;
    app.store.insert_refresh_token(&first_token(&id, "race", START + 60_000)).await.unwrap();
    let uses = (0..8).map(|n| {
        let store = app.store.clone();
        tokio::spawn(async move { store.use_refresh_token(&KeyHash("race".into()), START, &next_token(&format!("next{n}"))).await })
    });
    let outcomes: Vec<RefreshOutcome> = futures::future::join_all(uses).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
    let rotated = outcomes.iter().filter(|o| matches!(o, RefreshOutcome::Rotated { .. })).count();
    assert_eq!(rotated, 1, "{outcomes:?}");
}

async fn expired_revoked_and_unknown_refresh_tokens_are_invalid(app: TestApp) {
    let id = customer(&app, "expired@example.com").await;
    app.store.insert_refresh_token(&first_token(&id, "old", START + 1_000)).await.unwrap();
    let hash = KeyHash("old".into());
    assert_eq!(app.store.use_refresh_token(&hash, START + 1_000, &next_token("n1")).await.unwrap(), RefreshOutcome::Invalid);
    assert_eq!(app.store.use_refresh_token(&KeyHash("nope".into()), START, &next_token("n2")).await.unwrap(), RefreshOutcome::Invalid);
    // The refused rotations issued nothing.
    assert_eq!(app.store.use_refresh_token(&KeyHash("n1".into()), START, &next_token("n3")).await.unwrap(), RefreshOutcome::Invalid);
}

async fn only_refresh_families_expired_through_and_through_are_purged(app: TestApp) {
    let id = customer(&app, "purge@example.com").await;
    app.store.insert_refresh_token(&first_token(&id, "gone", START + 1_000)).await.unwrap();
    app.store.insert_refresh_token(&first_token(&id, "spent", START + 1_000)).await.unwrap();
    // The spent token's family lives on in its successor, which expires later.
    let rotated = app.store.use_refresh_token(&KeyHash("spent".into()), START, &next_token("live")).await.unwrap();
    assert!(matches!(rotated, RefreshOutcome::Rotated { .. }), "{rotated:?}");
    assert_eq!(app.store.purge_refresh_tokens(START + 2_000).await.unwrap(), 1, "only the family whose every token expired");
    let reused = app.store.use_refresh_token(&KeyHash("spent".into()), START + 2_000, &next_token("again")).await.unwrap();
    assert!(matches!(reused, RefreshOutcome::Reused { .. }), "the kept family still catches the reuse of its spent token: {reused:?}");
}

/// The approval API tells a customer's retry from another phone by the intent's customer: a read
/// that saw the intent `processing` but its customer still empty (two statements straddling the
/// approval's commit) turned a double tap into `approval_closed`.
async fn an_intent_found_by_its_code_is_read_in_one_piece_while_a_phone_approves_it(app: TestApp) {
    let m = app.merchant().await;
    let store = app.store.clone();
    for round in 0..40 {
        let id = app.create_intent(&m.sk, json!({ "merchant_order_id": format!("snapshot-{round}") })).await;
        let url = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await.body["next_action"]["url"].as_str().unwrap().to_owned();
        let code = url.rsplit('/').next().unwrap().to_owned();
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut reads = 0u32;
                loop {
                    let coded = store.find_intent_by_code(&code).await.unwrap().expect("the code is known");
                    reads += 1;
                    if coded.intent.status != IntentStatus::RequiresAction {
                        assert_eq!(coded.customer_id.as_deref(), Some("cus_snapshot"), "read {reads}: {:?} with no customer", coded.intent.status);
                        return;
                    }
                    tokio::task::yield_now().await;
                }
            })
        };
        tokio::task::yield_now().await;
        let start = IntentTransition::StartProcessing { connector: "test_card".into(), customer: Some("cus_snapshot".into()) };
        let applied = app.store.transition_intent(&scope(&m.id), &id, &start, START, None, None).await.unwrap();
        assert!(matches!(applied, TransitionOutcome::Applied(_)));
        reader.await.expect("every read is one snapshot");
    }
}

async fn the_test_card_book_decides_once_per_reference_and_forgets_only_what_can_no_longer_move_money(app: TestApp) {
    use gateway::store::CardAuthorization;
    let decision = |id: &str, reference: &str, code: &str| CardAuthorization {
        id: id.into(),
        reference: reference.into(),
        response_code: code.into(),
        amount: 1000,
        captured: false,
        voided: false,
        requests: 1,
        refunded: 0,
    };
    let first = app.store.card_decide(&decision("tc_a", "pi_a", "00"), START).await.unwrap();
    let again = app.store.card_decide(&decision("tc_other", "pi_a", "05"), START).await.unwrap();
    assert_eq!((again.id.as_str(), again.response_code.as_str(), again.requests), ("tc_a", "00", 2), "the first decision stands");
    assert_eq!(first.requests, 1);
    assert!(app.store.card_capture("tc_a", 1000).await.unwrap());
    assert!(app.store.card_capture("tc_a", 1000).await.unwrap(), "captures are idempotent");
    assert!(!app.store.card_capture("tc_a", 999).await.unwrap(), "not for another amount");
    assert!(app.store.card_refund("tc_a", "re_1", 600).await.unwrap());
    assert!(app.store.card_refund("tc_a", "re_1", 600).await.unwrap(), "once per refund reference");
    assert!(!app.store.card_refund("tc_a", "re_2", 401).await.unwrap(), "never more than captured");
    app.store.card_decide(&decision("tc_b", "pi_b", "05"), START).await.unwrap();
    app.store.card_decide(&decision("tc_c", "pi_c", "00"), START).await.unwrap();
    app.store.card_void("tc_c").await.unwrap();
    assert!(!app.store.card_capture("tc_c", 1000).await.unwrap(), "a void is final");
    assert_eq!(app.store.card_prune(START + 1).await.unwrap(), 2, "the declined and the voided go");
    assert_eq!(app.store.card_authorization("pi_a").await.unwrap().map(|a| a.refunded), Some(600), "the captured one stays");
    assert_eq!(app.store.card_authorization("pi_b").await.unwrap(), None);
}
