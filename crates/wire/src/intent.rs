//! A payment intent as the API, its events, webhooks and the SDK show it: statuses, what the
//! customer does next, and why a payment failed.

use crate::money::{Amount, Currency};
use crate::time::{rfc3339, Millis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    RequiresAction,
    Processing,
    RequiresConfirmation,
    Succeeded,
    PartiallyRefunded,
    Refunded,
    Failed,
    Canceled,
    Expired,
}

impl IntentStatus {
    pub const ALL: [IntentStatus; 9] = [
        IntentStatus::RequiresAction,
        IntentStatus::Processing,
        IntentStatus::RequiresConfirmation,
        IntentStatus::Succeeded,
        IntentStatus::PartiallyRefunded,
        IntentStatus::Refunded,
        IntentStatus::Failed,
        IntentStatus::Canceled,
        IntentStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::RequiresAction => "requires_action",
            IntentStatus::Processing => "processing",
            IntentStatus::RequiresConfirmation => "requires_confirmation",
            IntentStatus::Succeeded => "succeeded",
            IntentStatus::PartiallyRefunded => "partially_refunded",
            IntentStatus::Refunded => "refunded",
            IntentStatus::Failed => "failed",
            IntentStatus::Canceled => "canceled",
            IntentStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Captured money that refunds may draw from.
    pub fn is_refundable(self) -> bool {
        matches!(self, IntentStatus::Succeeded | IntentStatus::PartiallyRefunded)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConfirmMode {
    /// Captured as soon as the customer approves.
    Automatic,
    /// The merchant server must call confirm with the amount within ten minutes of approval.
    Manual,
}

impl ConfirmMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmMode::Automatic => "automatic",
            ConfirmMode::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "automatic" => Some(ConfirmMode::Automatic),
            "manual" => Some(ConfirmMode::Manual),
            _ => None,
        }
    }
}

/// What the customer must do next: open this URL (it is also the QR payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextAction {
    /// Always `open_url`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTPS URL the customer's phone opens, by QR scan or deep link. An installed wallet
    /// app may claim it (universal link, app link).
    pub url: String,
    /// The same approval in the wallet app's own scheme (`paygate://p/{code}`), for app-to-app.
    pub app_url: String,
    /// Android: opens the wallet app, or `url` in the browser when it is not installed.
    pub android_intent_url: String,
    /// An SVG QR code of `url`, for checkouts without the SDK.
    pub qr_code_url: String,
}

/// A payment intent as the API, events and webhooks show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentIntent {
    pub id: String,
    /// Always `payment_intent`.
    pub object: String,
    pub livemode: bool,
    pub status: IntentStatus,
    /// Minor units of `currency` (KRW has none: 12000 is ₩12,000; USD 1200 is $12.00).
    pub amount: Amount,
    pub currency: Currency,
    pub amount_captured: i64,
    /// Refunded or being refunded.
    pub amount_refunded: i64,
    pub merchant_order_id: String,
    pub order_name: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub confirm_mode: ConfirmMode,
    pub metadata: BTreeMap<String, String>,
    /// Present while the intent waits for the customer.
    pub next_action: Option<NextAction>,
    /// The connector that moved (or tried to move) the money.
    pub connector: Option<String>,
    pub failure_code: Option<FailureReason>,
    pub failure_message: Option<String>,
    pub cancellation_reason: Option<String>,
    /// Where the approval page sends the customer's phone after the outcome.
    pub return_url: Option<String>,
    #[serde(with = "rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
    #[serde(with = "rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Millis,
    /// For manual confirmation: the intent is voided if not confirmed by then.
    #[serde(with = "rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub confirm_deadline: Option<Millis>,
}

/// Why the payment failed (`failure_code`); `failure_message` says it for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The customer declined on the approval page.
    CustomerDeclined,
    CardDeclined,
    InsufficientFunds,
    InvalidCard,
    /// The funding source cannot pay this payment (another currency, or it no longer exists).
    FundingSourceUnusable,
    /// The processor could not be reached; nothing was authorized.
    ProcessorUnavailable,
    /// The approval was cut off before the processor answered; nothing was captured.
    ProcessingInterrupted,
    /// The processor refused the capture; nothing was captured.
    CaptureFailed,
}

impl FailureReason {
    pub const ALL: [FailureReason; 8] = [
        FailureReason::CustomerDeclined,
        FailureReason::CardDeclined,
        FailureReason::InsufficientFunds,
        FailureReason::InvalidCard,
        FailureReason::FundingSourceUnusable,
        FailureReason::ProcessorUnavailable,
        FailureReason::ProcessingInterrupted,
        FailureReason::CaptureFailed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FailureReason::CustomerDeclined => "customer_declined",
            FailureReason::CardDeclined => "card_declined",
            FailureReason::InsufficientFunds => "insufficient_funds",
            FailureReason::InvalidCard => "invalid_card",
            FailureReason::FundingSourceUnusable => "funding_source_unusable",
            FailureReason::ProcessorUnavailable => "processor_unavailable",
            FailureReason::ProcessingInterrupted => "processing_interrupted",
            FailureReason::CaptureFailed => "capture_failed",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// For a person: the intent's `failure_message`.
    pub fn message(self) -> &'static str {
        match self {
            FailureReason::CustomerDeclined => "The customer declined the payment.",
            FailureReason::CardDeclined => "The card was declined.",
            FailureReason::InsufficientFunds => "The card has insufficient funds.",
            FailureReason::InvalidCard => "The card number is not valid.",
            FailureReason::FundingSourceUnusable => "This funding source cannot pay this payment.",
            FailureReason::ProcessorUnavailable => "The processor could not be reached.",
            FailureReason::ProcessingInterrupted => "The approval was interrupted before the processor answered; nothing was captured.",
            FailureReason::CaptureFailed => "The processor refused the capture.",
        }
    }
}


/// What a checkout page may see of an intent, with the publishable key and the intent's client
/// secret (the SDK's status read and its per-intent stream): enough to show and follow the
/// payment, nothing about the customer or the merchant's own records (no customer name or email,
/// order id, metadata or return URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicPaymentIntent {
    pub id: String,
    /// Always `payment_intent`.
    pub object: String,
    pub livemode: bool,
    pub status: IntentStatus,
    /// Minor units of `currency`.
    pub amount: Amount,
    pub currency: Currency,
    /// Shown to the customer.
    pub order_name: String,
    pub confirm_mode: ConfirmMode,
    /// Present while the intent waits for the customer.
    pub next_action: Option<NextAction>,
    pub failure_code: Option<FailureReason>,
    pub failure_message: Option<String>,
    #[serde(with = "rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
    #[serde(with = "rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Millis,
}

impl From<&PaymentIntent> for PublicPaymentIntent {
    fn from(i: &PaymentIntent) -> Self {
        Self {
            id: i.id.clone(),
            object: i.object.clone(),
            livemode: i.livemode,
            status: i.status,
            amount: i.amount,
            currency: i.currency,
            order_name: i.order_name.clone(),
            confirm_mode: i.confirm_mode,
            next_action: i.next_action.clone(),
            failure_code: i.failure_code,
            failure_message: i.failure_message.clone(),
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}
