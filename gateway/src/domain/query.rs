//! What a list asks for: keyset pages and the filters of each list. Plain values, used by the
//! handlers, the services and the store alike.

use super::intent::IntentStatus;
use super::transaction::TransactionType;
use crate::clock::Millis;

/// Keyset position: the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The ordering position: creation time, or for events the sequence number.
    pub created_at: Millis,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl Page {
    /// The first `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }
}

#[derive(Debug, Clone, Default)]
pub struct IntentFilter {
    pub status: Option<IntentStatus>,
    pub customer_name: Option<String>,
    pub created_gte: Option<Millis>,
    pub created_lt: Option<Millis>,
}

#[derive(Debug, Clone, Default)]
pub struct TransactionFilter {
    pub kind: Option<TransactionType>,
    pub customer_name: Option<String>,
    pub created_gte: Option<Millis>,
    pub created_lt: Option<Millis>,
    pub payment_intent: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// One event type, or a family (`payment_intent.*`).
    pub kind: Option<String>,
    pub object_id: Option<String>,
    pub created_gte: Option<Millis>,
    pub created_lt: Option<Millis>,
}

#[derive(Debug, Clone, Default)]
pub struct RefundFilter {
    pub payment_intent: Option<String>,
}
