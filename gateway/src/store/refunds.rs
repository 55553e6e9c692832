//! Refunds: the amount is reserved on the intent by a compare-and-set (so concurrent refunds can
//! never exceed the capture), the refund waits `pending` while the connector is asked outside
//! any transaction, then it settles once, with its postings and the intent's new status.

use super::db::{is_unique_violation, query, Row, Tx};
use super::intents::{intent, intent_in, lock_intent, INTENT_COLUMNS};
use super::{corrupt, events, idempotency, ledger, SqlStore, StoreError};
use crate::clock::Millis;
use crate::domain::idempotency::{KeyStep, Saved};
use crate::domain::intent::IntentStatus;
use crate::domain::ledger::Movement;
use crate::domain::money::Amount;
use crate::domain::query::{Page, RefundFilter};
use crate::domain::refund::{Refund, RefundOutcome, RefundStatus};
use crate::domain::transaction::TransactionType;
use crate::domain::Scope;
use async_trait::async_trait;

#[derive(Debug, Clone)]
pub struct NewRefundRecord {
    pub id: String,
    pub payment_intent_id: String,
    /// `None` refunds everything still refundable, worked out inside the reservation.
    pub amount: Option<Amount>,
    pub reason: Option<String>,
    /// The request's Idempotency-Key: a retry after a crash finds this refund instead of making another.
    pub idempotency_key: Option<String>,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub enum RefundReservation {
    /// The amount is reserved on the intent and a pending refund exists.
    Reserved { refund: Refund, connector: String, connector_ref: String },
    /// A refund with this idempotency key already exists for this intent.
    Existing { refund: Refund, connector: String, connector_ref: String },
    /// The idempotency key already belongs to a refund of another intent or amount.
    KeyReused,
    IntentMissing,
    NotRefundable(IntentStatus),
    ExceedsCaptured { available: i64 },
}

/// A refund left pending, with the connector and authorization it is asked of.
#[derive(Debug, Clone)]
pub struct PendingRefund {
    pub scope: Scope,
    pub refund: Refund,
    pub connector: String,
    pub connector_ref: String,
}

#[async_trait]
pub trait RefundStore: Send + Sync {
    /// Reserves and records a pending refund; `step` is recorded under the request's key with it
    /// (not when an existing refund or a refusal is returned).
    async fn reserve_refund(&self, scope: &Scope, new: &NewRefundRecord, step: Option<KeyStep<'_>>) -> Result<RefundReservation, StoreError>;
    /// Settles a pending refund, recording `step` with it; a refund already settled is returned
    /// unchanged (and nothing is recorded).
    async fn complete_refund(&self, scope: &Scope, refund_id: &str, outcome: &RefundOutcome, now: Millis, step: Option<KeyStep<'_>>) -> Result<Refund, StoreError>;
    async fn get_refund(&self, scope: &Scope, id: &str) -> Result<Refund, StoreError>;
    /// Refunds left pending (a crash or an unreachable connector) since before `created_before`,
    /// whose next settlement attempt is due at `now`.
    async fn pending_refunds(&self, created_before: Millis, now: Millis, limit: u32) -> Result<Vec<PendingRefund>, StoreError>;
    /// Newest first.
    async fn list_refunds(&self, scope: &Scope, filter: &RefundFilter, page: &Page) -> Result<Vec<Refund>, StoreError>;
    /// Puts off the next settlement of a refund to `backoff(attempts so far)`; returns the attempts.
    async fn defer_refund_settlement(&self, id: &str, backoff: &(dyn Fn(i64) -> Millis + Sync)) -> Result<i64, StoreError>;
}

const REFUND_COLUMNS: &str = "id, livemode, payment_intent_id, amount, currency, status, reason, failure_code, created_at";

fn refund(row: &Row) -> Result<Refund, StoreError> {
    let id = row.text("id")?;
    let status = row.text("status")?;
    Ok(Refund {
        object: "refund".into(),
        currency: super::currency(&row.text("currency")?)?,
        status: RefundStatus::parse(&status).ok_or_else(|| corrupt("refund status", &status))?,
        livemode: row.bool("livemode")?,
        payment_intent: row.text("payment_intent_id")?,
        amount: Amount::parse(row.int("amount")?).map_err(|_| corrupt("refund amount", &id))?,
        reason: row.opt_text("reason")?,
        failure_code: row.opt_text("failure_code")?,
        created_at: row.int("created_at")?,
        id,
    })
}

/// The connector and authorization reference of an intent, read in the transaction.
async fn connector_of(tx: &mut Tx, intent_id: &str) -> Result<(String, String), StoreError> {
    let row = tx.fetch_one(query("SELECT connector, connector_ref FROM payment_intents WHERE id = $1").bind(intent_id)).await?;
    Ok((row.opt_text("connector")?.unwrap_or_default(), row.opt_text("connector_ref")?.unwrap_or_default()))
}

async fn refund_by_key(tx: &mut Tx, scope: &Scope, key: &str) -> Result<Option<(Refund, String, String)>, StoreError> {
    let find = query(format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND livemode = $2 AND idempotency_key = $3"))
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(key);
    let Some(row) = tx.fetch_optional(find).await? else { return Ok(None) };
    let found = refund(&row)?;
    let (connector, connector_ref) = connector_of(tx, &found.payment_intent).await?;
    Ok(Some((found, connector, connector_ref)))
}

/// A refund found by idempotency key answers the retry only if it is the same request (same
/// intent, and the same amount when one was given).
fn existing_refund((refund, connector, connector_ref): (Refund, String, String), new: &NewRefundRecord) -> RefundReservation {
    let same_amount = new.amount.is_none_or(|a| a == refund.amount);
    if refund.payment_intent == new.payment_intent_id && same_amount {
        RefundReservation::Existing { refund, connector, connector_ref }
    } else {
        RefundReservation::KeyReused
    }
}

impl SqlStore {
    async fn try_reserve_refund(&self, scope: &Scope, new: &NewRefundRecord, step: Option<KeyStep<'_>>) -> Result<RefundReservation, StoreError> {
        let mut tx = self.db.begin().await?;
        if let Some(key) = &new.idempotency_key {
            if let Some(found) = refund_by_key(&mut tx, scope, key).await? {
                return Ok(existing_refund(found, new));
            }
        }
        let Some(current) = intent_in(&mut tx, scope, &new.payment_intent_id).await? else {
            return Ok(RefundReservation::IntentMissing);
        };
        if !current.status.is_refundable() {
            return Ok(RefundReservation::NotRefundable(current.status));
        }
        let available = current.amount_captured - current.amount_refunded;
        let amount = match new.amount {
            Some(a) => a,
            None => match Amount::parse(available) {
                Ok(rest) => rest,
                Err(_) => return Ok(RefundReservation::ExceedsCaptured { available: 0 }),
            },
        };
        // The compare-and-set: a concurrent refund may have taken the room since the read.
        let reserve = query(format!(
            "UPDATE payment_intents SET amount_refunded = amount_refunded + $1, updated_at = $2 \
             WHERE id = $3 AND merchant_id = $4 AND livemode = $5 \
               AND status IN ('succeeded', 'partially_refunded') \
               AND amount_captured - amount_refunded >= $1 \
             RETURNING {INTENT_COLUMNS}"
        ))
        .bind(amount.minor_units())
        .bind(new.created_at)
        .bind(&new.payment_intent_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode);
        let reserved = match tx.fetch_optional(reserve).await? {
            Some(row) => intent(&row)?,
            None => {
                return Ok(match intent_in(&mut tx, scope, &new.payment_intent_id).await? {
                    None => RefundReservation::IntentMissing,
                    Some(i) if !i.status.is_refundable() => RefundReservation::NotRefundable(i.status),
                    Some(i) => RefundReservation::ExceedsCaptured { available: i.amount_captured - i.amount_refunded },
                });
            }
        };
        let insert = query(
            "INSERT INTO refunds (id, merchant_id, livemode, payment_intent_id, amount, currency, status, reason, \
             idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $9)",
        )
        .bind(&new.id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(&reserved.id)
        .bind(amount.minor_units())
        .bind(reserved.currency.code())
        .bind(&new.reason)
        .bind(&new.idempotency_key)
        .bind(new.created_at);
        tx.execute(insert).await?;
        ledger::insert_transaction(&mut tx, scope, TransactionType::Refund, "pending", &reserved, Some(&new.id), amount, new.created_at).await?;
        let pending = Refund {
            id: new.id.clone(),
            object: "refund".into(),
            livemode: scope.livemode,
            payment_intent: reserved.id.clone(),
            amount,
            currency: reserved.currency,
            status: RefundStatus::Pending,
            reason: new.reason.clone(),
            failure_code: None,
            created_at: new.created_at,
        };
        let notice = events::append_refund(&mut tx, scope, &pending, new.created_at).await?;
        let (connector, connector_ref) = connector_of(&mut tx, &reserved.id).await?;
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || Saved::Refund { refund: pending.clone() }).await?;
        }
        self.commit_step(tx, vec![notice], step).await?;
        Ok(RefundReservation::Reserved { refund: pending, connector, connector_ref })
    }
}

#[async_trait]
impl RefundStore for SqlStore {
    async fn reserve_refund(&self, scope: &Scope, new: &NewRefundRecord, step: Option<KeyStep<'_>>) -> Result<RefundReservation, StoreError> {
        match self.try_reserve_refund(scope, new, step).await {
            // Two retries with one key raced: the loser finds the winner's refund.
            Err(e) if is_unique_violation(&e) && new.idempotency_key.is_some() => {
                let mut tx = self.db.begin().await?;
                let key = new.idempotency_key.as_deref().unwrap_or_default();
                match refund_by_key(&mut tx, scope, key).await? {
                    Some(found) => Ok(existing_refund(found, new)),
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    async fn complete_refund(&self, scope: &Scope, refund_id: &str, outcome: &RefundOutcome, now: Millis, step: Option<KeyStep<'_>>) -> Result<Refund, StoreError> {
        let mut tx = self.db.begin().await?;
        // Lock the intent row first: on PostgreSQL each later statement then sees every refund of
        // this intent settled before us.
        let owner = query("SELECT payment_intent_id FROM refunds WHERE id = $1 AND merchant_id = $2 AND livemode = $3")
            .bind(refund_id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode);
        let Some(owner) = tx.fetch_optional(owner).await? else { return Err(StoreError::NotFound) };
        lock_intent(&mut tx, &owner.text("payment_intent_id")?).await?;
        let (status, failure_code, connector_ref) = match outcome {
            RefundOutcome::Succeeded { connector_ref } => (RefundStatus::Succeeded, None, Some(connector_ref.as_str())),
            RefundOutcome::Failed { code } => (RefundStatus::Failed, Some(code.as_str()), None),
        };
        let settle = query(format!(
            "UPDATE refunds SET status = $1, failure_code = $2, connector_ref = $3, updated_at = $4 \
             WHERE id = $5 AND merchant_id = $6 AND livemode = $7 AND status = 'pending' RETURNING {REFUND_COLUMNS}"
        ))
        .bind(status.as_str())
        .bind(failure_code)
        .bind(connector_ref)
        .bind(now)
        .bind(refund_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode);
        let Some(row) = tx.fetch_optional(settle).await? else {
            drop(tx);
            return self.get_refund(scope, refund_id).await;
        };
        let settled = refund(&row)?;
        tx.execute(query("UPDATE transactions SET status = $1, updated_at = $2 WHERE refund_id = $3").bind(status.as_str()).bind(now).bind(refund_id))
            .await?;
        let notices = match outcome {
            RefundOutcome::Succeeded { .. } => {
                let txn = tx.fetch_one(query("SELECT id FROM transactions WHERE refund_id = $1").bind(refund_id)).await?.text("id")?;
                ledger::post(&mut tx, scope, &txn, settled.currency, Movement::Refund(settled.amount), now).await?;
                let status = query(format!(
                    "UPDATE payment_intents SET updated_at = $1, status = CASE WHEN \
                       (SELECT COALESCE(SUM(r.amount), 0) FROM refunds r WHERE r.payment_intent_id = payment_intents.id AND r.status = 'succeeded') \
                       >= amount_captured THEN 'refunded' ELSE 'partially_refunded' END \
                     WHERE id = $2 RETURNING {INTENT_COLUMNS}"
                ))
                .bind(now)
                .bind(&settled.payment_intent);
                let after = intent(&tx.fetch_one(status).await?)?;
                vec![events::append_refund(&mut tx, scope, &settled, now).await?, events::append_intent(&mut tx, scope, &after, now).await?]
            }
            RefundOutcome::Failed { .. } => {
                let release = query("UPDATE payment_intents SET amount_refunded = amount_refunded - $1, updated_at = $2 WHERE id = $3")
                    .bind(settled.amount.minor_units())
                    .bind(now)
                    .bind(&settled.payment_intent);
                tx.execute(release).await?;
                vec![events::append_refund(&mut tx, scope, &settled, now).await?]
            }
        };
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || Saved::Refund { refund: settled.clone() }).await?;
        }
        self.commit_step(tx, notices, step).await?;
        Ok(settled)
    }

    async fn get_refund(&self, scope: &Scope, id: &str) -> Result<Refund, StoreError> {
        let get = query(format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1 AND merchant_id = $2 AND livemode = $3"))
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode);
        refund(&self.db.fetch_one(get).await?)
    }

    async fn pending_refunds(&self, created_before: Millis, now: Millis, limit: u32) -> Result<Vec<PendingRefund>, StoreError> {
        let pending = query(format!(
            "SELECT r.merchant_id, r.{}, i.connector, i.connector_ref \
             FROM refunds r JOIN payment_intents i ON i.id = r.payment_intent_id \
             WHERE r.status = 'pending' AND r.created_at < $1 AND r.next_settle_at <= $2 \
             ORDER BY r.created_at LIMIT $3",
            REFUND_COLUMNS.replace(", ", ", r.")
        ))
        .bind(created_before)
        .bind(now)
        .bind(i64::from(limit));
        self.db
            .fetch_all(pending)
            .await?
            .iter()
            .map(|r| {
                let refund = refund(r)?;
                Ok(PendingRefund {
                    scope: Scope { merchant_id: r.text("merchant_id")?, livemode: refund.livemode },
                    connector: r.opt_text("connector")?.unwrap_or_default(),
                    connector_ref: r.opt_text("connector_ref")?.unwrap_or_default(),
                    refund,
                })
            })
            .collect()
    }

    async fn list_refunds(&self, scope: &Scope, f: &RefundFilter, page: &Page) -> Result<Vec<Refund>, StoreError> {
        let list = query(format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND livemode = $2 \
               AND ($3 IS NULL OR payment_intent_id = $3) \
               AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        ))
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(&f.payment_intent)
        .bind(page.after.as_ref().map(|c| c.created_at))
        .bind(page.after.as_ref().map(|c| c.id.clone()))
        .bind(i64::from(page.limit));
        self.db.fetch_all(list).await?.iter().map(refund).collect()
    }

    async fn defer_refund_settlement(&self, id: &str, backoff: &(dyn Fn(i64) -> Millis + Sync)) -> Result<i64, StoreError> {
        let mut tx = self.db.begin().await?;
        let count = query("UPDATE refunds SET settle_attempts = settle_attempts + 1 WHERE id = $1 RETURNING settle_attempts").bind(id);
        let attempts = tx.fetch_one(count).await?.int("settle_attempts")?;
        tx.execute(query("UPDATE refunds SET next_settle_at = $1 WHERE id = $2").bind(backoff(attempts)).bind(id)).await?;
        tx.commit().await?;
        Ok(attempts)
    }
}
