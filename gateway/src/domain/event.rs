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
