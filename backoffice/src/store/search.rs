//! The transaction search behind the back office's list, totals and CSV export: one filter, one
//! WHERE clause shared by all three, so the export is exactly the rows the list shows.

use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::domain::money::{Amount, Currency};
use gateway::domain::query::Page;
use gateway::domain::transaction::{Transaction, TransactionStatus, TransactionType};
use gateway::store::sql::{contains_pattern, query, Query, Row, Value};
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
/// currency, or only that it is larger than the cap asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub count: i64,
    /// More rows match than the cap: `count` is the cap and no sums are given (a sum of part of
    /// the set would read as the whole).
    pub capped: bool,
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
    /// The totals of the set `filter` matches, read from at most `cap + 1` of its rows.
    async fn transaction_totals(&self, merchant_id: &str, filter: &SearchFilter, cap: i64) -> Result<Totals, StoreError>;
}

/// A needle's bigrams are counted up to this many entries each to find the rarest one to walk.
const GRAM_SAMPLE: i64 = 1_000;
/// At most this many of a needle's bigrams are counted; the LIKE checks the rest.
const GRAMS_COUNTED: usize = 6;

/// What a filter's SQL walks, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// One bigram's entries of the customer name (`g`), which carry the name and the type: the
    /// transaction (`t`) is read only for the page's rows and for conditions on its other columns.
    Grams,
    /// The transactions (`t`) by one of their indexes.
    Transactions,
}

/// The SQL of one filter: what is walked, only the conditions the filter sets (each planner then
/// sees plain equalities and ranges on an index, whatever its statistics), and its parameters.
struct Plan {
    walk: Walk,
    /// Conditions on what is walked.
    conditions: Vec<String>,
    /// Conditions on the transaction's own row: on the bigram walk they need it read.
    row_conditions: Vec<String>,
    values: Vec<Value>,
}

impl Plan {
    fn walking(walk: Walk) -> Self {
        Plan { walk, conditions: Vec::new(), row_conditions: Vec::new(), values: Vec::new() }
    }

    fn arg(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    fn and(&mut self, condition: String) {
        self.conditions.push(condition);
    }

    /// `column test`, `?` in `test` standing for `value`: on the bigram entry when it carries
    /// the column, else on the transaction's row.
    fn and_column(&mut self, column: &str, test: &str, value: impl Into<Value>) {
        let test = test.replace('?', &self.arg(value));
        match self.walk {
            Walk::Grams if matches!(column, "created_at" | "customer_name_search" | "type") => self.conditions.push(format!("g.{column} {test}")),
            Walk::Grams => self.row_conditions.push(format!("t.{column} {test}")),
            Walk::Transactions => self.conditions.push(format!("t.{column} {test}")),
        }
    }

    /// The columns the order follows: (time, id).
    fn key(&self) -> (&'static str, &'static str) {
        match self.walk {
            Walk::Grams => ("g.created_at", "g.transaction_id"),
            Walk::Transactions => ("t.created_at", "t.id"),
        }
    }

    /// `FROM ... WHERE ...`; with `rows`, the transaction (`t`) can be read, and `join` follows it.
    fn filter(&self, rows: bool, join: &str) -> String {
        let rows = rows || !self.row_conditions.is_empty();
        let from = match (self.walk, rows) {
            (Walk::Grams, false) => "transaction_name_grams g",
            (Walk::Grams, true) => "transaction_name_grams g CROSS JOIN transactions t",
            (Walk::Transactions, _) => "transactions t",
        };
        let mut all = self.conditions.clone();
        if rows {
            if self.walk == Walk::Grams {
                all.push("t.id = g.transaction_id".into());
            }
            all.extend(self.row_conditions.iter().cloned());
        }
        format!("FROM {from}{} WHERE {}", if rows { join } else { "" }, all.join(" AND "))
    }

    fn into_query(self, sql: String) -> Query {
        self.values.into_iter().fold(query(sql), Query::bind)
    }

    fn clone_query(&self, sql: String) -> Query {
        self.values.iter().cloned().fold(query(sql), Query::bind)
    }
}

/// The distinct two-character pieces of `text`, in order.
pub fn bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut grams: Vec<String> = Vec::new();
    for pair in chars.windows(2) {
        let gram: String = pair.iter().collect();
        if !grams.contains(&gram) {
            grams.push(gram);
        }
    }
    grams
}

/// The bigram of the needle with the fewest entries in the filter's date range (counted up
/// to [`GRAM_SAMPLE`]), or `None` for a one-character needle, which the list's index serves.
async fn walked_gram(store: &SqlStore, merchant_id: &str, f: &SearchFilter) -> Result<Option<String>, StoreError> {
    let Some(needle) = f.customer_name.as_deref().map(str::to_lowercase) else {
        return Ok(None);
    };
    let mut grams = bigrams(&needle);
    grams.truncate(GRAMS_COUNTED);
    if grams.len() <= 1 {
        return Ok(grams.pop());
    }
    let mut rarest: Option<(i64, String)> = None;
    for gram in grams {
        let mut plan = Plan::walking(Walk::Grams);
        let (m, l, g) = (plan.arg(merchant_id), plan.arg(f.livemode), plan.arg(gram.clone()));
        plan.and(format!("g.merchant_id = {m} AND g.livemode = {l} AND g.gram = {g}"));
        bound_dates(&mut plan, f);
        let sql = format!("SELECT COUNT(*) AS n FROM (SELECT 1 {} LIMIT {GRAM_SAMPLE}) s", plan.filter(false, ""));
        let n = store.sql().fetch_one(plan.into_query(sql)).await?.int("n")?;
        if rarest.as_ref().is_none_or(|(least, _)| n < *least) {
            rarest = Some((n, gram));
        }
        if n == 0 {
            break;
        }
    }
    Ok(rarest.map(|(_, gram)| gram))
}

async fn plan(store: &SqlStore, merchant_id: &str, f: &SearchFilter) -> Result<Plan, StoreError> {
    let mut plan = if f.payment_intent.is_some() || f.order_id.is_some() {
        // An exact intent or order id: first its few transactions' ids, then those rows by id.
        let ids = intent_transaction_ids(store, merchant_id, f).await?;
        let mut plan = Plan::walking(Walk::Transactions);
        let (m, l) = (plan.arg(merchant_id), plan.arg(f.livemode));
        plan.and(format!("t.merchant_id = {m} AND t.livemode = {l}"));
        if ids.is_empty() {
            plan.and("1 = 0".into());
        } else {
            let list: Vec<String> = ids.into_iter().map(|id| plan.arg(id)).collect();
            plan.and(format!("t.id IN ({})", list.join(", ")));
        }
        plan
    } else if let Some(gram) = walked_gram(store, merchant_id, f).await? {
        let mut plan = Plan::walking(Walk::Grams);
        let (m, l, g) = (plan.arg(merchant_id), plan.arg(f.livemode), plan.arg(gram));
        plan.and(format!("g.merchant_id = {m} AND g.livemode = {l} AND g.gram = {g}"));
        plan
    } else {
        let mut plan = Plan::walking(Walk::Transactions);
        let (m, l) = (plan.arg(merchant_id), plan.arg(f.livemode));
        plan.and(format!("t.merchant_id = {m} AND t.livemode = {l}"));
        plan
    };
    bound_dates(&mut plan, f);
    if let Some(name) = &f.customer_name {
        plan.and_column("customer_name_search", "LIKE ? ESCAPE '\\'", contains_pattern(name));
    }
    let kinds = [TransactionType::Payment, TransactionType::Cancel, TransactionType::Refund];
    let chosen: Vec<TransactionType> = kinds.into_iter().filter(|k| f.types.contains(k)).collect();
    if !chosen.is_empty() && !chosen.contains(&TransactionType::Payment) && plan.walk == Walk::Transactions {
        // Written out, so that both planners match the partial index of cancels and refunds.
        plan.and("t.type <> 'payment'".into());
    }
    match chosen.as_slice() {
        // One type, or two: everything but the third.
        [one] => plan.and_column("type", "= ?", one.as_str()),
        [_, _] => {
            let left = kinds.into_iter().find(|k| !chosen.contains(k)).map_or("", |k| k.as_str());
            plan.and_column("type", "<> ?", left);
        }
        _ => {}
    }
    if let Some(status) = f.status {
        plan.and_column("status", "= ?", status.as_str());
    }
    if let Some(currency) = f.amount_currency {
        plan.and_column("currency", "= ?", currency.code());
    }
    if let Some(min) = f.amount_min {
        plan.and_column("amount", ">= ?", min);
    }
    if let Some(max) = f.amount_max {
        plan.and_column("amount", "<= ?", max);
    }
    Ok(plan)
}

/// At most this many transactions are read for an exact intent or order id.
const INTENT_TRANSACTIONS: usize = 1_000;

/// The ids of the transactions of the intents with the filter's exact intent or order id, by the
/// core's own indexes: each intent's one payment and one cancel, and its refunds' transactions.
async fn intent_transaction_ids(store: &SqlStore, merchant_id: &str, f: &SearchFilter) -> Result<Vec<String>, StoreError> {
    let mut intents = Plan::walking(Walk::Transactions);
    let (m, l) = (intents.arg(merchant_id), intents.arg(f.livemode));
    let mut on = format!("o.merchant_id = {m} AND o.livemode = {l}");
    if let Some(intent) = &f.payment_intent {
        on.push_str(&format!(" AND o.id = {}", intents.arg(intent)));
    }
    if let Some(order_id) = &f.order_id {
        on.push_str(&format!(" AND o.merchant_order_id = {}", intents.arg(order_id)));
    }
    let sql = format!(
        "SELECT x.id FROM payment_intents o JOIN transactions x ON x.payment_intent_id = o.id AND x.type = 'payment' WHERE {on} \
         UNION ALL SELECT x.id FROM payment_intents o JOIN transactions x ON x.payment_intent_id = o.id AND x.type = 'cancel' WHERE {on} \
         UNION ALL SELECT x.id FROM payment_intents o JOIN refunds r ON r.payment_intent_id = o.id JOIN transactions x ON x.refund_id = r.id WHERE {on} \
         LIMIT {INTENT_TRANSACTIONS}"
    );
    store.sql().fetch_all(intents.into_query(sql)).await?.iter().map(|r| r.text("id")).collect()
}

fn bound_dates(plan: &mut Plan, f: &SearchFilter) {
    if let Some(gte) = f.created_gte {
        plan.and_column("created_at", ">= ?", gte);
    }
    if let Some(lt) = f.created_lt {
        plan.and_column("created_at", "< ?", lt);
    }
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
        let mut plan = plan(self, merchant_id, f).await?;
        let (created, id) = plan.key();
        if let Some(after) = &page.after {
            let (c, i) = (plan.arg(after.created_at), plan.arg(after.id.clone()));
            // A row value: both engines read it as one range of the index (an OR of the two
            // halves makes PostgreSQL walk the index from the top on every page).
            plan.and(format!("({created}, {id}) < ({c}, {i})"));
        }
        let limit = plan.arg(i64::from(page.limit));
        // The intent's order name and id, for the page's rows only.
        let sql = format!(
            "SELECT t.id, t.livemode, t.type, t.status, t.payment_intent_id, t.refund_id, t.amount, t.currency, t.customer_name, \
                    t.created_at, i.order_name, i.merchant_order_id {} \
             ORDER BY {created} DESC, {id} DESC LIMIT {limit}",
            plan.filter(true, " JOIN payment_intents i ON i.id = t.payment_intent_id")
        );
        self.sql().fetch_all(plan.into_query(sql)).await?.iter().map(row).collect()
    }

    async fn transaction_totals(&self, merchant_id: &str, f: &SearchFilter, cap: i64) -> Result<Totals, StoreError> {
        let plan = plan(self, merchant_id, f).await?;
        let cap = cap.max(0);
        // First whether more than `cap` match, from the index alone where it can tell (any cap + 1
        // rows will do: no order); only a set within the cap is read row by row for its sums.
        let count = format!("SELECT COUNT(*) AS n FROM (SELECT 1 AS one {} LIMIT {}) s", plan.filter(false, ""), cap.saturating_add(1));
        let n = self.sql().fetch_one(plan.clone_query(count)).await?.int("n")?;
        if n > cap {
            return Ok(Totals { count: cap, capped: true, per_currency: Vec::new() });
        }
        let sums = format!(
            "SELECT t.currency, COUNT(*) AS n, \
                    CAST(COALESCE(SUM(CASE WHEN t.status = 'succeeded' AND t.type = 'payment' THEN t.amount \
                                           WHEN t.status = 'succeeded' AND t.type = 'refund' THEN -t.amount \
                                           ELSE 0 END), 0) AS BIGINT) AS net \
             {} GROUP BY t.currency ORDER BY t.currency",
            plan.filter(true, "")
        );
        let rows = self.sql().fetch_all(plan.into_query(sums)).await?;
        let mut totals = Totals::default();
        for r in &rows {
            let count = r.int("n")?;
            totals.count += count;
            totals.per_currency.push(CurrencyTotal { currency: currency(&r.text("currency")?)?, count, net: r.int("net")? });
        }
        Ok(totals)
    }
}
