//! The ledger as stored: one transaction row per money movement (`payment`, `cancel`, `refund`)
//! and the double-entry postings that `domain::ledger` decides for it. The store answers sums;
//! the invariants are the domain's.

use super::db::{contains_pattern, query, Row, Tx};
use super::{corrupt, SqlStore, StoreError};
use crate::clock::Millis;
use crate::domain::intent::PaymentIntent;
use crate::domain::ledger::{self as rules, CurrencySum, IntentFigures, LedgerSums, LedgerViolation, Movement};
use crate::domain::money::{Amount, Currency};
use crate::domain::query::{Page, TransactionFilter};
use crate::domain::transaction::{Transaction, TransactionStatus, TransactionType};
use crate::domain::Scope;
use crate::ids::IdKind;
use async_trait::async_trait;

#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// The merchant's money movements, newest first.
    async fn list_transactions(&self, scope: &Scope, filter: &TransactionFilter, page: &Page) -> Result<Vec<Transaction>, StoreError>;
    /// The sums the ledger's invariants are checked on, over the whole database.
    async fn ledger_sums(&self) -> Result<LedgerSums, StoreError>;
    /// Every ledger invariant, checked over the whole database; empty means healthy.
    async fn ledger_check(&self) -> Result<Vec<LedgerViolation>, StoreError> {
        Ok(rules::check(&self.ledger_sums().await?))
    }
}

const TRANSACTION_COLUMNS: &str = "id, livemode, type, status, payment_intent_id, refund_id, amount, currency, customer_name, created_at";

fn transaction(row: &Row) -> Result<Transaction, StoreError> {
    let id = row.text("id")?;
    let kind = row.text("type")?;
    let status = row.text("status")?;
    Ok(Transaction {
        object: "transaction".into(),
        kind: TransactionType::parse(&kind).ok_or_else(|| corrupt("transaction type", &kind))?,
        status: TransactionStatus::parse(&status).ok_or_else(|| corrupt("transaction status", &status))?,
        currency: super::currency(&row.text("currency")?)?,
        livemode: row.bool("livemode")?,
        payment_intent: row.text("payment_intent_id")?,
        refund: row.opt_text("refund_id")?,
        amount: Amount::parse(row.int("amount")?).map_err(|_| corrupt("transaction amount", &id))?,
        customer_name: row.text("customer_name")?,
        created_at: row.int("created_at")?,
        id,
    })
}

/// Writes one money movement's transaction row; returns its id.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_transaction(
    tx: &mut Tx,
    scope: &Scope,
    kind: TransactionType,
    status: &str,
    intent: &PaymentIntent,
    refund_id: Option<&str>,
    amount: Amount,
    now: Millis,
) -> Result<String, StoreError> {
    let id = IdKind::Transaction.generate();
    let insert = query(
        "INSERT INTO transactions (id, merchant_id, livemode, type, status, payment_intent_id, refund_id, \
         amount, currency, customer_name, customer_name_search, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(&id)
    .bind(&scope.merchant_id)
    .bind(scope.livemode)
    .bind(kind.as_str())
    .bind(status)
    .bind(&intent.id)
    .bind(refund_id)
    .bind(amount.minor_units())
    .bind(intent.currency.code())
    .bind(&intent.customer_name)
    .bind(intent.customer_name.to_lowercase())
    .bind(now);
    tx.execute(insert).await?;
    Ok(id)
}

/// Writes the postings the domain decides for `movement`, under transaction `transaction_id`.
pub(super) async fn post(
    tx: &mut Tx,
    scope: &Scope,
    transaction_id: &str,
    currency: Currency,
    movement: Movement,
    now: Millis,
) -> Result<(), StoreError> {
    for posting in movement.postings() {
        let insert = query(
            "INSERT INTO ledger_postings (id, transaction_id, merchant_id, livemode, account, currency, amount, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(IdKind::Posting.generate())
        .bind(transaction_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(posting.account.as_str())
        .bind(currency.code())
        .bind(posting.amount)
        .bind(now);
        tx.execute(insert).await?;
    }
    Ok(())
}

#[async_trait]
impl LedgerStore for SqlStore {
    async fn list_transactions(&self, scope: &Scope, f: &TransactionFilter, page: &Page) -> Result<Vec<Transaction>, StoreError> {
        let list = query(format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE merchant_id = $1 AND livemode = $2 \
               AND ($3 IS NULL OR type = $3) \
               AND ($4 IS NULL OR customer_name_search LIKE $4 ESCAPE '\\') \
               AND ($5 IS NULL OR created_at >= $5) \
               AND ($6 IS NULL OR created_at < $6) \
               AND ($7 IS NULL OR payment_intent_id = $7) \
               AND ($8 IS NULL OR created_at < $8 OR (created_at = $8 AND id < $9)) \
             ORDER BY created_at DESC, id DESC LIMIT $10"
        ))
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(f.kind.map(|k| k.as_str()))
        .bind(f.customer_name.as_deref().map(contains_pattern))
        .bind(f.created_gte)
        .bind(f.created_lt)
        .bind(&f.payment_intent)
        .bind(page.after.as_ref().map(|c| c.created_at))
        .bind(page.after.as_ref().map(|c| c.id.clone()))
        .bind(i64::from(page.limit));
        self.db.fetch_all(list).await?.iter().map(transaction).collect()
    }

    async fn ledger_sums(&self) -> Result<LedgerSums, StoreError> {
        let per_currency = self
            .db
            .fetch_all(query(
                "SELECT merchant_id, livemode, currency, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_postings \
                 GROUP BY merchant_id, livemode, currency",
            ))
            .await?
            .iter()
            .map(|r| {
                Ok(CurrencySum {
                    merchant_id: r.text("merchant_id")?,
                    livemode: r.bool("livemode")?,
                    currency: r.text("currency")?,
                    total: r.int("total")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let per_transaction = self
            .db
            .fetch_all(query("SELECT transaction_id, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_postings GROUP BY transaction_id"))
            .await?
            .iter()
            .map(|r| Ok((r.text("transaction_id")?, r.int("total")?)))
            .collect::<Result<_, StoreError>>()?;
        let figures = query(
            "SELECT i.id, i.amount_captured, i.amount_refunded, \
               CAST((SELECT COUNT(*) FROM transactions t WHERE t.payment_intent_id = i.id AND t.type = 'payment') AS BIGINT) AS captures, \
               CAST(COALESCE((SELECT SUM(t.amount) FROM transactions t WHERE t.payment_intent_id = i.id AND t.type = 'payment' AND t.status = 'succeeded'), 0) AS BIGINT) AS captured, \
               CAST(COALESCE((SELECT SUM(t.amount) FROM transactions t WHERE t.payment_intent_id = i.id AND t.type = 'refund' AND t.status = 'succeeded'), 0) AS BIGINT) AS refunded, \
               CAST(COALESCE((SELECT SUM(p.amount) FROM ledger_postings p JOIN transactions t ON t.id = p.transaction_id \
                              WHERE t.payment_intent_id = i.id AND p.account = 'merchant_payable'), 0) AS BIGINT) AS payable \
             FROM payment_intents i WHERE i.amount_captured > 0 OR i.amount_refunded > 0 \
                OR EXISTS (SELECT 1 FROM transactions t WHERE t.payment_intent_id = i.id AND t.type <> 'cancel')",
        );
        let intents = self
            .db
            .fetch_all(figures)
            .await?
            .iter()
            .map(|r| {
                Ok(IntentFigures {
                    id: r.text("id")?,
                    amount_captured: r.int("amount_captured")?,
                    amount_refunded: r.int("amount_refunded")?,
                    captures: r.int("captures")?,
                    captured: r.int("captured")?,
                    refunded: r.int("refunded")?,
                    payable: r.int("payable")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let wallets = self
            .db
            .fetch_all(query(
                "SELECT w.id, w.balance, CAST(COALESCE((SELECT SUM(e.amount) FROM wallet_entries e WHERE e.wallet_id = w.id), 0) AS BIGINT) AS entries \
                 FROM wallets w",
            ))
            .await?
            .iter()
            .map(|r| Ok((r.text("id")?, r.int("balance")?, r.int("entries")?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(LedgerSums { per_currency, per_transaction, intents, wallets })
    }
}
