//! What the store keeps about webhooks: endpoints (with their secrets, encrypted by the service),
//! deliveries claimed under a lease, and the attempt log. Rows and their conversions live here.

use super::{Page, StoreError};
use crate::clock::Millis;
use crate::domain::event::Event;
use crate::domain::webhook::{DeliveryStatus, EnabledEvents, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookUrl};
use crate::domain::Scope;
use crate::secret::Secret;
use async_trait::async_trait;

/// The store's webhook operations (a part of [`Store`](super::Store), which requires it; both
/// engines implement it with the one SQL in `webhook_sql.rs`).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    // Endpoints are scoped like every object: another merchant's id is not found.
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpointRecord) -> Result<(), StoreError>;
    async fn get_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<WebhookEndpointRecord, StoreError>;
    /// Any merchant's endpoint, for the operator's CLI.
    async fn find_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpointRecord, StoreError>;
    async fn list_webhook_endpoints(&self, scope: &Scope, page: &Page) -> Result<Vec<WebhookEndpointRecord>, StoreError>;
    async fn count_webhook_endpoints(&self, scope: &Scope) -> Result<i64, StoreError>;
    async fn update_webhook_endpoint(&self, scope: &Scope, id: &str, change: &WebhookEndpointChange, now: Millis) -> Result<WebhookEndpointRecord, StoreError>;
    /// Installs `secret` (ciphertext); the old one keeps signing until `previous_expires_at`
    /// (`None`: it stops at once).
    async fn rotate_webhook_secret(&self, scope: &Scope, id: &str, secret: &Secret, previous_expires_at: Option<Millis>, now: Millis) -> Result<WebhookEndpointRecord, StoreError>;
    /// Deletes the endpoint with its deliveries and attempt log.
    async fn delete_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<(), StoreError>;
    /// Leases up to `limit` due deliveries of enabled endpoints until `lease_until`. Concurrent
    /// passes (in any replica) never get the same delivery while its lease lasts.
    async fn claim_webhook_deliveries(&self, now: Millis, lease_until: Millis, limit: u32) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Logs the attempt and moves its delivery on, only if `lease_token` still owns the delivery;
    /// `false` when it does not (nothing is written).
    async fn record_webhook_attempt(&self, scope: &Scope, lease_token: &str, attempt: &WebhookAttempt, update: &DeliveryUpdate) -> Result<bool, StoreError>;
    /// The delivery log of one endpoint, newest first.
    async fn list_webhook_attempts(&self, scope: &Scope, endpoint_id: &str, page: &Page) -> Result<Vec<WebhookAttempt>, StoreError>;
    /// Queues `event_id` for the endpoint again (due now, attempts from zero), whether or not it
    /// was ever delivered there.
    async fn resend_webhook(&self, scope: &Scope, endpoint_id: &str, event_id: &str, now: Millis) -> Result<WebhookDelivery, StoreError>;
    async fn get_webhook_delivery(&self, scope: &Scope, endpoint_id: &str, event_id: &str) -> Result<WebhookDelivery, StoreError>;
    /// Forgets attempts made before `before`, and finished deliveries last changed before it;
    /// returns how many rows went.
    async fn purge_webhook_history(&self, before: Millis) -> Result<u64, StoreError>;
}

/// An endpoint as stored. The secrets are ciphertext; the service opens them.
#[derive(Debug, Clone)]
pub struct WebhookEndpointRecord {
    pub id: String,
    pub scope: Scope,
    pub url: WebhookUrl,
    pub enabled_events: EnabledEvents,
    pub secret: Secret,
    pub previous_secret: Option<Secret>,
    pub previous_secret_expires_at: Option<Millis>,
    pub status: EndpointStatus,
    pub disabled_reason: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A change to an endpoint; `None` leaves a field as it is. Enabling clears the disabled reason
/// and makes its pending deliveries due at once.
#[derive(Debug, Clone, Default)]
pub struct WebhookEndpointChange {
    pub url: Option<WebhookUrl>,
    pub enabled_events: Option<EnabledEvents>,
    pub status: Option<(EndpointStatus, Option<String>)>,
}

/// A due delivery this pass now owns until its lease ends.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub endpoint: WebhookEndpointRecord,
    pub event: Event,
    /// Attempts made before this one.
    pub attempts: i64,
    pub lease_token: String,
}

/// What an attempt leads to for its delivery.
#[derive(Debug, Clone)]
pub struct DeliveryUpdate {
    pub status: DeliveryStatus,
    pub next_attempt_at: Millis,
    /// Disables the endpoint, with this reason.
    pub disable_endpoint: Option<&'static str>,
}

pub const WEBHOOK_ENDPOINT_COLUMNS: &str = "id, merchant_id, livemode, url, enabled_events, secret, previous_secret, \
    previous_secret_expires_at, status, disabled_reason, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub struct WebhookEndpointRow {
    id: String,
    merchant_id: String,
    livemode: bool,
    url: String,
    enabled_events: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<i64>,
    status: String,
    disabled_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<WebhookEndpointRow> for WebhookEndpointRecord {
    type Error = StoreError;
    fn try_from(r: WebhookEndpointRow) -> Result<Self, StoreError> {
        Ok(WebhookEndpointRecord {
            enabled_events: EnabledEvents::from_stored(&r.enabled_events)
                .ok_or_else(|| StoreError::Corrupt(format!("enabled_events of {}", r.id)))?,
            status: EndpointStatus::parse(&r.status).ok_or_else(|| StoreError::Corrupt(format!("endpoint status {}", r.status)))?,
            id: r.id,
            scope: Scope { merchant_id: r.merchant_id, livemode: r.livemode },
            url: WebhookUrl::from_stored(r.url),
            secret: Secret::new(r.secret),
            previous_secret: r.previous_secret.map(Secret::new),
            previous_secret_expires_at: r.previous_secret_expires_at,
            disabled_reason: r.disabled_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub const WEBHOOK_ATTEMPT_COLUMNS: &str =
    "id, livemode, endpoint_id, event_id, event_type, attempt, attempted_at, response_status, latency_ms, error";

#[derive(sqlx::FromRow)]
pub struct WebhookAttemptRow {
    id: String,
    livemode: bool,
    endpoint_id: String,
    event_id: String,
    event_type: String,
    attempt: i64,
    attempted_at: i64,
    response_status: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
}

impl From<WebhookAttemptRow> for WebhookAttempt {
    fn from(r: WebhookAttemptRow) -> Self {
        WebhookAttempt {
            object: "webhook_attempt".into(),
            succeeded: r.error.is_none(),
            id: r.id,
            livemode: r.livemode,
            endpoint: r.endpoint_id,
            event: r.event_id,
            event_type: r.event_type,
            attempt: r.attempt,
            attempted_at: r.attempted_at,
            response_status: r.response_status,
            latency_ms: r.latency_ms,
            error: r.error,
        }
    }
}

pub const WEBHOOK_DELIVERY_COLUMNS: &str = "endpoint_id, event_id, status, attempts, next_attempt_at";

#[derive(sqlx::FromRow)]
pub struct WebhookDeliveryRow {
    endpoint_id: String,
    event_id: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
}

impl TryFrom<WebhookDeliveryRow> for WebhookDelivery {
    type Error = StoreError;
    fn try_from(r: WebhookDeliveryRow) -> Result<Self, StoreError> {
        Ok(WebhookDelivery {
            object: "webhook_delivery".into(),
            status: DeliveryStatus::parse(&r.status).ok_or_else(|| StoreError::Corrupt(format!("delivery status {}", r.status)))?,
            endpoint: r.endpoint_id,
            event: r.event_id,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
        })
    }
}

/// LIKE patterns (escape `\`) that find `kind` in a stored `enabled_events` list: the type
/// itself, and its family (`payment_intent.*`).
pub(crate) fn enabled_events_patterns(kind: &str) -> (String, String) {
    use super::sql::escape_like;
    let family = kind.split('.').next().unwrap_or(kind);
    (format!("%,{},%", escape_like(kind)), format!("%,{}.*,%", escape_like(family)))
}
