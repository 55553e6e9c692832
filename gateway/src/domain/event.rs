//! Events: append-only, one sequence per merchant, one per state change.

use crate::clock::{rfc3339, Millis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: String,
    /// Always `event`.
    pub object: String,
    pub livemode: bool,
    /// Per-merchant sequence number, strictly increasing.
    pub sequence: i64,
    #[serde(rename = "type")]
    pub kind: String,
    /// The object after the change.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

/// Every event type the core emits. `payment_intent.scanned` marks the approval page being
/// opened; it changes no status.
pub const EVENT_TYPES: [&str; 13] = [
    "payment_intent.created",
    "payment_intent.scanned",
    "payment_intent.processing",
    "payment_intent.requires_confirmation",
    "payment_intent.succeeded",
    "payment_intent.failed",
    "payment_intent.canceled",
    "payment_intent.expired",
    "payment_intent.partially_refunded",
    "payment_intent.refunded",
    "refund.created",
    "refund.succeeded",
    "refund.failed",
];

/// Whether `kind` names an event type, or a family of them (`payment_intent.*`).
pub fn is_event_type_pattern(kind: &str) -> bool {
    if kind == "*" {
        return true;
    }
    match kind.strip_suffix(".*") {
        Some(family) => EVENT_TYPES.iter().any(|t| t.split('.').next() == Some(family)),
        None => EVENT_TYPES.contains(&kind),
    }
}

/// A committed event as it travels to live streams: the event, who it belongs to, and the
/// sequence of the same object's previous event, so a subscriber can tell a gap (fetch from the
/// database) from the next event in line (deliver at once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventNotice {
    pub merchant_id: String,
    pub object_id: String,
    pub previous_object_seq: Option<i64>,
    pub event: Event,
}
