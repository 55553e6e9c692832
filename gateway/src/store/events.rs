//! Events: append-only, appended in the transaction of the change they announce (the webhook
//! outbox rows go in with them, by trigger), numbered into one dense stream per merchant by
//! [`sequence`]: at the end of that transaction on SQLite (one writer, so commit order is
//! position order), after its commit on PostgreSQL, where no payment transaction waits on a
//! per-merchant row. Listeners (the live event bus) hear about events once they are numbered.

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
    /// Numbers events that committed without being numbered (their process stopped, or the
    /// database failed, between the commit and the numbering); returns how many merchants had
    /// some.
    async fn sequence_pending_events(&self) -> Result<u64, StoreError>;
}

pub(super) const EVENT_COLUMNS: &str = "id, livemode, seq, type, payload, created_at";

pub(super) fn event(row: &Row) -> Result<Event, StoreError> {
    event_at(row, row.int("seq")?)
}

/// An event row as the event at stream position `sequence`.
fn event_at(row: &Row, sequence: i64) -> Result<Event, StoreError> {
    let id = row.text("id")?;
    Ok(Event {
        object: "event".into(),
        data: serde_json::from_str(&row.text("payload")?).map_err(|_| corrupt("event payload", &id))?,
        id,
        livemode: row.bool("livemode")?,
        sequence,
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

/// A transaction appended events of this merchant: its commit is followed by [`sequence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Appended {
    pub(super) merchant_id: String,
}

/// Appends one event, in one statement: its place among the same object's events
/// (`object_seq`; the object's row lock, taken by the change it announces, serializes these)
/// and no stream position yet. Its `created_at` never runs before the object's previous event,
/// so ordering by time then `object_seq` keeps each object's order whatever the replicas'
/// clocks. The outbox trigger (migration 0008) queues its webhook deliveries in the same
/// statement.
pub(super) async fn append(
    tx: &mut Tx,
    scope: &Scope,
    kind: &str,
    object_id: &str,
    payload: &serde_json::Value,
    now: Millis,
) -> Result<Appended, StoreError> {
    let insert = query(
        "INSERT INTO events (id, merchant_id, livemode, object_seq, type, object_id, payload, created_at) \
         SELECT $1, $2, $3, COALESCE(MAX(object_seq), 0) + 1, $4, $5, $6, \
                CASE WHEN MAX(created_at) > $7 THEN MAX(created_at) ELSE $7 END \
           FROM events WHERE merchant_id = $2 AND livemode = $3 AND object_id = $5",
    )
    .bind(IdKind::Event.generate())
    .bind(&scope.merchant_id)
    .bind(scope.livemode)
    .bind(kind)
    .bind(object_id)
    .bind(payload.to_string())
    .bind(now);
    tx.execute(insert).await?;
    Ok(Appended { merchant_id: scope.merchant_id.clone() })
}

/// Per merchant, this process's numbering passes: tickets taken after commits, and the last
/// ticket a finished pass covered.
#[derive(Default)]
pub(super) struct Lanes(std::sync::Mutex<std::collections::HashMap<String, Arc<Lane>>>);

#[derive(Default)]
pub(super) struct Lane {
    pub(super) requested: std::sync::atomic::AtomicU64,
    pub(super) covered: tokio::sync::Mutex<u64>,
}

impl Lanes {
    pub(super) fn lane(&self, merchant_id: &str) -> Arc<Lane> {
        let mut lanes = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        lanes.entry(merchant_id.to_owned()).or_default().clone()
    }
}

/// Unnumbered events numbered per statement; a longer backlog takes several.
const SEQUENCE_BATCH: usize = 500;

/// Gives the merchant's committed, unnumbered events their stream positions, densely after the
/// merchant's head, in time then object order, and returns them as notices in position order.
/// The head row (`event_heads`) stays locked until the caller commits, so positions commit in
/// order: a reader that has position `n` has everything before it.
pub(super) async fn sequence(tx: &mut Tx, merchant_id: &str) -> Result<Vec<EventNotice>, StoreError> {
    let lock = query(
        "INSERT INTO event_heads (merchant_id, seq) VALUES ($1, 0) \
         ON CONFLICT (merchant_id) DO UPDATE SET seq = event_heads.seq RETURNING seq",
    )
    .bind(merchant_id);
    let mut head = tx.fetch_one(lock).await?.int("seq")?;
    let mut notices = Vec::new();
    loop {
        let pending = query(format!(
            "SELECT {EVENT_COLUMNS}, object_id, \
               (SELECT MAX(p.seq) FROM events p WHERE p.merchant_id = e.merchant_id AND p.livemode = e.livemode \
                  AND p.object_id = e.object_id AND p.seq IS NOT NULL) AS previous_seq \
             FROM events e WHERE merchant_id = $1 AND seq IS NULL ORDER BY created_at, object_seq, id LIMIT {SEQUENCE_BATCH}"
        ))
        .bind(merchant_id);
        let rows = tx.fetch_all(pending).await?;
        if rows.is_empty() {
            break;
        }
        let full = rows.len() == SEQUENCE_BATCH;
        let mut numbered = String::new();
        let mut update = Vec::with_capacity(rows.len());
        let mut last_of_object: std::collections::HashMap<(bool, String), i64> = std::collections::HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            head += 1;
            let object_id = row.text("object_id")?;
            let event = event_at(row, head)?;
            let key = (event.livemode, object_id.clone());
            let previous_object_seq = last_of_object.get(&key).copied().or(row.opt_int("previous_seq")?);
            last_of_object.insert(key, head);
            if i > 0 {
                numbered.push_str(", ");
            }
            numbered.push_str(&format!("(${}, ${})", 2 * i + 2, 2 * i + 3));
            update.push((event.id.clone(), head));
            notices.push(EventNotice { merchant_id: merchant_id.to_owned(), object_id, previous_object_seq, event });
        }
        let mut set = query(format!(
            "WITH numbered (id, seq) AS (VALUES {numbered}) \
             UPDATE events SET seq = (SELECT numbered.seq FROM numbered WHERE numbered.id = events.id) \
             WHERE merchant_id = $1 AND seq IS NULL AND id IN (SELECT id FROM numbered)"
        ))
        .bind(merchant_id);
        for (id, seq) in update {
            set = set.bind(id).bind(seq);
        }
        let changed = tx.execute(set).await?;
        if changed as usize != rows.len() {
            return Err(StoreError::Corrupt(format!("numbered {changed} of {} events", rows.len())));
        }
        if !full {
            break;
        }
    }
    if !notices.is_empty() {
        tx.execute(query("UPDATE event_heads SET seq = $2 WHERE merchant_id = $1").bind(merchant_id).bind(head)).await?;
    }
    Ok(notices)
}


/// The event announcing the intent's current status.
pub(super) async fn append_intent(tx: &mut Tx, scope: &Scope, intent: &PaymentIntent, now: Millis) -> Result<Appended, StoreError> {
    let payload = serde_json::to_value(intent).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    append(tx, scope, &event_type_for(intent.status), &intent.id, &payload, now).await
}

/// `refund.created` for a pending refund, else `refund.<status>`.
pub(super) async fn append_refund(tx: &mut Tx, scope: &Scope, refund: &Refund, now: Millis) -> Result<Appended, StoreError> {
    let payload = serde_json::to_value(refund).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let status = if refund.status == RefundStatus::Pending { "created" } else { refund.status.as_str() };
    append(tx, scope, &format!("refund.{status}"), &refund.id, &payload, now).await
}

#[async_trait]
impl EventStore for SqlStore {
    async fn get_event(&self, scope: &Scope, id: &str) -> Result<Event, StoreError> {
        let get = query(format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1 AND merchant_id = $2 AND livemode = $3 AND seq IS NOT NULL"))
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode);
        event(&self.db.fetch_one(get).await?)
    }

    async fn list_events(&self, scope: &Scope, f: &EventFilter, page: &Page) -> Result<Vec<Event>, StoreError> {
        // The cursor's position is the sequence number; its id is not needed.
        let list = query(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND livemode = $2 AND seq IS NOT NULL \
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
        // Two statements, so each uses its own index: `events_object_order` for one object's
        // events, `events_stream` for the whole scope. (`$n IS NULL OR object_id = $n` would walk all of
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

    async fn sequence_pending_events(&self) -> Result<u64, StoreError> {
        let merchants = self.db.fetch_all(query("SELECT DISTINCT merchant_id FROM events WHERE seq IS NULL")).await?;
        for row in &merchants {
            self.sequence_after_commit(&row.text("merchant_id")?).await?;
        }
        Ok(merchants.len() as u64)
    }
}
