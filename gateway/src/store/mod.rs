//! Storage: one trait of payment-sized operations (no transaction handles leak out) and two
//! engines, SQLite (embedded default) and PostgreSQL (production). Both run the same SQL text from
//! [`sql`], so behaviour cannot drift; the conformance suite in `tests/api` runs on both.

mod customer_sql;
pub mod customers;
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod wallet_sql;
pub mod wallets;
mod webhook_sql;
pub mod webhooks;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::clock::Millis;
use crate::domain::event::{Event, EventNotice};
use crate::domain::intent::{IntentStatus, IntentTransition, NewIntent, PaymentIntent};
use crate::domain::keys::{ApiKeyRecord, KeyHash};
use crate::domain::merchant::Merchant;
use crate::domain::money::Amount;
use crate::domain::refund::{Refund, RefundOutcome};
use crate::domain::transaction::{Transaction, TransactionType};
use crate::domain::Scope;
use async_trait::async_trait;
pub use wallets::WalletStore;
pub use customers::CustomerStore;
pub use webhooks::WebhookStore;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored row is not valid: {0}")]
    Corrupt(String),
    #[error("unsupported DATABASE_URL: {0}")]
    UnsupportedUrl(String),
}

/// Everything a new intent row holds: the validated request and what the service derived.
#[derive(Debug, Clone)]
pub struct NewIntentRecord {
    pub id: String,
    pub scope: Scope,
    pub intent: NewIntent,
    pub links: crate::domain::approval::ApprovalLinks,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// An intent found by its approval code, with what the approval page shows of its merchant.
#[derive(Debug, Clone)]
pub struct CodedIntent {
    pub scope: Scope,
    pub intent: PaymentIntent,
    pub merchant_name: String,
    /// The wallet customer who approved or declined it, once one has.
    pub customer_id: Option<String>,
}

/// A payment as the wallet customer who approved or declined it sees it.
#[derive(Debug, Clone)]
pub struct CustomerPayment {
    pub merchant_name: String,
    pub intent: PaymentIntent,
}

/// The outcome of a compare-and-set on an intent's status.
#[derive(Debug, Clone)]
pub enum TransitionOutcome {
    Applied(PaymentIntent),
    /// The intent was not in one of the allowed states; this is its current state.
    Refused(PaymentIntent),
}

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

/// What a deferred retry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryObject {
    IntentRecovery,
    RefundSettlement,
}

/// Keyset position: the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The ordering position: creation time, or for events the sequence number.
    pub created_at: Millis,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub limit: u32,
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone, Default)]
pub struct IntentFilter {
    pub status: Option<IntentStatus>,
    pub customer_name: Option<String>,
    pub created_gte: Option<Millis>,
    pub created_lt: Option<Millis>,
}

#[derive(Debug, Clone, Default)]
pub struct TransactionFilter {
    pub kind: Option<TransactionType>,
    pub customer_name: Option<String>,
    pub created_gte: Option<Millis>,
    pub created_lt: Option<Millis>,
    pub payment_intent: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// One event type, or a family (`payment_intent.*`).
    pub kind: Option<String>,
    pub object_id: Option<String>,
    pub created_gte: Option<Millis>,
    pub created_lt: Option<Millis>,
}

/// Told, after each commit, about the events the transaction appended.
pub type EventListener = Arc<dyn Fn(Vec<EventNotice>) + Send + Sync>;

#[derive(Debug, Clone, Default)]
pub struct RefundFilter {
    pub payment_intent: Option<String>,
}

/// Which request an Idempotency-Key belongs to.
#[derive(Debug, Clone)]
pub struct IdempotencyScope {
    pub merchant_id: String,
    pub livemode: bool,
    pub method: String,
    pub path: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// This request owns the key until its lease ends; `lease` proves it when saving or releasing.
    Started { lease: String },
    InFlight,
    /// The key was used with a different body.
    Mismatch,
    Completed { status: u16, body: String },
}

/// A broken ledger invariant, as the ledger check reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerViolation {
    pub invariant: &'static str,
    pub detail: String,
}

/// The webhook operations come from [`WebhookStore`], the wallet customers' from
/// [`CustomerStore`] and the wallets' from [`WalletStore`], all implemented by the same SQL.
#[async_trait]
pub trait Store: WebhookStore + CustomerStore + WalletStore + Send + Sync {
    fn engine(&self) -> &'static str;
    /// Write transactions committed since the store opened, where the engine counts them (SQLite).
    fn write_commits(&self) -> Option<u64>;

    // merchants and keys
    async fn create_merchant(&self, merchant: &Merchant) -> Result<(), StoreError>;
    async fn get_merchant(&self, id: &str) -> Result<Merchant, StoreError>;
    async fn list_merchants(&self) -> Result<Vec<Merchant>, StoreError>;
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn get_api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError>;
    async fn list_api_keys(&self, merchant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Sets an expiry on a key only if it has none yet or the new one is earlier.
    async fn expire_api_key(&self, id: &str, at: Millis) -> Result<ApiKeyRecord, StoreError>;
    async fn revoke_api_key(&self, id: &str, now: Millis) -> Result<ApiKeyRecord, StoreError>;

    // payment intents
    /// Inserts the intent and its `payment_intent.created` event in one transaction.
    async fn create_intent(&self, new: &NewIntentRecord) -> Result<PaymentIntent, StoreError>;
    async fn get_intent(&self, scope: &Scope, id: &str) -> Result<PaymentIntent, StoreError>;
    async fn list_intents(&self, scope: &Scope, filter: &IntentFilter, page: &Page) -> Result<Vec<PaymentIntent>, StoreError>;
    /// The intent whose approval link carries `code`, in any merchant and mode.
    async fn find_intent_by_code(&self, code: &str) -> Result<Option<CodedIntent>, StoreError>;
    /// Intents that wallet customer `customer_id` approved or declined, newest first.
    async fn list_customer_payments(&self, customer_id: &str, page: &Page) -> Result<Vec<CustomerPayment>, StoreError>;
    /// The connector reference of an authorized or captured intent.
    async fn intent_connector_ref(&self, scope: &Scope, id: &str) -> Result<Option<String>, StoreError>;
    /// Compare-and-set from `transition.allowed_from()` to `transition.target()`, appending one
    /// event; a capture also writes the payment transaction and its ledger postings, a cancel its
    /// cancel transaction, all in the same database transaction. `not_expired_at`, when given,
    /// also requires the deadline of the current state (`expires_at`, or `confirm_deadline` while
    /// awaiting confirmation) to lie after it.
    async fn transition_intent(
        &self,
        scope: &Scope,
        id: &str,
        transition: &IntentTransition,
        now: Millis,
        not_expired_at: Option<Millis>,
    ) -> Result<TransitionOutcome, StoreError>;
    /// Remembers the connector's authorization of a `processing` intent before anything else is
    /// asked of the connector, so that recovery can find it after a crash.
    async fn record_authorization(&self, scope: &Scope, id: &str, connector_ref: &str, now: Millis) -> Result<(), StoreError>;
    /// Intents left `processing` (a crash or an unreachable connector) since before `before`, whose
    /// next recovery attempt is due at `now`.
    async fn stale_processing(&self, before: Millis, now: Millis, limit: u32) -> Result<Vec<(Scope, String)>, StoreError>;
    /// Puts off the next recovery of an intent, or settlement of a refund, after an attempt that
    /// could not finish; returns how many attempts were made so far.
    async fn defer_retry(&self, object: RetryObject, id: &str, backoff: &(dyn Fn(i64) -> Millis + Sync)) -> Result<i64, StoreError>;
    /// Intents whose payment window or confirmation window has passed.
    async fn intents_due_for_expiry(&self, now: Millis, limit: u32) -> Result<Vec<(Scope, String)>, StoreError>;

    // refunds
    async fn reserve_refund(&self, scope: &Scope, new: &NewRefundRecord) -> Result<RefundReservation, StoreError>;
    /// Settles a pending refund; a refund already settled is returned unchanged.
    async fn complete_refund(&self, scope: &Scope, refund_id: &str, outcome: &RefundOutcome, now: Millis) -> Result<Refund, StoreError>;
    async fn get_refund(&self, scope: &Scope, id: &str) -> Result<Refund, StoreError>;
    /// Refunds left pending (a crash or an unreachable connector) since before `created_before`,
    /// whose next settlement attempt is due at `now`.
    async fn pending_refunds(&self, created_before: Millis, now: Millis, limit: u32) -> Result<Vec<(Scope, Refund, String, String)>, StoreError>;
    async fn list_refunds(&self, scope: &Scope, filter: &RefundFilter, page: &Page) -> Result<Vec<Refund>, StoreError>;

    // transactions and events
    async fn list_transactions(&self, scope: &Scope, filter: &TransactionFilter, page: &Page) -> Result<Vec<Transaction>, StoreError>;
    async fn get_event(&self, scope: &Scope, id: &str) -> Result<Event, StoreError>;
    /// Newest first; the page cursor's position is the sequence number.
    async fn list_events(&self, scope: &Scope, filter: &EventFilter, page: &Page) -> Result<Vec<Event>, StoreError>;
    /// Events after `after_seq` in sequence order, of one object or of the whole scope.
    async fn events_after(&self, scope: &Scope, object_id: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Appends a `payment_intent.scanned` event if the intent is still awaiting the customer and
    /// has not been scanned before (one per intent); `None` when it no longer awaits the customer.
    async fn record_scan(&self, scope: &Scope, id: &str, now: Millis) -> Result<Option<PaymentIntent>, StoreError>;
    /// Installs the listener told about committed events (the live event bus), replacing any other.
    fn set_event_listener(&self, listener: EventListener);

    // idempotency
    async fn idempotency_begin(&self, key: &IdempotencyScope, fingerprint: &str, now: Millis, lease_until: Millis) -> Result<IdempotencyBegin, StoreError>;
    /// Saves the response, if `lease` still owns the key.
    async fn idempotency_complete(&self, key: &IdempotencyScope, lease: &str, status: u16, body: &str) -> Result<(), StoreError>;
    /// Forgets an in-flight key (after a server error) so that a retry can run, if `lease` still owns it.
    async fn idempotency_release(&self, key: &IdempotencyScope, lease: &str) -> Result<(), StoreError>;
    async fn idempotency_purge(&self, created_before: Millis) -> Result<u64, StoreError>;

    /// Every ledger invariant, checked over the whole database; empty means healthy.
    async fn ledger_check(&self) -> Result<Vec<LedgerViolation>, StoreError>;
}

/// Opens the store named by `database_url`'s scheme and runs its migrations.
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(database_url).await?))
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(database_url, None).await?))
    } else {
        let scheme = database_url.split(':').next().unwrap_or_default();
        Err(StoreError::UnsupportedUrl(format!("scheme `{scheme}` (use sqlite: or postgres://)")))
    }
}
