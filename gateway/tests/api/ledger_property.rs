//! A property test: random sequences of operations on several merchants, with the ledger
//! invariants checked after every step.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{blocking_app, Engine, TestApp};
use gateway::connector::test_card::{CARD_DECLINED, CARD_INSUFFICIENT_FUNDS, CARD_SUCCEEDS};
use gateway::connector::PaymentMethod;
use gateway::domain::intent::{ConfirmMode, NewIntent, NewIntentInput};
use gateway::domain::Scope;
use gateway::service::refunds::RefundRequest;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[derive(Debug, Clone)]
enum Op {
    Create { merchant: usize, amount: i64, manual: bool, live: bool },
    Approve { intent: usize, card: usize },
    Confirm { intent: usize, exact: bool },
    Cancel { intent: usize },
    Decline { intent: usize },
    Expire { intent: usize },
    Refund { intent: usize, amount: Option<i64>, key: Option<u8> },
    Advance { minutes: i64 },
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, 1..20_000i64, any::<bool>(), proptest::bool::weighted(0.2))
            .prop_map(|(merchant, amount, manual, live)| Op::Create { merchant, amount, manual, live }),
        4 => (any::<usize>(), 0..4usize).prop_map(|(intent, card)| Op::Approve { intent, card }),
        2 => (any::<usize>(), proptest::bool::weighted(0.8)).prop_map(|(intent, exact)| Op::Confirm { intent, exact }),
        1 => any::<usize>().prop_map(|intent| Op::Cancel { intent }),
        1 => any::<usize>().prop_map(|intent| Op::Decline { intent }),
        1 => any::<usize>().prop_map(|intent| Op::Expire { intent }),
        4 => (any::<usize>(), proptest::option::weighted(0.8, 1..15_000i64), proptest::option::of(0..3u8))
            .prop_map(|(intent, amount, key)| Op::Refund { intent, amount, key }),
        1 => (1..30i64).prop_map(|minutes| Op::Advance { minutes }),
        1 => Just(Op::Sweep),
    ]
}

async fn run(app: &TestApp, merchants: &[String], ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut intents: Vec<(Scope, String, i64)> = Vec::new();
    for op in ops {
        let pick = |i: usize| (!intents.is_empty()).then(|| intents[i % intents.len()].clone());
        // Refusals are expected (wrong state, too much refunded): the invariants are what matter.
        match op {
            Op::Create { merchant, amount, manual, live } => {
                let scope = Scope { merchant_id: merchants[merchant].clone(), livemode: live };
                let new = NewIntent::parse(NewIntentInput {
                    amount,
                    currency: "KRW",
                    merchant_order_id: "p",
                    order_name: "prop",
                    customer_name: "Prop Tester",
                    customer_email: None,
                    confirm_mode: Some(if manual { ConfirmMode::Manual } else { ConfirmMode::Automatic }),
                    expires_in_minutes: Some(30),
                    metadata: None,
                    return_url: None,
                })
                .unwrap();
                let created = app.services.create_intent(&scope, new, None).await.unwrap();
                intents.push((scope, created.intent.id, amount));
            }
            Op::Approve { intent, card } => {
                if let Some((scope, id, _)) = pick(intent) {
                    let number = [CARD_SUCCEEDS, CARD_DECLINED, CARD_INSUFFICIENT_FUNDS, "4111111111111111"][card];
                    let _ = app.services.approve_intent(&scope, &id, PaymentMethod::TestCard { number: number.into() }, None, None).await;
                }
            }
            Op::Confirm { intent, exact } => {
                if let Some((scope, id, amount)) = pick(intent) {
                    let _ = app.services.confirm_intent(&scope, &id, if exact { amount } else { amount + 1 }, None).await;
                }
            }
            Op::Cancel { intent } => {
                if let Some((scope, id, _)) = pick(intent) {
                    let _ = app.services.cancel_intent(&scope, &id, None, None).await;
                }
            }
            Op::Decline { intent } => {
                if let Some((scope, id, _)) = pick(intent) {
                    let _ = app.services.decline_intent(&scope, &id, None, None).await;
                }
            }
            Op::Expire { intent } => {
                if let Some((scope, id, _)) = pick(intent) {
                    let _ = app.services.expire_intent_now(&scope, &id, None).await;
                }
            }
            Op::Refund { intent, amount, key } => {
                if let Some((scope, id, _)) = pick(intent) {
                    let idempotency_key = key.map(|k| format!("{id}-{k}"));
                    let req = RefundRequest { payment_intent: id, amount, reason: None, idempotency_key };
                    let _ = app.services.create_refund(&scope, req, None).await;
                }
            }
            Op::Advance { minutes } => app.clock.advance_minutes(minutes),
            Op::Sweep => {
                app.services.sweep().await.unwrap();
            }
        }
        let violations = app.store.ledger_check().await.unwrap();
        prop_assert!(violations.is_empty(), "{:#?}", violations);
    }
    for (scope, id, _) in &intents {
        let i = app.store.get_intent(scope, id).await.unwrap();
        prop_assert!(i.amount_refunded <= i.amount_captured && i.amount_captured <= i.amount.minor_units());
        let view = app.test_card.view(id).await;
        prop_assert!(view.captures <= 1, "the processor captured {} once at most", id);
        prop_assert!(view.refunded <= i.amount_captured, "the processor refunded at most what we captured");
    }
    Ok(())
}

fn property(engine: Engine) {
    let (rt, app) = blocking_app(engine);
    let mut runner = TestRunner::new(Config { cases: 24, failure_persistence: None, ..Config::default() });
    runner
        .run(&proptest::collection::vec(op(), 1..40), |ops| {
            rt.block_on(async {
                // Fresh merchants per case; one database for all cases.
                let mut merchants = Vec::new();
                for _ in 0..3 {
                    merchants.push(app.merchant().await.id);
                }
                run(&app, &merchants, ops).await
            })
        })
        .unwrap();
}

#[test]
fn sqlite_ledger_invariants_hold_after_every_step_of_random_operations() {
    property(Engine::Sqlite);
}

#[test]
fn postgres_ledger_invariants_hold_after_every_step_of_random_operations() {
    property(Engine::Postgres);
}
