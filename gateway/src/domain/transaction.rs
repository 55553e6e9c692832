//! Transactions: one row per money movement (`payment`, `cancel`, `refund`), as the merchant sees them.

use super::money::{Amount, Currency};
use crate::clock::{rfc3339, Millis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionType {
    Payment,
    Cancel,
    Refund,
}

impl TransactionType {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionType::Payment => "payment",
            TransactionType::Cancel => "cancel",
            TransactionType::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "payment" => Some(TransactionType::Payment),
            "cancel" => Some(TransactionType::Cancel),
            "refund" => Some(TransactionType::Refund),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    Pending,
    Succeeded,
    Failed,
}

impl TransactionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Pending => "pending",
            TransactionStatus::Succeeded => "succeeded",
            TransactionStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(TransactionStatus::Pending),
            "succeeded" => Some(TransactionStatus::Succeeded),
            "failed" => Some(TransactionStatus::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Transaction {
    pub id: String,
    /// Always `transaction`.
    pub object: String,
    pub livemode: bool,
    #[serde(rename = "type")]
    pub kind: TransactionType,
    pub status: TransactionStatus,
    pub payment_intent: String,
    pub refund: Option<String>,
    /// Minor units; a cancel row carries the canceled intent's amount and moves no money.
    pub amount: Amount,
    pub currency: Currency,
    pub customer_name: String,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}
