//! A merchant: the account that owns keys, intents, refunds and events.

use crate::clock::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub id: String,
    pub name: String,
    pub created_at: Millis,
}
