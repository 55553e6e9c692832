//! The transaction search behind the back office's list, totals and CSV export: one filter, one
//! WHERE clause shared by all three, so the export is exactly the rows the list shows.

use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::domain::money::{Amount, Currency};
use gateway::domain::query::Page;
use gateway::domain::transaction::{Transaction, TransactionStatus, TransactionType};
use gateway::store::sql::{contains_pattern, query, Query, Row};
use gateway::store::{SqlStore, StoreError};

/// A filter as the store runs it: dates already resolved to instants, amounts to minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    pub livemode: bool,
    /// Case-insensitive substring of the customer's name.
    pub customer_name: Option<String>,
    pub created_gte: Option<Millis>,
    pub created_lt: Option<Millis>,
    /// Empty: every type.
    pub types: Vec<TransactionType>,
    pub status: Option<TransactionStatus>,
    /// An amount range is read in one currency; rows in others do not match it.
    pub amount_currency: Option<Currency>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    /// The merchant's own order id, exactly.
    pub order_id: Option<String>,
    pub payment_intent: Option<String>,
}

/// A transaction with what the list shows of its intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRow {
    pub transaction: Transaction,
    pub order_name: String,
    pub order_id: String,
}

/// The filtered set's size and its net amount (succeeded payments less succeeded refunds) per
/// currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub count: i64,
    pub per_currency: Vec<CurrencyTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotal {
    pub currency: Currency,
    pub count: i64,
    pub net: i64,
}

#[async_trait]
pub trait TransactionSearch: Send + Sync {
    /// The merchant's transactions matching `filter`, newest first, after `page.after`.
    async fn search_transactions(&self, merchant_id: &str, filter: &SearchFilter, page: &Page) -> Result<Vec<TransactionRow>, StoreError>;
    async fn transaction_totals(&self, merchant_id: &str, filter: &SearchFilter) -> Result<Totals, StoreError>;
}

/// Placeholders $1 to $14, bound by [`bind_filter`] in this order.
const FILTER: &str = "FROM transactions t JOIN payment_intents i ON i.id = t.payment_intent_id \
    WHERE t.merchant_id = $1 AND t.livemode = $2 \
      AND ($3 IS NULL OR t.customer_name_search LIKE $3 ESCAPE '\\') \
      AND ($4 IS NULL OR t.created_at >= $4) \
      AND ($5 IS NULL OR t.created_at < $5) \
      AND ($6 OR t.type <> 'payment') AND ($7 OR t.type <> 'cancel') AND ($8 OR t.type <> 'refund') \
      AND ($9 IS NULL OR t.status = $9) \
      AND ($10 IS NULL OR t.currency = $10) \
      AND ($11 IS NULL OR t.amount >= $11) \
      AND ($12 IS NULL OR t.amount <= $12) \
      AND ($13 IS NULL OR i.merchant_order_id = $13) \
      AND ($14 IS NULL OR t.payment_intent_id = $14)";

fn bind_filter(q: Query, merchant_id: &str, f: &SearchFilter) -> Query {
    let any_type = f.types.is_empty();
    let has = |kind: TransactionType| any_type || f.types.contains(&kind);
    q.bind(merchant_id)
        .bind(f.livemode)
        .bind(f.customer_name.as_deref().map(contains_pattern))
        .bind(f.created_gte)
        .bind(f.created_lt)
        .bind(has(TransactionType::Payment))
        .bind(has(TransactionType::Cancel))
        .bind(has(TransactionType::Refund))
        .bind(f.status.map(|s| s.as_str()))
        .bind(f.amount_currency.map(|c| c.code()))
        .bind(f.amount_min)
        .bind(f.amount_max)
        .bind(f.order_id.as_deref())
        .bind(f.payment_intent.as_deref())
}

fn currency(code: &str) -> Result<Currency, StoreError> {
    code.parse().map_err(|()| StoreError::Corrupt(format!("currency: {code}")))
}

fn row(r: &Row) -> Result<TransactionRow, StoreError> {
    let id = r.text("id")?;
    let kind = r.text("type")?;
    let status = r.text("status")?;
    let transaction = Transaction {
        object: "transaction".into(),
        kind: TransactionType::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("transaction type: {kind}")))?,
        status: TransactionStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("transaction status: {status}")))?,
        currency: currency(&r.text("currency")?)?,
        livemode: r.bool("livemode")?,
        payment_intent: r.text("payment_intent_id")?,
        refund: r.opt_text("refund_id")?,
        amount: Amount::parse(r.int("amount")?).map_err(|_| StoreError::Corrupt(format!("transaction amount: {id}")))?,
        customer_name: r.text("customer_name")?,
        created_at: r.int("created_at")?,
        id,
    };
    Ok(TransactionRow { transaction, order_name: r.text("order_name")?, order_id: r.text("merchant_order_id")? })
}

#[async_trait]
impl TransactionSearch for SqlStore {
    async fn search_transactions(&self, merchant_id: &str, f: &SearchFilter, page: &Page) -> Result<Vec<TransactionRow>, StoreError> {
        let list = query(format!(
            "SELECT t.id, t.livemode, t.type, t.status, t.payment_intent_id, t.refund_id, t.amount, t.currency, t.customer_name, \
                    t.created_at, i.order_name, i.merchant_order_id {FILTER} \
               AND ($15 IS NULL OR t.created_at < $15 OR (t.created_at = $15 AND t.id < $16)) \
             ORDER BY t.created_at DESC, t.id DESC LIMIT $17"
        ));
        let list = bind_filter(list, merchant_id, f)
            .bind(page.after.as_ref().map(|c| c.created_at))
            .bind(page.after.as_ref().map(|c| c.id.clone()))
            .bind(i64::from(page.limit));
        self.sql().fetch_all(list).await?.iter().map(row).collect()
    }

    async fn transaction_totals(&self, merchant_id: &str, f: &SearchFilter) -> Result<Totals, StoreError> {
        let sums = query(format!(
            "SELECT t.currency, COUNT(*) AS n, \
                    CAST(COALESCE(SUM(CASE WHEN t.status = 'succeeded' AND t.type = 'payment' THEN t.amount \
                                           WHEN t.status = 'succeeded' AND t.type = 'refund' THEN -t.amount \
                                           ELSE 0 END), 0) AS BIGINT) AS net \
             {FILTER} GROUP BY t.currency ORDER BY t.currency"
        ));
        let rows = self.sql().fetch_all(bind_filter(sums, merchant_id, f)).await?;
        let mut totals = Totals::default();
        for r in &rows {
            let count = r.int("n")?;
            totals.count += count;
            totals.per_currency.push(CurrencyTotal { currency: currency(&r.text("currency")?)?, count, net: r.int("net")? });
        }
        Ok(totals)
    }
}
