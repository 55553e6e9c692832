//! Row shapes shared by both engines, and their conversion into domain types.

use super::StoreError;
use crate::domain::event::Event;
use crate::domain::intent::{ConfirmMode, IntentStatus, NextAction, PaymentIntent};
use crate::domain::keys::{ApiKeyRecord, KeyHash, KeyKind};
use crate::domain::merchant::Merchant;
use crate::domain::money::Currency;
use crate::domain::refund::{Refund, RefundStatus};
use crate::domain::transaction::{Transaction, TransactionStatus, TransactionType};
use crate::domain::Scope;

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value}"))
}

fn currency(code: &str) -> Result<Currency, StoreError> {
    code.parse().map_err(|()| corrupt("currency", code))
}

pub const MERCHANT_COLUMNS: &str = "id, name, created_at";

#[derive(sqlx::FromRow)]
pub struct MerchantRow {
    id: String,
    name: String,
    created_at: i64,
}

impl From<MerchantRow> for Merchant {
    fn from(r: MerchantRow) -> Self {
        Merchant { id: r.id, name: r.name, created_at: r.created_at }
    }
}

pub const KEY_COLUMNS: &str =
    "id, merchant_id, kind, livemode, key_hash, display_prefix, created_at, expires_at, revoked_at";

#[derive(sqlx::FromRow)]
pub struct KeyRow {
    id: String,
    merchant_id: String,
    kind: String,
    livemode: bool,
    key_hash: String,
    display_prefix: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<KeyRow> for ApiKeyRecord {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        Ok(ApiKeyRecord {
            kind: KeyKind::parse(&r.kind).ok_or_else(|| corrupt("key kind", &r.kind))?,
            id: r.id,
            merchant_id: r.merchant_id,
            livemode: r.livemode,
            key_hash: KeyHash(r.key_hash),
            display_prefix: r.display_prefix,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        })
    }
}

pub const INTENT_COLUMNS: &str = "id, livemode, status, amount, currency, amount_captured, amount_refunded, \
    merchant_order_id, order_name, customer_name, customer_email, confirm_mode, metadata, approval_url, \
    approval_app_url, approval_intent_url, \
    connector, failure_code, failure_message, cancellation_reason, created_at, expires_at, confirm_deadline";

#[derive(sqlx::FromRow)]
pub struct IntentRow {
    id: String,
    livemode: bool,
    status: String,
    amount: i64,
    currency: String,
    amount_captured: i64,
    amount_refunded: i64,
    merchant_order_id: String,
    order_name: String,
    customer_name: String,
    customer_email: Option<String>,
    confirm_mode: String,
    metadata: String,
    approval_url: String,
    approval_app_url: String,
    approval_intent_url: String,
    connector: Option<String>,
    failure_code: Option<String>,
    failure_message: Option<String>,
    cancellation_reason: Option<String>,
    created_at: i64,
    expires_at: i64,
    confirm_deadline: Option<i64>,
}

impl TryFrom<IntentRow> for PaymentIntent {
    type Error = StoreError;
    fn try_from(r: IntentRow) -> Result<Self, StoreError> {
        let status = IntentStatus::parse(&r.status).ok_or_else(|| corrupt("intent status", &r.status))?;
        let next_action = (status == IntentStatus::RequiresAction)
            .then(|| NextAction {
            kind: "open_url".into(),
            qr_code_url: format!("{}/qr.svg", r.approval_url),
            url: r.approval_url.clone(),
            app_url: r.approval_app_url.clone(),
            android_intent_url: r.approval_intent_url.clone(),
        });
        Ok(PaymentIntent {
            object: "payment_intent".into(),
            status,
            currency: currency(&r.currency)?,
            confirm_mode: ConfirmMode::parse(&r.confirm_mode).ok_or_else(|| corrupt("confirm mode", &r.confirm_mode))?,
            metadata: serde_json::from_str(&r.metadata).map_err(|_| corrupt("metadata", &r.id))?,
            next_action,
            id: r.id,
            livemode: r.livemode,
            amount: r.amount,
            amount_captured: r.amount_captured,
            amount_refunded: r.amount_refunded,
            merchant_order_id: r.merchant_order_id,
            order_name: r.order_name,
            customer_name: r.customer_name,
            customer_email: r.customer_email,
            connector: r.connector,
            failure_code: r.failure_code,
            failure_message: r.failure_message,
            cancellation_reason: r.cancellation_reason,
            created_at: r.created_at,
            expires_at: r.expires_at,
            confirm_deadline: r.confirm_deadline,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct CustomerPaymentRow {
    #[sqlx(flatten)]
    intent: IntentRow,
    merchant_name: String,
}

impl TryFrom<CustomerPaymentRow> for super::CustomerPayment {
    type Error = StoreError;
    fn try_from(r: CustomerPaymentRow) -> Result<Self, StoreError> {
        Ok(super::CustomerPayment { merchant_name: r.merchant_name, intent: PaymentIntent::try_from(r.intent)? })
    }
}

/// An intent found by its approval code, with its owner and customer read in the same statement:
/// a status and a customer from two reads could straddle an approval's commit.
#[derive(sqlx::FromRow)]
pub struct CodedIntentRow {
    #[sqlx(flatten)]
    intent: IntentRow,
    merchant_id: String,
    merchant_name: String,
    customer_id: Option<String>,
}

impl TryFrom<CodedIntentRow> for super::CodedIntent {
    type Error = StoreError;
    fn try_from(r: CodedIntentRow) -> Result<Self, StoreError> {
        let intent = PaymentIntent::try_from(r.intent)?;
        let scope = Scope { merchant_id: r.merchant_id, livemode: intent.livemode };
        Ok(super::CodedIntent { scope, intent, merchant_name: r.merchant_name, customer_id: r.customer_id })
    }
}

pub const REFUND_COLUMNS: &str =
    "id, livemode, payment_intent_id, amount, currency, status, reason, failure_code, created_at";

#[derive(sqlx::FromRow)]
pub struct RefundRow {
    id: String,
    livemode: bool,
    payment_intent_id: String,
    amount: i64,
    currency: String,
    status: String,
    reason: Option<String>,
    failure_code: Option<String>,
    created_at: i64,
}

impl TryFrom<RefundRow> for Refund {
    type Error = StoreError;
    fn try_from(r: RefundRow) -> Result<Self, StoreError> {
        Ok(Refund {
            object: "refund".into(),
            currency: currency(&r.currency)?,
            status: RefundStatus::parse(&r.status).ok_or_else(|| corrupt("refund status", &r.status))?,
            id: r.id,
            livemode: r.livemode,
            payment_intent: r.payment_intent_id,
            amount: r.amount,
            reason: r.reason,
            failure_code: r.failure_code,
            created_at: r.created_at,
        })
    }
}

pub const TRANSACTION_COLUMNS: &str =
    "id, livemode, type, status, payment_intent_id, refund_id, amount, currency, customer_name, created_at";

#[derive(sqlx::FromRow)]
pub struct TransactionRow {
    id: String,
    livemode: bool,
    #[sqlx(rename = "type")]
    kind: String,
    status: String,
    payment_intent_id: String,
    refund_id: Option<String>,
    amount: i64,
    currency: String,
    customer_name: String,
    created_at: i64,
}

impl TryFrom<TransactionRow> for Transaction {
    type Error = StoreError;
    fn try_from(r: TransactionRow) -> Result<Self, StoreError> {
        Ok(Transaction {
            object: "transaction".into(),
            kind: TransactionType::parse(&r.kind).ok_or_else(|| corrupt("transaction type", &r.kind))?,
            status: TransactionStatus::parse(&r.status).ok_or_else(|| corrupt("transaction status", &r.status))?,
            currency: currency(&r.currency)?,
            id: r.id,
            livemode: r.livemode,
            payment_intent: r.payment_intent_id,
            refund: r.refund_id,
            amount: r.amount,
            customer_name: r.customer_name,
            created_at: r.created_at,
        })
    }
}

pub const EVENT_COLUMNS: &str = "id, livemode, seq, type, payload, created_at";

#[derive(sqlx::FromRow)]
pub struct EventRow {
    id: String,
    livemode: bool,
    seq: i64,
    #[sqlx(rename = "type")]
    kind: String,
    payload: String,
    created_at: i64,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(Event {
            object: "event".into(),
            data: serde_json::from_str(&r.payload).map_err(|_| corrupt("event payload", &r.id))?,
            id: r.id,
            livemode: r.livemode,
            sequence: r.seq,
            kind: r.kind,
            created_at: r.created_at,
        })
    }
}
