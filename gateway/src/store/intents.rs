//! Payment intents: rows, the compare-and-set transitions of the state machine (each with its
//! event, and a capture with its payment transaction and postings, in one transaction), and the
//! lookups of the approval page, the customer's history and the sweep.

use super::db::{contains_pattern, query, Row, Tx};
use super::{corrupt, events, idempotency, ledger, SqlStore, StoreError};
use crate::clock::Millis;
use crate::domain::approval::{ApprovalLinks, CodedIntent, CustomerPayment};
use crate::domain::idempotency::{KeyStep, Saved};
use crate::domain::intent::{ConfirmMode, FailureReason, IntentStatus, IntentTransition, NewIntent, NextAction, PaymentIntent};
use crate::domain::ledger::Movement;
use crate::domain::money::Amount;
use crate::domain::query::{IntentFilter, Page};
use crate::domain::transaction::TransactionType;
use crate::domain::Scope;
use async_trait::async_trait;

/// Everything a new intent row holds: the validated request and what the service derived.
#[derive(Debug, Clone)]
pub struct NewIntentRecord {
    pub id: String,
    pub scope: Scope,
    pub intent: NewIntent,
    pub links: ApprovalLinks,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// The outcome of a compare-and-set on an intent's status.
#[derive(Debug, Clone)]
pub enum TransitionOutcome {
    Applied(PaymentIntent),
    /// The intent was not in one of the allowed states; this is its current state.
    Refused(PaymentIntent),
}

#[async_trait]
pub trait IntentStore: Send + Sync {
    /// Inserts the intent and its `payment_intent.created` event in one transaction, with `step`
    /// recorded under the request's Idempotency-Key.
    async fn create_intent(&self, new: &NewIntentRecord, step: Option<KeyStep<'_>>) -> Result<PaymentIntent, StoreError>;
    async fn get_intent(&self, scope: &Scope, id: &str) -> Result<PaymentIntent, StoreError>;
    /// Newest first.
    async fn list_intents(&self, scope: &Scope, filter: &IntentFilter, page: &Page) -> Result<Vec<PaymentIntent>, StoreError>;
    /// The intent whose approval link carries `code`, in any merchant and mode; the intent, its
    /// merchant and its customer read in one statement.
    async fn find_intent_by_code(&self, code: &str) -> Result<Option<CodedIntent>, StoreError>;
    /// Intents that wallet customer `customer_id` approved or declined, newest first.
    async fn list_customer_payments(&self, customer_id: &str, page: &Page) -> Result<Vec<CustomerPayment>, StoreError>;
    /// The connector reference of an authorized or captured intent.
    async fn intent_connector_ref(&self, scope: &Scope, id: &str) -> Result<Option<String>, StoreError>;
    /// Compare-and-set from `transition.allowed_from()` to `transition.target()`, writing what
    /// [`IntentTransition::record`] says and appending one event, all in one transaction.
    /// `not_expired_at`, when given, also requires the deadline of the current state
    /// (`expires_at`, or `confirm_deadline` while awaiting confirmation) to lie after it. `step`
    /// is recorded under the request's key with the transition (not when it is refused).
    async fn transition_intent(
        &self,
        scope: &Scope,
        id: &str,
        transition: &IntentTransition,
        now: Millis,
        not_expired_at: Option<Millis>,
        step: Option<KeyStep<'_>>,
    ) -> Result<TransitionOutcome, StoreError>;
    /// Remembers the connector's authorization of a `processing` intent before anything else is
    /// asked of the connector, so that recovery can find it after a crash.
    async fn record_authorization(&self, scope: &Scope, id: &str, connector_ref: &str, now: Millis) -> Result<(), StoreError>;
    /// Appends a `payment_intent.scanned` event if the intent is still awaiting the customer and
    /// has not been scanned before (one per intent); `None` when it no longer awaits the customer.
    async fn record_scan(&self, scope: &Scope, id: &str, now: Millis, step: Option<KeyStep<'_>>) -> Result<Option<PaymentIntent>, StoreError>;
    /// Intents left `processing` (a crash or an unreachable connector) since before `before`,
    /// whose next recovery attempt is due at `now`.
    async fn stale_processing(&self, before: Millis, now: Millis, limit: u32) -> Result<Vec<(Scope, String)>, StoreError>;
    /// Intents whose payment window or confirmation window has passed.
    async fn intents_due_for_expiry(&self, now: Millis, limit: u32) -> Result<Vec<(Scope, String)>, StoreError>;
    /// Puts off the next recovery of an intent after an attempt that could not finish, to
    /// `backoff(attempts so far)`; returns the attempts so far.
    async fn defer_intent_recovery(&self, id: &str, backoff: &(dyn Fn(i64) -> Millis + Sync)) -> Result<i64, StoreError>;
}

pub(super) const INTENT_COLUMNS: &str = "id, livemode, status, amount, currency, amount_captured, amount_refunded, \
    merchant_order_id, order_name, customer_name, customer_email, confirm_mode, metadata, approval_url, \
    approval_app_url, approval_intent_url, \
    connector, failure_code, failure_message, cancellation_reason, return_url, created_at, expires_at, confirm_deadline";

pub(super) fn intent(row: &Row) -> Result<PaymentIntent, StoreError> {
    let id = row.text("id")?;
    let status_text = row.text("status")?;
    let status = IntentStatus::parse(&status_text).ok_or_else(|| corrupt("intent status", &status_text))?;
    let approval_url = row.text("approval_url")?;
    let next_action = (status == IntentStatus::RequiresAction).then(|| NextAction {
        kind: "open_url".into(),
        qr_code_url: format!("{approval_url}/qr.svg"),
        url: approval_url.clone(),
        app_url: row.text("approval_app_url").unwrap_or_default(),
        android_intent_url: row.text("approval_intent_url").unwrap_or_default(),
    });
    let confirm_mode = row.text("confirm_mode")?;
    let failure_code = row
        .opt_text("failure_code")?
        .map(|code| FailureReason::parse(&code).ok_or_else(|| corrupt("failure code", &code)))
        .transpose()?;
    Ok(PaymentIntent {
        object: "payment_intent".into(),
        status,
        currency: super::currency(&row.text("currency")?)?,
        confirm_mode: ConfirmMode::parse(&confirm_mode).ok_or_else(|| corrupt("confirm mode", &confirm_mode))?,
        metadata: serde_json::from_str(&row.text("metadata")?).map_err(|_| corrupt("metadata", &id))?,
        next_action,
        livemode: row.bool("livemode")?,
        amount: Amount::parse(row.int("amount")?).map_err(|_| corrupt("intent amount", &id))?,
        amount_captured: row.int("amount_captured")?,
        amount_refunded: row.int("amount_refunded")?,
        merchant_order_id: row.text("merchant_order_id")?,
        order_name: row.text("order_name")?,
        customer_name: row.text("customer_name")?,
        customer_email: row.opt_text("customer_email")?,
        connector: row.opt_text("connector")?,
        failure_code,
        failure_message: row.opt_text("failure_message")?,
        cancellation_reason: row.opt_text("cancellation_reason")?,
        return_url: row.opt_text("return_url")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        confirm_deadline: row.opt_int("confirm_deadline")?,
        id,
    })
}

fn scoped_ids(rows: Vec<Row>) -> Result<Vec<(Scope, String)>, StoreError> {
    rows.iter()
        .map(|r| Ok((Scope { merchant_id: r.text("merchant_id")?, livemode: r.bool("livemode")? }, r.text("id")?)))
        .collect()
}

/// The intent, read inside a transaction.
pub(super) async fn intent_in(tx: &mut Tx, scope: &Scope, id: &str) -> Result<Option<PaymentIntent>, StoreError> {
    let get = query(format!("SELECT {INTENT_COLUMNS} FROM payment_intents WHERE id = $1 AND merchant_id = $2 AND livemode = $3"))
        .bind(id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode);
    tx.fetch_optional(get).await?.as_ref().map(intent).transpose()
}

/// Locks the intent row until the transaction ends (a no-op update works on both engines).
pub(super) async fn lock_intent(tx: &mut Tx, id: &str) -> Result<(), StoreError> {
    tx.execute(query("UPDATE payment_intents SET updated_at = updated_at WHERE id = $1").bind(id)).await?;
    Ok(())
}

#[async_trait]
impl IntentStore for SqlStore {
    async fn create_intent(&self, n: &NewIntentRecord, step: Option<KeyStep<'_>>) -> Result<PaymentIntent, StoreError> {
        let i = &n.intent;
        let metadata = serde_json::to_string(&i.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let insert = query(format!(
            "INSERT INTO payment_intents (id, merchant_id, livemode, status, amount, currency, merchant_order_id, \
             order_name, customer_name, customer_name_search, customer_email, confirm_mode, metadata, approval_code, \
             approval_url, created_at, updated_at, expires_at, approval_app_url, approval_intent_url, return_url) \
             VALUES ($1, $2, $3, 'requires_action', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19) \
             RETURNING {INTENT_COLUMNS}"
        ))
        .bind(&n.id)
        .bind(&n.scope.merchant_id)
        .bind(n.scope.livemode)
        .bind(i.amount.minor_units())
        .bind(i.currency.code())
        .bind(&i.merchant_order_id)
        .bind(&i.order_name)
        .bind(&i.customer_name)
        .bind(i.customer_name.to_lowercase())
        .bind(&i.customer_email)
        .bind(i.confirm_mode.as_str())
        .bind(metadata)
        .bind(&n.links.code)
        .bind(&n.links.url)
        .bind(n.created_at)
        .bind(n.expires_at)
        .bind(&n.links.app_url)
        .bind(&n.links.android_intent_url)
        .bind(i.return_url.as_ref().map(|u| u.as_str()));
        let mut tx = self.db.begin().await?;
        let created = intent(&tx.fetch_one(insert).await?)?;
        let payload = serde_json::to_value(&created).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let notice = events::append(&mut tx, &n.scope, "payment_intent.created", &created.id, &payload, n.created_at).await?;
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || Saved::PaymentIntent { intent: created.clone() }).await?;
        }
        self.commit_step(tx, vec![notice], step).await?;
        Ok(created)
    }

    async fn get_intent(&self, scope: &Scope, id: &str) -> Result<PaymentIntent, StoreError> {
        let get = query(format!("SELECT {INTENT_COLUMNS} FROM payment_intents WHERE id = $1 AND merchant_id = $2 AND livemode = $3"))
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode);
        intent(&self.db.fetch_one(get).await?)
    }

    async fn list_intents(&self, scope: &Scope, f: &IntentFilter, page: &Page) -> Result<Vec<PaymentIntent>, StoreError> {
        let list = query(format!(
            "SELECT {INTENT_COLUMNS} FROM payment_intents \
             WHERE merchant_id = $1 AND livemode = $2 \
               AND ($3 IS NULL OR status = $3) \
               AND ($4 IS NULL OR customer_name_search LIKE $4 ESCAPE '\\') \
               AND ($5 IS NULL OR created_at >= $5) \
               AND ($6 IS NULL OR created_at < $6) \
               AND ($7 IS NULL OR created_at < $7 OR (created_at = $7 AND id < $8)) \
             ORDER BY created_at DESC, id DESC LIMIT $9"
        ))
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(f.status.map(|s| s.as_str()))
        .bind(f.customer_name.as_deref().map(contains_pattern))
        .bind(f.created_gte)
        .bind(f.created_lt)
        .bind(page.after.as_ref().map(|c| c.created_at))
        .bind(page.after.as_ref().map(|c| c.id.clone()))
        .bind(i64::from(page.limit));
        self.db.fetch_all(list).await?.iter().map(intent).collect()
    }

    async fn find_intent_by_code(&self, code: &str) -> Result<Option<CodedIntent>, StoreError> {
        // One statement: a status and a customer from two reads could straddle an approval's commit.
        let find = query(format!(
            "SELECT {INTENT_COLUMNS}, merchant_id, customer_id, \
             (SELECT name FROM merchants m WHERE m.id = payment_intents.merchant_id) AS merchant_name \
             FROM payment_intents WHERE approval_code = $1"
        ))
        .bind(code);
        let Some(row) = self.db.fetch_optional(find).await? else { return Ok(None) };
        let found = intent(&row)?;
        Ok(Some(CodedIntent {
            scope: Scope { merchant_id: row.text("merchant_id")?, livemode: found.livemode },
            merchant_name: row.text("merchant_name")?,
            customer_id: row.opt_text("customer_id")?,
            intent: found,
        }))
    }

    async fn list_customer_payments(&self, customer_id: &str, page: &Page) -> Result<Vec<CustomerPayment>, StoreError> {
        let list = query(format!(
            "SELECT {INTENT_COLUMNS}, (SELECT name FROM merchants m WHERE m.id = payment_intents.merchant_id) AS merchant_name \
             FROM payment_intents WHERE customer_id = $1 \
               AND ($2 IS NULL OR created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(customer_id)
        .bind(page.after.as_ref().map(|c| c.created_at))
        .bind(page.after.as_ref().map(|c| c.id.clone()))
        .bind(i64::from(page.limit));
        let rows = self.db.fetch_all(list).await?;
        rows.iter().map(|r| Ok(CustomerPayment { merchant_name: r.text("merchant_name")?, intent: intent(r)? })).collect()
    }

    async fn intent_connector_ref(&self, scope: &Scope, id: &str) -> Result<Option<String>, StoreError> {
        let get = query("SELECT connector_ref FROM payment_intents WHERE id = $1 AND merchant_id = $2 AND livemode = $3")
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode);
        self.db.fetch_one(get).await?.opt_text("connector_ref")
    }

    async fn transition_intent(
        &self,
        scope: &Scope,
        id: &str,
        t: &IntentTransition,
        now: Millis,
        not_expired_at: Option<Millis>,
        step: Option<KeyStep<'_>>,
    ) -> Result<TransitionOutcome, StoreError> {
        let from = t.allowed_from();
        // Every transition leaves from one or two states.
        let (from_a, from_b) = (from[0].as_str(), from[from.len() - 1].as_str());
        let record = t.record();
        let update = query(format!(
            "UPDATE payment_intents SET status = $1, updated_at = $2, \
               connector = COALESCE($3, connector), connector_ref = COALESCE($4, connector_ref), \
               failure_code = COALESCE($5, failure_code), failure_message = COALESCE($6, failure_message), \
               cancellation_reason = COALESCE($7, cancellation_reason), \
               confirm_deadline = COALESCE($8, confirm_deadline), customer_id = COALESCE($15, customer_id), \
               amount_captured = CASE WHEN $16 THEN amount ELSE amount_captured END \
             WHERE id = $9 AND merchant_id = $10 AND livemode = $11 AND (status = $12 OR status = $13) \
               AND ($14 IS NULL OR (CASE WHEN status = 'requires_confirmation' THEN confirm_deadline ELSE expires_at END) > $14) \
             RETURNING {INTENT_COLUMNS}"
        ))
        .bind(t.target().as_str())
        .bind(now)
        .bind(record.connector)
        .bind(record.connector_ref)
        .bind(record.failure.map(|r| r.code()))
        .bind(record.failure.map(|r| r.message()))
        .bind(record.cancellation_reason)
        .bind(record.confirm_deadline)
        .bind(id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(from_a)
        .bind(from_b)
        .bind(not_expired_at)
        .bind(record.customer)
        .bind(record.captures);
        let mut tx = self.db.begin().await?;
        let Some(row) = tx.fetch_optional(update).await? else {
            return match intent_in(&mut tx, scope, id).await? {
                Some(current) => Ok(TransitionOutcome::Refused(current)),
                None => Err(StoreError::NotFound),
            };
        };
        let changed = intent(&row)?;
        if record.captures {
            let txn = ledger::insert_transaction(&mut tx, scope, TransactionType::Payment, "succeeded", &changed, None, changed.amount, now).await?;
            ledger::post(&mut tx, scope, &txn, changed.currency, Movement::Capture(changed.amount), now).await?;
        }
        if record.cancels {
            ledger::insert_transaction(&mut tx, scope, TransactionType::Cancel, "succeeded", &changed, None, changed.amount, now).await?;
        }
        let notice = events::append_intent(&mut tx, scope, &changed, now).await?;
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || Saved::PaymentIntent { intent: changed.clone() }).await?;
        }
        self.commit_step(tx, vec![notice], step).await?;
        Ok(TransitionOutcome::Applied(changed))
    }

    async fn record_authorization(&self, scope: &Scope, id: &str, connector_ref: &str, now: Millis) -> Result<(), StoreError> {
        let record = query(
            "UPDATE payment_intents SET connector_ref = $1, updated_at = $2 \
             WHERE id = $3 AND merchant_id = $4 AND livemode = $5 AND status = 'processing'",
        )
        .bind(connector_ref)
        .bind(now)
        .bind(id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode);
        self.db.execute(record).await?;
        Ok(())
    }

    async fn record_scan(&self, scope: &Scope, id: &str, now: Millis, step: Option<KeyStep<'_>>) -> Result<Option<PaymentIntent>, StoreError> {
        // Locks the intent row, so a scan cannot slip in after a concurrent transition.
        let lock = query(format!(
            "UPDATE payment_intents SET updated_at = updated_at WHERE id = $1 AND merchant_id = $2 AND livemode = $3 \
               AND status = 'requires_action' AND expires_at > $4 RETURNING {INTENT_COLUMNS}"
        ))
        .bind(id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(now);
        let mut tx = self.db.begin().await?;
        let Some(row) = tx.fetch_optional(lock).await? else { return Ok(None) };
        let waiting = intent(&row)?;
        // Once per intent: reloads, language switches and a second phone add nothing, so an open
        // link cannot be used to fill the merchant's event log.
        let seen = query(
            "SELECT seq FROM events WHERE merchant_id = $1 AND livemode = $2 AND object_id = $3 \
               AND type = 'payment_intent.scanned' LIMIT 1",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(&waiting.id);
        let mut notices = Vec::new();
        if tx.fetch_optional(seen).await?.is_none() {
            let payload = serde_json::to_value(&waiting).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            notices.push(events::append(&mut tx, scope, "payment_intent.scanned", &waiting.id, &payload, now).await?);
        }
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || Saved::PaymentIntent { intent: waiting.clone() }).await?;
        }
        self.commit_step(tx, notices, step).await?;
        Ok(Some(waiting))
    }

    async fn stale_processing(&self, before: Millis, now: Millis, limit: u32) -> Result<Vec<(Scope, String)>, StoreError> {
        let stale = query(
            "SELECT merchant_id, livemode, id FROM payment_intents \
             WHERE status = 'processing' AND updated_at < $1 AND next_recovery_at <= $2 \
             ORDER BY updated_at LIMIT $3",
        )
        .bind(before)
        .bind(now)
        .bind(i64::from(limit));
        scoped_ids(self.db.fetch_all(stale).await?)
    }

    async fn intents_due_for_expiry(&self, now: Millis, limit: u32) -> Result<Vec<(Scope, String)>, StoreError> {
        let due = query(
            "SELECT merchant_id, livemode, id FROM payment_intents \
             WHERE (status = 'requires_action' AND expires_at <= $1) \
                OR (status = 'requires_confirmation' AND confirm_deadline <= $1) \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit));
        scoped_ids(self.db.fetch_all(due).await?)
    }

    async fn defer_intent_recovery(&self, id: &str, backoff: &(dyn Fn(i64) -> Millis + Sync)) -> Result<i64, StoreError> {
        let mut tx = self.db.begin().await?;
        let count = query("UPDATE payment_intents SET recovery_attempts = recovery_attempts + 1 WHERE id = $1 RETURNING recovery_attempts").bind(id);
        let attempts = tx.fetch_one(count).await?.int("recovery_attempts")?;
        tx.execute(query("UPDATE payment_intents SET next_recovery_at = $1 WHERE id = $2").bind(backoff(attempts)).bind(id)).await?;
        tx.commit().await?;
        Ok(attempts)
    }
}
