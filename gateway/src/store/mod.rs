//! Storage: narrow traits, one per area (merchants, keys, intents, refunds, ledger, events,
//! idempotency, webhooks, customers, wallets), each with payment-sized operations and no
//! transaction handle leaking out; one implementation, [`SqlStore`], over two engines, SQLite
//! (embedded default) and PostgreSQL (production). Both run the same SQL text ([`db`]), so
//! behaviour cannot drift; the conformance suite in `tests/api` runs every trait on both.
//!
//! The store persists and answers; it decides no business outcome. Transitions come from
//! `domain::intent`, postings from `domain::ledger`, failure reasons are the domain's enum.

mod customers;
mod db;
mod engines;
mod events;
mod group_commit;
mod health;
mod idempotency;
mod intents;
mod keys;
mod ledger;
mod merchants;
mod refunds;
mod test_card;
mod wallets;
mod webhooks;

pub use crate::domain::customer::{
    CustomerCreated, CustomerCredentials, NewCustomerRecord, NextRefreshToken, RefreshOutcome, RefreshTokenRecord,
};
pub use customers::CustomerStore;
pub use db::Engine;
pub use events::{EventListener, EventStore};
pub use health::HealthStore;
pub use crate::domain::idempotency::IdempotencyScope;
pub use idempotency::{IdempotencyBegin, IdempotencyStore};
pub use crate::domain::approval::{CodedIntent, CustomerPayment};
pub use intents::{IntentStore, NewIntentRecord, TransitionOutcome};
pub use keys::KeyStore;
pub use ledger::LedgerStore;
pub use merchants::MerchantStore;
pub use refunds::{NewRefundRecord, PendingRefund, RefundReservation, RefundStore};
pub use test_card::{CardAuthorization, TestCardBook};
pub use crate::domain::wallet::TopUpOutcome;
pub use wallets::{WalletBook, WalletCapture, WalletRefund, WalletStore};
pub use crate::domain::webhook::WebhookEndpointRecord;
pub use webhooks::{ClaimedDelivery, DeliveryUpdate, WebhookEndpointChange, WebhookStore};

/// The SQL layer both engines run, for the stores of the crates beside the core (the back
/// office) that keep their own tables in the same database and the same migration history.
/// Their traits and SQL stay in their crate; [`SqlStore::sql`] lends them the connections.
pub mod sql {
    pub use super::db::{contains_pattern, escape_like, is_unique_violation, query, Pools as Database, Query, Row, Tx, Value};
}

/// Every store trait, for code (and tests) that call them on a [`SqlStore`].
pub mod prelude {
    pub use super::{
        CustomerStore, EventStore, HealthStore, IdempotencyStore, IntentStore, KeyStore, LedgerStore, MerchantStore, RefundStore, TestCardBook, WalletBook,
        WalletStore, WebhookStore,
    };
}

use crate::domain::idempotency::KeyStep;
use db::{Pools, Tx};
use std::sync::{Arc, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The database cannot be reached (down, restarting, out of connections): try again soon.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored row is not valid: {0}")]
    Corrupt(String),
    #[error("unsupported DATABASE_URL: {0}")]
    UnsupportedUrl(String),
    /// The request's Idempotency-Key lease passed to a retry: its work was not committed.
    #[error("the idempotency key's lease passed to another request")]
    LeaseLost,
}

impl From<sqlx::Error> for StoreError {
    /// Connection trouble is `Unavailable` (a retry may succeed); everything else is `Database`.
    fn from(e: sqlx::Error) -> Self {
        let unreachable = match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception) and 57P0x (the server is shutting down or
            // starting up).
            sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
            _ => false,
        };
        if unreachable {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Database(e)
        }
    }
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value}"))
}

fn currency(code: &str) -> Result<crate::domain::money::Currency, StoreError> {
    code.parse().map_err(|()| corrupt("currency", code))
}

/// The one store: every area trait, on SQLite or PostgreSQL.
pub struct SqlStore {
    db: Pools,
    /// Told, after each commit, about the events the transaction appended.
    listeners: RwLock<Vec<EventListener>>,
    /// Whether the database answered its last health check (see [`HealthStore`]).
    health: health::Watch,
    /// Per merchant, the numbering passes of this process (see [`SqlStore::sequence_after_commit`]).
    lanes: events::Lanes,
}

impl SqlStore {
    /// Opens the store named by `database_url`'s scheme and runs its migrations.
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        match Engine::of_url(database_url)? {
            Engine::Sqlite => Self::sqlite(database_url).await,
            Engine::Postgres => Self::postgres(database_url, None).await,
        }
    }

    /// A SQLite file (created, mode 0600, when missing), its migrations applied.
    pub async fn sqlite(url: &str) -> Result<Self, StoreError> {
        Ok(Self::over(engines::open_sqlite(url).await?))
    }

    /// PostgreSQL, its migrations applied. `schema`, when given, is created if missing and used
    /// as the search path (tests give each test its own schema, so they run in parallel).
    pub async fn postgres(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        Ok(Self::over(engines::open_postgres(url, schema).await?))
    }

    fn over(db: Pools) -> Self {
        let health = health::Watch::start(&db);
        Self { db, listeners: RwLock::new(Vec::new()), health, lanes: Default::default() }
    }

    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    /// The connections, for a sibling crate's own store (see [`sql`]). Its writes join SQLite's
    /// group commit like the core's; they append no events.
    pub fn sql(&self) -> &sql::Database {
        &self.db
    }

    /// Write transactions committed since the store opened, where the engine counts them (SQLite).
    pub fn write_commits(&self) -> Option<u64> {
        self.db.write_commits()
    }

    /// Forgets every event listener (a test drops the live bus's notices on purpose with this).
    pub fn clear_event_listeners(&self) {
        if let Ok(mut listeners) = self.listeners.write() {
            listeners.clear();
        }
    }

    /// Commits a phase that recorded `step` under its key (see [`idempotency::record`]).
    async fn commit_step(&self, tx: Tx, appended: Vec<events::Appended>, step: Option<KeyStep<'_>>) -> Result<(), StoreError> {
        self.commit(tx, appended).await?;
        idempotency::committed(step);
        Ok(())
    }

    /// Commits, numbering the events the transaction appended (see [`events::sequence`]) and
    /// telling every listener about them: on SQLite in the same transaction, on PostgreSQL in a
    /// short one after it. Numbering after the commit cannot undo the work: when it fails, the
    /// events wait for the sweep's [`EventStore::sequence_pending_events`].
    async fn commit(&self, mut tx: Tx, appended: Vec<events::Appended>) -> Result<(), StoreError> {
        let mut merchants: Vec<String> = appended.into_iter().map(|a| a.merchant_id).collect();
        merchants.dedup();
        match self.engine() {
            Engine::Sqlite => {
                let mut notices = Vec::new();
                for merchant in &merchants {
                    notices.extend(events::sequence(&mut tx, merchant).await?);
                }
                tx.commit().await?;
                self.tell(notices);
            }
            Engine::Postgres => {
                tx.commit().await?;
                for merchant in &merchants {
                    if let Err(e) = self.sequence_after_commit(merchant).await {
                        tracing::warn!(error = %e, "events committed but not numbered yet; the sweep numbers them");
                    }
                }
            }
        }
        Ok(())
    }

    /// Tells every listener about numbered events.
    fn tell(&self, notices: Vec<crate::domain::event::EventNotice>) {
        if notices.is_empty() {
            return;
        }
        let listeners = self.listeners.read().map(|l| l.clone()).unwrap_or_default();
        for listener in listeners {
            listener(notices.clone());
        }
    }

    /// Numbers the merchant's committed events (PostgreSQL). Commits of one process coalesce:
    /// a caller whose commit an already started numbering pass covers only waits for it, so
    /// under load one short transaction numbers the events of many payments. Passes of other
    /// replicas queue on the merchant's head row.
    async fn sequence_after_commit(&self, merchant_id: &str) -> Result<(), StoreError> {
        let lane = self.lanes.lane(merchant_id);
        // Taken after this caller's commit: a pass that starts after reading it sees the commit.
        let ticket = lane.requested.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let mut covered = lane.covered.lock().await;
        if *covered >= ticket {
            return Ok(());
        }
        let covering = lane.requested.load(std::sync::atomic::Ordering::SeqCst);
        let mut tx = self.db.begin().await?;
        let notices = events::sequence(&mut tx, merchant_id).await?;
        tx.commit().await?;
        *covered = covering;
        // Told while the lane is held, so this process tells its passes in position order.
        self.tell(notices);
        Ok(())
    }
}

impl Engine {
    /// The engine a `DATABASE_URL` names by its scheme.
    pub fn of_url(database_url: &str) -> Result<Self, StoreError> {
        if database_url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            let scheme = database_url.split(':').next().unwrap_or_default();
            Err(StoreError::UnsupportedUrl(format!("scheme `{scheme}` (use sqlite: or postgres://)")))
        }
    }
}

/// The store as the services hold it: one narrow trait object per area, all the same store.
#[derive(Clone)]
pub struct Stores {
    pub merchants: Arc<dyn MerchantStore>,
    pub keys: Arc<dyn KeyStore>,
    pub intents: Arc<dyn IntentStore>,
    pub refunds: Arc<dyn RefundStore>,
    pub ledger: Arc<dyn LedgerStore>,
    pub events: Arc<dyn EventStore>,
    pub health: Arc<dyn HealthStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub customers: Arc<dyn CustomerStore>,
    pub wallets: Arc<dyn WalletStore>,
    pub wallet_book: Arc<dyn WalletBook>,
    /// The test card processor's book (it is a connector; this is its own storage).
    pub test_card_book: Arc<dyn TestCardBook>,
    pub engine: Engine,
    /// Reads the engine's commit counter (SQLite), for the lifecycle benchmark.
    pub write_commits: Option<Arc<dyn Fn() -> Option<u64> + Send + Sync>>,
}

impl Stores {
    pub fn new(store: Arc<SqlStore>) -> Self {
        Self {
            engine: store.engine(),
            write_commits: Some({
                let store = store.clone();
                Arc::new(move || store.write_commits())
            }),
            merchants: store.clone(),
            keys: store.clone(),
            intents: store.clone(),
            refunds: store.clone(),
            ledger: store.clone(),
            events: store.clone(),
            health: store.clone(),
            idempotency: store.clone(),
            webhooks: store.clone(),
            customers: store.clone(),
            wallets: store.clone(),
            wallet_book: store.clone(),
            test_card_book: store,
        }
    }
}
