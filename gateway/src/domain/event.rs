//! Events: append-only, one sequence per merchant, one per state change.

use serde::{Deserialize, Serialize};

pub use paygate_wire::event::{is_event_type_pattern, Event, EVENT_TYPES};

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

/// The event as a checkout page receives it on the intent's own stream: its intent reduced to
/// what the publishable key may see ([`crate::domain::intent::PublicPaymentIntent`]).
pub fn for_checkout(mut event: Event) -> Event {
    event.data = match serde_json::from_value::<crate::domain::intent::PaymentIntent>(event.data) {
        Ok(intent) => serde_json::to_value(crate::domain::intent::PublicPaymentIntent::from(&intent)).unwrap_or_default(),
        // Every event of an intent's stream carries the intent; anything else shows nothing.
        Err(_) => serde_json::Value::Object(Default::default()),
    };
    event
}
