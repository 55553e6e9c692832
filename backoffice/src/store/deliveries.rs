//! The webhook deliveries of a set of events (a payment's timeline), with their endpoint and
//! last attempt: one query for the payment detail page instead of one per endpoint and event.

use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::store::sql::{query, Row};
use gateway::store::{SqlStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub endpoint_id: String,
    pub url: String,
    pub event_id: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_response_status: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub updated_at: Millis,
}

#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// The deliveries of `event_ids` (the merchant's, in `livemode`), by event then endpoint.
    async fn deliveries_of_events(&self, merchant_id: &str, livemode: bool, event_ids: &[String]) -> Result<Vec<DeliveryRow>, StoreError>;
}

/// Events a page shows deliveries for, at most.
pub const MAX_EVENTS: usize = 100;

fn delivery(r: &Row) -> Result<DeliveryRow, StoreError> {
    Ok(DeliveryRow {
        endpoint_id: r.text("endpoint_id")?,
        url: r.text("url")?,
        event_id: r.text("event_id")?,
        status: r.text("status")?,
        attempts: r.int("attempts")?,
        last_response_status: r.opt_int("response_status")?,
        last_latency_ms: r.opt_int("latency_ms")?,
        last_error: r.opt_text("error")?,
        updated_at: r.int("updated_at")?,
    })
}

#[async_trait]
impl DeliveryLog for SqlStore {
    async fn deliveries_of_events(&self, merchant_id: &str, livemode: bool, event_ids: &[String]) -> Result<Vec<DeliveryRow>, StoreError> {
        let ids = &event_ids[..event_ids.len().min(MAX_EVENTS)];
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Placeholders only are built here ($3, $4, ...); the ids are bound.
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
        let mut q = query(format!(
            "SELECT d.endpoint_id, e.url, d.event_id, d.status, d.attempts, d.updated_at, \
                    a.response_status, a.latency_ms, a.error \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             LEFT JOIN webhook_attempts a ON a.id = ( \
                 SELECT a2.id FROM webhook_attempts a2 WHERE a2.endpoint_id = d.endpoint_id AND a2.event_id = d.event_id \
                 ORDER BY a2.attempt DESC LIMIT 1) \
             WHERE d.merchant_id = $1 AND d.livemode = $2 AND d.event_id IN ({}) \
             ORDER BY d.created_at, d.event_id, d.endpoint_id",
            placeholders.join(", ")
        ))
        .bind(merchant_id)
        .bind(livemode);
        for id in ids {
            q = q.bind(id.as_str());
        }
        self.sql().fetch_all(q).await?.iter().map(delivery).collect()
    }
}
