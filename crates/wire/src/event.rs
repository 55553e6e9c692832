//! The event envelope: one per state change, the same on the REST API, the event streams (SSE)
//! and webhooks.

use crate::time::{rfc3339, Millis};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
    #[serde(with = "rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
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

