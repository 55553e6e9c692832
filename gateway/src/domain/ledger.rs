//! The ledger's rules: which postings each money movement makes, and the invariants that must
//! hold over the whole book at all times. The store persists the postings and answers sums; it
//! decides neither.
//!
//! Double entry, append-only. A capture moves the amount from what the merchant is owed
//! (`merchant_payable`, a liability, negative) to what the processor holds for us
//! (`processor_receivable`); a refund moves it back. A cancel moves no money and posts nothing.

use super::money::Amount;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    MerchantPayable,
    ProcessorReceivable,
}

impl Account {
    pub const ALL: [Account; 2] = [Account::MerchantPayable, Account::ProcessorReceivable];

    pub fn as_str(self) -> &'static str {
        match self {
            Account::MerchantPayable => "merchant_payable",
            Account::ProcessorReceivable => "processor_receivable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One side of a double entry: a signed amount on one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    pub amount: i64,
}

/// A money movement that posts to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    Capture(Amount),
    Refund(Amount),
}

impl Movement {
    /// The two postings of the movement; they sum to zero.
    pub fn postings(self) -> [Posting; 2] {
        let (debit, credit, amount) = match self {
            Movement::Capture(a) => (Account::ProcessorReceivable, Account::MerchantPayable, a),
            Movement::Refund(a) => (Account::MerchantPayable, Account::ProcessorReceivable, a),
        };
        let amount = amount.minor_units();
        [Posting { account: debit, amount }, Posting { account: credit, amount: -amount }]
    }
}

/// What the store sums up for the ledger check.
#[derive(Debug, Clone, Default)]
pub struct LedgerSums {
    /// Per (merchant, mode, currency): the sum of every posting.
    pub per_currency: Vec<CurrencySum>,
    /// Per ledger transaction: the sum of its postings.
    pub per_transaction: Vec<(String, i64)>,
    /// Per intent with money on it: what its row says and what its transactions and postings sum to.
    pub intents: Vec<IntentFigures>,
    /// Per wallet: its balance and the sum of its entries.
    pub wallets: Vec<(String, i64, i64)>,
}

#[derive(Debug, Clone)]
pub struct CurrencySum {
    pub merchant_id: String,
    pub livemode: bool,
    pub currency: String,
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct IntentFigures {
    pub id: String,
    /// The intent row's `amount_captured` and `amount_refunded` (refunds in flight included).
    pub amount_captured: i64,
    pub amount_refunded: i64,
    /// `payment` transactions recorded for it, and their succeeded sum.
    pub captures: i64,
    pub captured: i64,
    /// The succeeded `refund` transactions' sum.
    pub refunded: i64,
    /// The sum of its `merchant_payable` postings.
    pub payable: i64,
}

/// A broken ledger invariant, as the ledger check reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerViolation {
    pub invariant: &'static str,
    pub detail: String,
}

/// Every invariant over the sums; empty means the book is healthy.
pub fn check(sums: &LedgerSums) -> Vec<LedgerViolation> {
    let mut out = Vec::new();
    let mut broken = |invariant, detail| out.push(LedgerViolation { invariant, detail });
    for s in sums.per_currency.iter().filter(|s| s.total != 0) {
        broken(
            "postings_sum_to_zero_per_currency",
            format!("merchant {} livemode={} {}: postings sum to {}", s.merchant_id, s.livemode, s.currency, s.total),
        );
    }
    for (txn, total) in sums.per_transaction.iter().filter(|(_, total)| *total != 0) {
        broken("postings_sum_to_zero_per_transaction", format!("transaction {txn}: postings sum to {total}"));
    }
    for i in &sums.intents {
        if i.captures > 1 {
            broken("at_most_one_capture_per_intent", format!("intent {}: {} captures", i.id, i.captures));
        }
        if i.refunded > i.captured {
            broken("refunded_at_most_captured", format!("intent {}: refunded {} > captured {}", i.id, i.refunded, i.captured));
        }
        if i.amount_captured != i.captured {
            broken(
                "captured_matches_transactions",
                format!("intent {}: amount_captured {}, payment transactions {}", i.id, i.amount_captured, i.captured),
            );
        }
        if i.amount_refunded < i.refunded || i.amount_refunded > i.amount_captured {
            broken(
                "refund_reservation_consistent",
                format!(
                    "intent {}: amount_refunded {}, succeeded refunds {}, captured {}",
                    i.id, i.amount_refunded, i.refunded, i.amount_captured
                ),
            );
        }
        if i.payable != -(i.captured - i.refunded) {
            broken(
                "merchant_payable_matches_net_capture",
                format!("intent {}: payable postings {}, net captured {}", i.id, i.payable, i.captured - i.refunded),
            );
        }
    }
    // The wallet connector's book: a balance is the sum of its entries.
    for (id, balance, entries) in sums.wallets.iter().filter(|(_, b, e)| b != e) {
        broken("wallet_balance_matches_entries", format!("wallet {id}: balance {balance}, entries {entries}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(n: i64) -> Amount {
        Amount::parse(n).unwrap()
    }

    #[test]
    fn every_movement_posts_two_sides_that_sum_to_zero() {
        for m in [Movement::Capture(amount(1200)), Movement::Refund(amount(300))] {
            let [a, b] = m.postings();
            assert_eq!(a.amount + b.amount, 0);
            assert_ne!(a.account, b.account);
        }
        let [debit, credit] = Movement::Capture(amount(1200)).postings();
        assert_eq!((debit.account, debit.amount), (Account::ProcessorReceivable, 1200));
        assert_eq!((credit.account, credit.amount), (Account::MerchantPayable, -1200));
    }

    #[test]
    fn a_healthy_book_breaks_no_invariant_and_each_break_is_named() {
        let healthy = IntentFigures {
            id: "pi_1".into(),
            amount_captured: 1000,
            amount_refunded: 200,
            captures: 1,
            captured: 1000,
            refunded: 200,
            payable: -800,
        };
        let sums = LedgerSums { intents: vec![healthy.clone()], ..Default::default() };
        assert!(check(&sums).is_empty());
        let twice = LedgerSums { intents: vec![IntentFigures { captures: 2, ..healthy.clone() }], ..Default::default() };
        assert_eq!(check(&twice)[0].invariant, "at_most_one_capture_per_intent");
        let over = LedgerSums { intents: vec![IntentFigures { refunded: 1200, amount_refunded: 1200, payable: 200, ..healthy }], ..Default::default() };
        let names: Vec<_> = check(&over).iter().map(|v| v.invariant).collect();
        assert!(names.contains(&"refunded_at_most_captured"), "{names:?}");
        let wallets = LedgerSums { wallets: vec![("wal_1".into(), 10, 9)], ..Default::default() };
        assert_eq!(check(&wallets)[0].invariant, "wallet_balance_matches_entries");
    }
}
