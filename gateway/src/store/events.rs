//! Events: append-only, one sequence per merchant, appended in the transaction of the change they
//! announce; the webhook outbox rows go in with them. Listeners (the live event bus) hear about
//! them after the commit.

use super::db::{query, Row, Tx};
use super::{corrupt, SqlStore, StoreError};
use crate::clock::Millis;
use crate::domain::event::{Event, EventNotice};
use crate::domain::intent::{event_type_for, PaymentIntent};
use crate::domain::query::{EventFilter, Page};
use crate::domain::refund::{Refund, RefundStatus};
use crate::domain::Scope;
use crate::ids::IdKind;
use async_trait::async_trait;
use std::sync::Arc;

/// Told, after each commit, about the events the transaction appended.
pub type EventListener = Arc<dyn Fn(Vec<EventNotice>) + Send + Sync>;

#[async_trait]
pub trait EventStore: Send + Sync {
    async fn get_event(&self, scope: &Scope, id: &str) -> Result<Event, StoreError>;
    /// Newest first; the page cursor's position is the sequence number.
    async fn list_events(&self, scope: &Scope, filter: &EventFilter, page: &Page) -> Result<Vec<Event>, StoreError>;
    /// Events after `after_seq` in sequence order, of one object or of the whole scope.
    async fn events_after(&self, scope: &Scope, object_id: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Adds a listener told about committed events; every listener hears every commit.
    fn add_event_listener(&self, listener: EventListener);
}

pub(super) const EVENT_COLUMNS: &str = "id, livemode, seq, type, payload, created_at";

pub(super) fn event(row: &Row) -> Result<Event, StoreError> {
    let id = row.text("id")?;
    Ok(Event {
        object: "event".into(),
        data: serde_json::from_str(&row.text("payload")?).map_err(|_| corrupt("event payload", &id))?,
        id,
        livemode: row.bool("livemode")?,
        sequence: row.int("seq")?,
        kind: row.text("type")?,
        created_at: row.int("created_at")?,
    })
}

/// A LIKE pattern for an event type, or for a family of them (`payment_intent.*`).
fn type_pattern(kind: &str) -> String {
    match kind.strip_suffix('*') {
        Some(prefix) => format!("{}%", super::db::escape_like(prefix)),
        None => super::db::escape_like(kind),
    }
}

/// Appends one event with the merchant's next sequence number. The merchant row stays locked
/// until commit, so events of one merchant commit in sequence order.
pub(super) async fn append(
    tx: &mut Tx,
    scope: &Scope,
    kind: &str,
    object_id: &str,
    payload: &serde_json::Value,
    now: Millis,
) -> Result<EventNotice, StoreError> {
    let next = query("UPDATE merchants SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq").bind(&scope.merchant_id);
    let seq = tx.fetch_one(next).await?.int("event_seq")?;
    let previous = query("SELECT MAX(seq) AS seq FROM events WHERE object_id = $1 AND merchant_id = $2").bind(object_id).bind(&scope.merchant_id);
    let previous_object_seq = tx.fetch_one(previous).await?.opt_int("seq")?;
    let event = Event {
        id: IdKind::Event.generate(),
        object: "event".into(),
        livemode: scope.livemode,
        sequence: seq,
        kind: kind.to_owned(),
        data: payload.clone(),
        created_at: now,
    };
    let insert = query(
        "INSERT INTO events (id, merchant_id, livemode, seq, type, object_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&event.id)
    .bind(&scope.merchant_id)
    .bind(scope.livemode)
    .bind(seq)
    .bind(kind)
    .bind(object_id)
    .bind(payload.to_string())
    .bind(now);
    tx.execute(insert).await?;
    super::webhooks::enqueue_deliveries(tx, scope, &event.id, kind, now).await?;
    Ok(EventNotice { merchant_id: scope.merchant_id.clone(), object_id: object_id.to_owned(), previous_object_seq, event })
}

/// The event announcing the intent's current status.
pub(super) async fn append_intent(tx: &mut Tx, scope: &Scope, intent: &PaymentIntent, now: Millis) -> Result<EventNotice, StoreError> {
    let payload = serde_json::to_value(intent).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    append(tx, scope, &event_type_for(intent.status), &intent.id, &payload, now).await
}

/// `refund.created` for a pending refund, else `refund.<status>`.
pub(super) async fn append_refund(tx: &mut Tx, scope: &Scope, refund: &Refund, now: Millis) -> Result<EventNotice, StoreError> {
    let payload = serde_json::to_value(refund).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let status = if refund.status == RefundStatus::Pending { "created" } else { refund.status.as_str() };
    append(tx, scope, &format!("refund.{status}"), &refund.id, &payload, now).await
}

#[async_trait]
impl EventStore for SqlStore {
    async fn get_event(&self, scope: &Scope, id: &str) -> Result<Event, StoreError> {
        let get = query(format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1 AND merchant_id = $2 AND livemode = $3"))
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode);
        event(&self.db.fetch_one(get).await?)
    }

    async fn list_events(&self, scope: &Scope, f: &EventFilter, page: &Page) -> Result<Vec<Event>, StoreError> {
        // The cursor's position is the sequence number; its id is not needed.
        let list = query(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND livemode = $2 \
               AND ($3 IS NULL OR type LIKE $3 ESCAPE '\\') \
               AND ($4 IS NULL OR object_id = $4) \
               AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
               AND ($7 IS NULL OR seq < $7) \
             ORDER BY seq DESC LIMIT $8"
        ))
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(f.kind.as_deref().map(type_pattern))
        .bind(&f.object_id)
        .bind(f.created_gte)
        .bind(f.created_lt)
        .bind(page.after.as_ref().map(|c| c.created_at))
        .bind(i64::from(page.limit));
        self.db.fetch_all(list).await?.iter().map(event).collect()
    }

    async fn events_after(&self, scope: &Scope, object_id: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        // Two statements, so each uses its own index: `events_object` for one object's events,
        // `events_stream` for the whole scope. (`$n IS NULL OR object_id = $n` would walk all of
        // the merchant's events on every intent stream's open.)
        let after = match object_id {
            Some(object) => query(format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE object_id = $1 AND merchant_id = $2 AND livemode = $3 \
                   AND seq > $4 ORDER BY seq LIMIT $5"
            ))
            .bind(object),
            None => query(format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND livemode = $2 AND seq > $3 ORDER BY seq LIMIT $4"
            )),
        };
        let after = after.bind(&scope.merchant_id).bind(scope.livemode).bind(after_seq).bind(i64::from(limit));
        self.db.fetch_all(after).await?.iter().map(event).collect()
    }

    fn add_event_listener(&self, listener: EventListener) {
        if let Ok(mut listeners) = self.listeners.write() {
            listeners.push(listener);
        }
    }
}
