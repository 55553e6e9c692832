//! The parts of the gateway's public JSON that the shop sends and reads. Reading is lenient
//! about fields the shop does not use (the gateway may add some); what it uses is typed.

use crate::secret::Secret;
use paygate_wire::intent::IntentStatus;
use paygate_wire::money::Currency;
use serde::{Deserialize, Serialize};

/// `POST /v1/payment_intents`.
#[derive(Debug, Serialize)]
pub struct NewIntent<'a> {
    pub amount: i64,
    pub currency: Currency,
    pub merchant_order_id: &'a str,
    pub order_name: &'a str,
    pub customer_name: &'a str,
    pub confirm_mode: &'static str,
    /// Where the gateway sends the customer back (`{shop}/orders/{id}/return`).
    pub return_url: &'a str,
}

/// A payment intent as the API, and a webhook's `data`, show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Intent {
    pub id: String,
    pub status: IntentStatus,
    pub amount: i64,
    pub currency: Currency,
    pub merchant_order_id: String,
}

/// The create reply: the intent and its client secret (in this reply only).
#[derive(Debug, Deserialize)]
pub struct CreatedIntent {
    #[serde(flatten)]
    pub intent: Intent,
    #[serde(deserialize_with = "secret")]
    pub client_secret: Secret,
}

#[derive(Debug, Serialize)]
pub struct Confirm {
    pub amount: i64,
}

#[derive(Debug, Serialize)]
pub struct Cancel<'a> {
    pub cancellation_reason: &'a str,
}

#[derive(Debug, Serialize)]
pub struct NewRefund<'a> {
    pub payment_intent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    pub reason: &'a str,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub amount: i64,
}

#[derive(Debug, Serialize)]
pub struct NewWebhookEndpoint<'a> {
    pub url: &'a str,
    pub enabled_events: &'a [&'a str],
}

#[derive(Debug, Serialize, Default)]
pub struct WebhookEndpointUpdate<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct RotateSecret {
    pub overlap_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// `enabled` or `disabled`.
    pub status: String,
    /// `whsec_...`: only in the replies that create the endpoint or rotate its secret.
    #[serde(default, deserialize_with = "optional_secret")]
    pub secret: Option<Secret>,
}

#[derive(Debug, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
}

/// The body of every gateway error.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

fn optional_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}
