//! Services: the domain rules between the HTTP handlers and the store. No HTTP types here.

mod customers;
mod events;
mod idempotency;
mod intents;
mod ledger;
mod merchants;
pub mod refunds;
mod transactions;
mod sweep;
pub mod webhooks;
pub mod workers;

pub use intents::{intent_cursor, CreatedIntent};
pub use merchants::{AuthError, AuthenticatedKey, IssuedKey};
pub use sweep::SweepReport;
pub use webhooks::{DeliveryReport, WebhookSettings, Webhooks};

use crate::clock::Clock;
use crate::connector::Connectors;
use crate::live::{EventBus, LiveSettings};
use crate::domain::intent::IntentStatus;
use crate::domain::approval::AppLinks;
use crate::domain::keys::KeyHasher;
use crate::domain::ValidationError;
use crate::domain::query::{Cursor, Page};
use crate::store::{Engine, SqlStore, StoreError, Stores};
use std::sync::Arc;

pub struct Services {
    /// The store, one narrow trait per area; only the services reach it.
    store: Stores,
    pub clock: Arc<dyn Clock>,
    pub connectors: Connectors,
    pub hasher: KeyHasher,
    /// Base of the customer-facing URLs (`{public_url}/p/{code}`).
    pub public_url: String,
    /// Carries committed events to the open event streams.
    pub bus: Arc<EventBus>,
    /// Webhook delivery settings and their HTTP client.
    pub webhooks: Webhooks,
    /// How wallet apps claim approval links (custom scheme, Android package).
    pub app_links: AppLinks,
    /// Faults a test arms on purpose (nothing without the `fault-hooks` feature).
    pub faults: crate::faults::Faults,
    /// How long a request holds its Idempotency-Key before a retry may take it over (after a
    /// crash, the retry waits this long).
    pub idempotency_lease: crate::clock::Millis,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {}", .0.message)]
    Validation(ValidationError),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("cannot {action} a payment intent in status {current:?}")]
    InvalidState { action: &'static str, current: IntentStatus },
    #[error("the payment intent has expired")]
    IntentExpired,
    #[error("amount {given} does not match the intent's amount {expected}")]
    AmountMismatch { expected: i64, given: i64 },
    #[error("refund of {requested} exceeds the {available} still refundable")]
    RefundExceedsCaptured { requested: i64, available: i64 },
    #[error("the idempotency key belongs to another request")]
    IdempotencyKeyReused,
    #[error("this operation is only available with test-mode keys")]
    TestModeOnly,
    #[error("connector {0} is not configured")]
    ConnectorMissing(String),
    #[error("the webhook endpoint is disabled")]
    WebhookEndpointDisabled,
    #[error("at most {0} webhook endpoints per merchant and mode")]
    TooManyWebhookEndpoints(i64),
    #[error("store: {0}")]
    Store(StoreError),
    #[error("the Last-Event-ID is not an event of this stream")]
    UnknownLastEventId,
    #[error("the client secret or publishable key does not match this payment intent")]
    StreamNotAuthorized,
    #[error("the client secret does not belong to this payment intent")]
    ClientSecretInvalid,
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
    }
}

impl From<ValidationError> for ServiceError {
    fn from(e: ValidationError) -> Self {
        ServiceError::Validation(e)
    }
}

/// Maps the store's `NotFound` to the named resource.
pub(crate) fn missing(resource: &'static str) -> impl Fn(StoreError) -> ServiceError {
    move |e| match e {
        StoreError::NotFound => ServiceError::NotFound(resource),
        other => ServiceError::Store(other),
    }
}

/// Runs work that involves a connector on a task of its own: if the HTTP request that started it
/// is dropped (the client went away), the money movement still runs to its end.
pub(crate) async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ServiceError>> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::spawn(work).await.map_err(|e| ServiceError::Internal(e.to_string()))?
}

/// What `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub database: bool,
    /// `None` when no Redis is configured.
    pub redis: Option<bool>,
}

/// A page of results and where the next one starts.
#[derive(Debug, Clone)]
pub struct List<T> {
    pub data: Vec<T>,
    pub next: Option<Cursor>,
}

/// Runs a keyset query one row past the limit to learn whether another page exists.
pub async fn paginate<T, E, F, Fut>(page: Page, key: impl Fn(&T) -> Cursor, fetch: F) -> Result<List<T>, ServiceError>
where
    F: FnOnce(Page) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, E>>,
    E: Into<ServiceError>,
{
    let limit = page.limit as usize;
    let mut data = fetch(Page { limit: page.limit + 1, after: page.after }).await.map_err(Into::into)?;
    let next = if data.len() > limit {
        data.truncate(limit);
        data.last().map(&key)
    } else {
        None
    };
    Ok(List { data, next })
}

impl Services {
    /// Services with the connectors this build ships (the test card processor, the wallet balance).
    pub fn new(store: Arc<SqlStore>, clock: Arc<dyn Clock>, hasher: KeyHasher, public_url: String) -> Self {
        Self::with_live(store, clock, hasher, public_url, LiveSettings::default())
    }

    /// As [`Services::new`], with the live streams' settings; the store's commits feed the bus.
    pub fn with_live(store: Arc<SqlStore>, clock: Arc<dyn Clock>, hasher: KeyHasher, public_url: String, live: LiveSettings) -> Self {
        let store = Stores::new(store);
        let connectors = Connectors::default()
            .with(Arc::new(crate::connector::test_card::TestCardProcessor::new(store.test_card_book.clone(), clock.clone())))
            .with(Arc::new(crate::connector::wallet::WalletConnector::new(store.wallet_book.clone(), clock.clone())));
        let bus = EventBus::new(live);
        let publisher = bus.clone();
        store.events.add_event_listener(Arc::new(move |notices| publisher.publish(notices)));
        Self {
            store,
            clock,
            connectors,
            hasher,
            public_url,
            bus,
            webhooks: Webhooks::default(),
            app_links: AppLinks::default(),
            faults: Default::default(),
            idempotency_lease: crate::api::idempotency::LEASE_MS,
        }
    }

    /// The same services with another Idempotency-Key lease (see [`Services::idempotency_lease`]).
    pub fn with_idempotency_lease(mut self, lease: std::time::Duration) -> Self {
        self.idempotency_lease = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// The same services with other connectors (tests inspect their own test card processor).
    pub fn with_connectors(mut self, connectors: Connectors) -> Self {
        self.connectors = connectors;
        self
    }

    /// A test card processor over this store's book, for a custom set of connectors (tests keep
    /// theirs to look into it).
    pub fn test_card_processor(&self) -> Arc<crate::connector::test_card::TestCardProcessor> {
        Arc::new(crate::connector::test_card::TestCardProcessor::new(self.store.test_card_book.clone(), self.clock.clone()))
    }

    /// The wallet connector over this store's wallet book, for a custom set of connectors.
    pub fn wallet_connector(&self) -> Arc<crate::connector::wallet::WalletConnector> {
        Arc::new(crate::connector::wallet::WalletConnector::new(self.store.wallet_book.clone(), self.clock.clone()))
    }

    /// Which database engine the store runs on.
    pub fn engine(&self) -> Engine {
        self.store.engine
    }

    /// The background check's last word on the database (no I/O).
    pub fn database_reachable(&self) -> bool {
        self.store.health.database_reachable()
    }

    /// Whether this replica can serve: the database now (required), Redis when configured
    /// (reported, not required: without it only cross-replica live updates degrade).
    pub async fn readiness(&self) -> Readiness {
        let database = self.store.health.ping().await.is_ok();
        let redis = self.bus.redis_reachable().await;
        Readiness { database, redis }
    }

    /// Write transactions the store committed since it opened, where the engine counts them.
    pub fn write_commits(&self) -> Option<u64> {
        self.store.write_commits.as_ref().and_then(|counter| counter())
    }

    /// The same services with the deployment's app-link settings.
    pub fn with_app_links(mut self, app_links: AppLinks) -> Self {
        self.app_links = app_links;
        self
    }

    /// The same services with other webhook delivery settings.
    pub fn with_webhook_settings(mut self, settings: WebhookSettings) -> Self {
        self.webhooks = Webhooks::new(settings);
        self
    }
}
