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
