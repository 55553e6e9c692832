//! Webhooks: endpoints (their secrets sealed by the service), the transactional outbox of
//! deliveries (rows inserted in the transaction of the event itself), delivery passes that claim
//! due rows under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer), and the
//! attempt log, written only while the claim's lease still owns the delivery.

use super::db::{query, Row};
use super::events::{event, EVENT_COLUMNS};
use super::{corrupt, idempotency, Engine, SqlStore, StoreError};
use crate::domain::idempotency::{KeyStep, Saved, View};
use crate::domain::webhook::WebhookEndpoint;
use crate::domain::query::Page;
use crate::ids::random_base62;
use crate::clock::Millis;
use crate::domain::event::Event;
use crate::domain::webhook::{DeliveryStatus, EnabledEvents, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpointRecord, WebhookUrl};
use crate::domain::Scope;
use crate::secret::Secret;
use async_trait::async_trait;

#[async_trait]
pub trait WebhookStore: Send + Sync {
    // Endpoints are scoped like every object: another merchant's id is not found.
    /// Inserts the endpoint, recording `step` under the request's key with it.
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpointRecord, step: Option<KeyStep<'_>>) -> Result<(), StoreError>;
    async fn get_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<WebhookEndpointRecord, StoreError>;
    /// Any merchant's endpoint, for the operator's CLI.
    async fn find_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpointRecord, StoreError>;
    async fn list_webhook_endpoints(&self, scope: &Scope, page: &Page) -> Result<Vec<WebhookEndpointRecord>, StoreError>;
    async fn count_webhook_endpoints(&self, scope: &Scope) -> Result<i64, StoreError>;
    async fn update_webhook_endpoint(&self, scope: &Scope, id: &str, change: &WebhookEndpointChange, now: Millis, step: Option<KeyStep<'_>>) -> Result<WebhookEndpointRecord, StoreError>;
    /// Installs `secret` (ciphertext); the old one keeps signing until `previous_expires_at`
    /// (`None`: it stops at once).
    async fn rotate_webhook_secret(
        &self,
        scope: &Scope,
        id: &str,
        secret: &Secret,
        previous_expires_at: Option<Millis>,
        now: Millis,
        step: Option<KeyStep<'_>>,
    ) -> Result<WebhookEndpointRecord, StoreError>;
    /// Deletes the endpoint with its deliveries and attempt log.
    async fn delete_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<(), StoreError>;
    /// Leases due deliveries of enabled endpoints until `lease_until`, at most one per endpoint
    /// and none of an endpoint that has one leased already (its earliest due, in event order),
    /// for up to `limit` endpoints. Concurrent passes (in any replica) never get the same
    /// delivery, nor two of one endpoint, while a lease lasts.
    async fn claim_webhook_deliveries(&self, now: Millis, lease_until: Millis, limit: u32) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Logs the attempt and moves its delivery on, only if `lease_token` still owns the delivery;
    /// `false` when it does not (nothing is written).
    async fn record_webhook_attempt(&self, scope: &Scope, lease_token: &str, attempt: &WebhookAttempt, update: &DeliveryUpdate) -> Result<bool, StoreError>;
    /// The delivery log of one endpoint, newest first.
    async fn list_webhook_attempts(&self, scope: &Scope, endpoint_id: &str, page: &Page) -> Result<Vec<WebhookAttempt>, StoreError>;
    /// Queues `event_id` for the endpoint again (due now, attempts from zero), whether or not it
    /// was ever delivered there.
    async fn resend_webhook(&self, scope: &Scope, endpoint_id: &str, event_id: &str, now: Millis, step: Option<KeyStep<'_>>) -> Result<WebhookDelivery, StoreError>;
    async fn get_webhook_delivery(&self, scope: &Scope, endpoint_id: &str, event_id: &str) -> Result<WebhookDelivery, StoreError>;
    /// Queues again, due at `now` with a fresh schedule, every delivery to the endpoint that
    /// failed and whose event happened at or after `since`; how many.
    async fn resend_failed_webhooks(&self, scope: &Scope, endpoint_id: &str, since: Millis, now: Millis) -> Result<u64, StoreError>;
    /// Forgets attempts made before `before`, and finished deliveries last changed before it;
    /// returns how many rows went.
    async fn purge_webhook_history(&self, before: Millis) -> Result<u64, StoreError>;
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

const ENDPOINT_COLUMNS: &str = "id, merchant_id, livemode, url, enabled_events, secret, previous_secret, \
    previous_secret_expires_at, status, disabled_reason, created_at, updated_at";
const ATTEMPT_COLUMNS: &str = "id, livemode, endpoint_id, event_id, event_type, attempt, attempted_at, response_status, latency_ms, error";
const DELIVERY_COLUMNS: &str = "endpoint_id, event_id, status, attempts, next_attempt_at";

fn endpoint(r: &Row) -> Result<WebhookEndpointRecord, StoreError> {
    let id = r.text("id")?;
    let status = r.text("status")?;
    Ok(WebhookEndpointRecord {
        enabled_events: EnabledEvents::from_stored(&r.text("enabled_events")?).ok_or_else(|| corrupt("enabled_events of", &id))?,
        status: EndpointStatus::parse(&status).ok_or_else(|| corrupt("endpoint status", &status))?,
        scope: Scope { merchant_id: r.text("merchant_id")?, livemode: r.bool("livemode")? },
        url: WebhookUrl::from_stored(r.text("url")?),
        secret: Secret::new(r.text("secret")?),
        previous_secret: r.opt_text("previous_secret")?.map(Secret::new),
        previous_secret_expires_at: r.opt_int("previous_secret_expires_at")?,
        disabled_reason: r.opt_text("disabled_reason")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
        id,
    })
}

fn attempt(r: &Row) -> Result<WebhookAttempt, StoreError> {
    let error = r.opt_text("error")?;
    Ok(WebhookAttempt {
        object: "webhook_attempt".into(),
        succeeded: error.is_none(),
        id: r.text("id")?,
        livemode: r.bool("livemode")?,
        endpoint: r.text("endpoint_id")?,
        event: r.text("event_id")?,
        event_type: r.text("event_type")?,
        attempt: r.int("attempt")?,
        attempted_at: r.int("attempted_at")?,
        response_status: r.opt_int("response_status")?,
        latency_ms: r.int("latency_ms")?,
        error,
    })
}

fn delivery(r: &Row) -> Result<WebhookDelivery, StoreError> {
    let status = r.text("status")?;
    Ok(WebhookDelivery {
        object: "webhook_delivery".into(),
        status: DeliveryStatus::parse(&status).ok_or_else(|| corrupt("delivery status", &status))?,
        endpoint: r.text("endpoint_id")?,
        event: r.text("event_id")?,
        attempts: r.int("attempts")?,
        next_attempt_at: r.int("next_attempt_at")?,
    })
}

/// An endpoint as a request's answer: its new secret kept sealed when the answer shows one.
fn endpoint_answer(record: &WebhookEndpointRecord, step: KeyStep<'_>) -> Saved {
    let shows_secret = matches!(step, KeyStep::Finish(k) if k.finish.view == View::EndpointWithSecret);
    Saved::WebhookEndpoint {
        endpoint: WebhookEndpoint::of(record, None),
        sealed_secret: shows_secret.then(|| record.secret.expose().to_owned()),
    }
}

impl SqlStore {
    async fn endpoint_by_id(&self, id: &str) -> Result<WebhookEndpointRecord, StoreError> {
        endpoint(&self.db.fetch_one(query(format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1")).bind(id)).await?)
    }
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn insert_webhook_endpoint(&self, e: &WebhookEndpointRecord, step: Option<KeyStep<'_>>) -> Result<(), StoreError> {
        let insert = query(
            "INSERT INTO webhook_endpoints (id, merchant_id, livemode, url, enabled_events, secret, previous_secret, \
             previous_secret_expires_at, status, disabled_reason, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&e.id)
        .bind(&e.scope.merchant_id)
        .bind(e.scope.livemode)
        .bind(e.url.as_str())
        .bind(e.enabled_events.to_stored())
        .bind(e.secret.expose())
        .bind(e.previous_secret.as_ref().map(|s| s.expose()))
        .bind(e.previous_secret_expires_at)
        .bind(e.status.as_str())
        .bind(&e.disabled_reason)
        .bind(e.created_at)
        .bind(e.updated_at);
        let mut tx = self.db.begin().await?;
        tx.execute(insert).await?;
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || endpoint_answer(e, step)).await?;
        }
        self.commit_step(tx, Vec::new(), step).await
    }

    async fn get_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<WebhookEndpointRecord, StoreError> {
        let get = query(format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND livemode = $3"))
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode);
        endpoint(&self.db.fetch_one(get).await?)
    }

    async fn find_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpointRecord, StoreError> {
        self.endpoint_by_id(id).await
    }

    async fn list_webhook_endpoints(&self, scope: &Scope, page: &Page) -> Result<Vec<WebhookEndpointRecord>, StoreError> {
        let list = query(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id = $1 AND livemode = $2 \
               AND ($3 IS NULL OR created_at < $3 OR (created_at = $3 AND id < $4)) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        ))
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(page.after.as_ref().map(|c| c.created_at))
        .bind(page.after.as_ref().map(|c| c.id.clone()))
        .bind(i64::from(page.limit));
        self.db.fetch_all(list).await?.iter().map(endpoint).collect()
    }

    async fn count_webhook_endpoints(&self, scope: &Scope) -> Result<i64, StoreError> {
        let count = query("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE merchant_id = $1 AND livemode = $2").bind(&scope.merchant_id).bind(scope.livemode);
        self.db.fetch_one(count).await?.int("n")
    }

    async fn update_webhook_endpoint(&self, scope: &Scope, id: &str, change: &WebhookEndpointChange, now: Millis, step: Option<KeyStep<'_>>) -> Result<WebhookEndpointRecord, StoreError> {
        let update = query(format!(
            "UPDATE webhook_endpoints SET url = COALESCE($1, url), enabled_events = COALESCE($2, enabled_events), \
               status = COALESCE($3, status), disabled_reason = CASE WHEN $3 IS NULL THEN disabled_reason ELSE $4 END, \
               updated_at = $5 \
             WHERE id = $6 AND merchant_id = $7 AND livemode = $8 RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(change.url.as_ref().map(|u| u.as_str().to_owned()))
        .bind(change.enabled_events.as_ref().map(|e| e.to_stored()))
        .bind(change.status.as_ref().map(|(s, _)| s.as_str()))
        .bind(change.status.as_ref().and_then(|(_, reason)| reason.clone()))
        .bind(now)
        .bind(id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode);
        let mut tx = self.db.begin().await?;
        let changed = endpoint(&tx.fetch_one(update).await?)?;
        if matches!(change.status, Some((EndpointStatus::Enabled, _))) {
            // Resume: what waited while the endpoint was disabled is due now.
            let resume = query(
                "UPDATE webhook_deliveries SET next_attempt_at = $1, updated_at = $1 \
                 WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at > $1",
            )
            .bind(now)
            .bind(id);
            tx.execute(resume).await?;
        }
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || endpoint_answer(&changed, step)).await?;
        }
        self.commit_step(tx, Vec::new(), step).await?;
        Ok(changed)
    }

    async fn rotate_webhook_secret(
        &self,
        scope: &Scope,
        id: &str,
        secret: &Secret,
        previous_expires_at: Option<Millis>,
        now: Millis,
        step: Option<KeyStep<'_>>,
    ) -> Result<WebhookEndpointRecord, StoreError> {
        let rotate = query(format!(
            "UPDATE webhook_endpoints SET previous_secret = CASE WHEN $1 IS NULL THEN NULL ELSE secret END, \
               previous_secret_expires_at = $1, secret = $2, updated_at = $3 \
             WHERE id = $4 AND merchant_id = $5 AND livemode = $6 RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(previous_expires_at)
        .bind(secret.expose())
        .bind(now)
        .bind(id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode);
        let mut tx = self.db.begin().await?;
        let rotated = endpoint(&tx.fetch_one(rotate).await?)?;
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || endpoint_answer(&rotated, step)).await?;
        }
        self.commit_step(tx, Vec::new(), step).await?;
        Ok(rotated)
    }

    async fn delete_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        let delete = query("DELETE FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND livemode = $3").bind(id).bind(&scope.merchant_id).bind(scope.livemode);
        if self.db.execute(delete).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn claim_webhook_deliveries(&self, now: Millis, lease_until: Millis, limit: u32) -> Result<Vec<ClaimedDelivery>, StoreError> {
        // PostgreSQL: replicas skip each other's locked rows instead of waiting on them. SQLite:
        // its single writer serializes passes; the lease column does the rest.
        let lock = match self.engine() {
            Engine::Postgres => "FOR UPDATE OF d SKIP LOCKED",
            Engine::Sqlite => "",
        };
        let token = random_base62(24);
        // One delivery in flight per endpoint, its earliest due one in event order: a slow
        // endpoint holds back only itself, and each endpoint gets its events in sequence. One
        // grouped pass finds each endpoint's head (the least sequence among its due deliveries)
        // and whether it has one in flight, so a backlog of thousands costs one scan, not one
        // per delivery. Each delivery carries its event's position (set when the event is
        // numbered, by trigger), so the pass reads the deliveries alone; an unnumbered event's
        // delivery waits for its number.
        let claim = query(format!(
            "UPDATE webhook_deliveries SET lease_until = $1, lease_token = $2 \
             WHERE (endpoint_id, event_id) IN ( \
                 SELECT d.endpoint_id, d.event_id \
                 FROM (SELECT o.endpoint_id, \
                              MIN(CASE WHEN o.next_attempt_at <= $3 THEN o.seq END) AS seq, \
                              MAX(CASE WHEN o.lease_until > $3 THEN 1 ELSE 0 END) AS busy \
                       FROM webhook_deliveries o WHERE o.status = 'pending' GROUP BY o.endpoint_id) h \
                   JOIN webhook_endpoints e ON e.id = h.endpoint_id \
                   JOIN webhook_deliveries d ON d.endpoint_id = h.endpoint_id AND d.seq = h.seq \
                 WHERE h.busy = 0 AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until <= $3) \
                   AND e.status = 'enabled' \
                 ORDER BY d.next_attempt_at LIMIT $4 {lock}) \
               AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $3) \
             RETURNING endpoint_id, event_id, attempts"
        ))
        .bind(lease_until)
        .bind(&token)
        .bind(now)
        .bind(i64::from(limit));
        let claimed = self.db.write_fetch_all(claim).await?;
        let mut out = Vec::with_capacity(claimed.len());
        for row in claimed {
            let (endpoint_id, event_id, attempts) = (row.text("endpoint_id")?, row.text("event_id")?, row.int("attempts")?);
            // Deleted since the claim: its delivery went with it.
            let endpoint = match self.endpoint_by_id(&endpoint_id).await {
                Ok(endpoint) => endpoint,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            let event = event(&self.db.fetch_one(query(format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1")).bind(&event_id)).await?)?;
            out.push(ClaimedDelivery { endpoint, event, attempts, lease_token: token.clone() });
        }
        Ok(out)
    }

    async fn record_webhook_attempt(&self, scope: &Scope, lease_token: &str, a: &WebhookAttempt, update: &DeliveryUpdate) -> Result<bool, StoreError> {
        let own = query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, next_attempt_at = $2, \
               lease_until = NULL, lease_token = NULL, updated_at = $3 \
             WHERE endpoint_id = $4 AND event_id = $5 AND lease_token = $6",
        )
        .bind(update.status.as_str())
        .bind(update.next_attempt_at)
        .bind(a.attempted_at)
        .bind(&a.endpoint)
        .bind(&a.event)
        .bind(lease_token);
        let mut tx = self.db.begin().await?;
        if tx.execute(own).await? == 0 {
            // The lease ran out, or the endpoint was deleted: someone else owns this now.
            return Ok(false);
        }
        let log = query(
            "INSERT INTO webhook_attempts (id, endpoint_id, event_id, event_type, merchant_id, livemode, attempt, \
             attempted_at, response_status, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&a.id)
        .bind(&a.endpoint)
        .bind(&a.event)
        .bind(&a.event_type)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(a.attempt)
        .bind(a.attempted_at)
        .bind(a.response_status)
        .bind(a.latency_ms)
        .bind(&a.error);
        tx.execute(log).await?;
        if let Some(reason) = update.disable_endpoint {
            let disable = query(
                "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $1, updated_at = $2 WHERE id = $3 AND status = 'enabled'",
            )
            .bind(reason)
            .bind(a.attempted_at)
            .bind(&a.endpoint);
            tx.execute(disable).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn list_webhook_attempts(&self, scope: &Scope, endpoint_id: &str, page: &Page) -> Result<Vec<WebhookAttempt>, StoreError> {
        let list = query(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts \
             WHERE endpoint_id = $1 AND merchant_id = $2 AND livemode = $3 \
               AND ($4 IS NULL OR attempted_at < $4 OR (attempted_at = $4 AND id < $5)) \
             ORDER BY attempted_at DESC, id DESC LIMIT $6"
        ))
        .bind(endpoint_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(page.after.as_ref().map(|c| c.created_at))
        .bind(page.after.as_ref().map(|c| c.id.clone()))
        .bind(i64::from(page.limit));
        self.db.fetch_all(list).await?.iter().map(attempt).collect()
    }

    async fn resend_webhook(&self, scope: &Scope, endpoint_id: &str, event_id: &str, now: Millis, step: Option<KeyStep<'_>>) -> Result<WebhookDelivery, StoreError> {
        // Any event of this merchant and mode, whether the endpoint subscribed to it or not.
        let resend = query(format!(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, merchant_id, livemode, status, attempts, \
             next_attempt_at, created_at, updated_at, seq) \
             SELECT $1, id, merchant_id, livemode, 'pending', 0, $2, $2, $2, seq FROM events \
             WHERE id = $3 AND merchant_id = $4 AND livemode = $5 \
             ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', attempts = 0, \
               next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at \
             RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(endpoint_id)
        .bind(now)
        .bind(event_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode);
        let mut tx = self.db.begin().await?;
        let queued = delivery(&tx.fetch_one(resend).await?)?;
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || Saved::WebhookDelivery { delivery: queued.clone() }).await?;
        }
        self.commit_step(tx, Vec::new(), step).await?;
        Ok(queued)
    }

    async fn get_webhook_delivery(&self, scope: &Scope, endpoint_id: &str, event_id: &str) -> Result<WebhookDelivery, StoreError> {
        let get = query(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = $2 AND merchant_id = $3 AND livemode = $4"
        ))
        .bind(endpoint_id)
        .bind(event_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode);
        delivery(&self.db.fetch_one(get).await?)
    }

    async fn resend_failed_webhooks(&self, scope: &Scope, endpoint_id: &str, since: Millis, now: Millis) -> Result<u64, StoreError> {
        let resend = query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1 \
             WHERE endpoint_id = $2 AND merchant_id = $3 AND livemode = $4 AND status = 'failed' AND created_at >= $5",
        )
        .bind(now)
        .bind(endpoint_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(since);
        self.db.execute(resend).await
    }

    async fn purge_webhook_history(&self, before: Millis) -> Result<u64, StoreError> {
        let attempts = self.db.execute(query("DELETE FROM webhook_attempts WHERE attempted_at < $1").bind(before)).await?;
        let deliveries = self.db.execute(query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < $1").bind(before)).await?;
        Ok(attempts + deliveries)
    }
}
