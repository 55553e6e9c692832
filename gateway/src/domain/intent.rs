//! Payment intents: what a merchant asks to be paid, and the state machine it moves through.

use super::money::{Amount, AmountError, Currency};
pub use paygate_wire::intent::{ConfirmMode, FailureReason, IntentStatus, NextAction, PaymentIntent, PublicPaymentIntent};
use super::{text_field, ValidationError};
use crate::clock::Millis;
use std::collections::BTreeMap;

pub const DEFAULT_EXPIRY_MINUTES: i64 = 15;
pub const MAX_EXPIRY_MINUTES: i64 = 60;
/// How long a merchant has to confirm a manually confirmed intent after the customer approved it.
pub const CONFIRM_WINDOW_MINUTES: i64 = 10;

/// A validated request to create an intent.
#[derive(Debug, Clone)]
pub struct NewIntent {
    pub amount: Amount,
    pub currency: Currency,
    pub merchant_order_id: String,
    pub order_name: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub confirm_mode: ConfirmMode,
    pub expires_in_minutes: i64,
    pub metadata: BTreeMap<String, String>,
    /// Where the approval page sends the customer's phone after the outcome.
    pub return_url: Option<ReturnUrl>,
}

/// The raw fields of a create request, before validation.
pub struct NewIntentInput<'a> {
    pub amount: i64,
    pub currency: &'a str,
    pub merchant_order_id: &'a str,
    pub order_name: &'a str,
    pub customer_name: &'a str,
    pub customer_email: Option<&'a str>,
    pub confirm_mode: Option<ConfirmMode>,
    pub expires_in_minutes: Option<i64>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub return_url: Option<&'a str>,
}

pub fn parse_amount(minor_units: i64) -> Result<Amount, ValidationError> {
    Amount::parse(minor_units).map_err(|e| match e {
        AmountError::NotPositive => ValidationError::new("amount_invalid", "amount", e.to_string()),
        AmountError::TooLarge => ValidationError::new("amount_too_large", "amount", e.to_string()),
    })
}

pub fn parse_currency(code: &str) -> Result<Currency, ValidationError> {
    code.parse().map_err(|()| {
        ValidationError::new(
            "currency_invalid",
            "currency",
            format!("`{code}` is not a supported ISO 4217 currency (KRW, USD, EUR, JPY, GBP, CNY, SGD)"),
        )
    })
}

impl NewIntent {
    pub fn parse(input: NewIntentInput<'_>) -> Result<Self, ValidationError> {
        let amount = parse_amount(input.amount)?;
        let currency = parse_currency(input.currency)?;
        let expires_in_minutes = input.expires_in_minutes.unwrap_or(DEFAULT_EXPIRY_MINUTES);
        if !(1..=MAX_EXPIRY_MINUTES).contains(&expires_in_minutes) {
            return Err(ValidationError::new(
                "expiry_invalid",
                "expires_in_minutes",
                format!("expires_in_minutes must be between 1 and {MAX_EXPIRY_MINUTES}"),
            ));
        }
        let customer_email = input.customer_email.map(parse_email).transpose()?;
        Ok(Self {
            amount,
            currency,
            merchant_order_id: text_field(input.merchant_order_id, "merchant_order_id", 64)?,
            order_name: text_field(input.order_name, "order_name", 200)?,
            customer_name: text_field(input.customer_name, "customer_name", 100)?,
            customer_email,
            confirm_mode: input.confirm_mode.unwrap_or(ConfirmMode::Automatic),
            expires_in_minutes,
            metadata: parse_metadata(input.metadata.unwrap_or_default())?,
            return_url: input.return_url.map(ReturnUrl::parse).transpose()?,
        })
    }
}

/// A merchant page the customer's phone returns to after the outcome: `https`, or `http` on the
/// merchant's own machine (`localhost`, `127.0.0.1`, `[::1]`) for development. No credentials in
/// it, at most 2,048 characters. The approval page adds `payment_intent` and
/// `payment_intent_client_secret` to its query, for the SDK's `resume()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrl(String);

pub const MAX_RETURN_URL_CHARS: usize = 2048;

impl ReturnUrl {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = |why: &str| ValidationError::new("return_url_invalid", "return_url", format!("return_url {why}"));
        if raw.chars().count() > MAX_RETURN_URL_CHARS {
            return Err(invalid("must be at most 2048 characters"));
        }
        let url = url::Url::parse(raw.trim()).map_err(|_| invalid("must be an absolute URL"))?;
        let local = matches!(url.host(), Some(url::Host::Domain("localhost")))
            || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
        match url.scheme() {
            "https" if url.host().is_some() => {}
            "http" if local => {}
            _ => return Err(invalid("must use https (http only for localhost)")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry credentials"));
        }
        let text = url.to_string();
        if text.chars().count() > MAX_RETURN_URL_CHARS {
            return Err(invalid("must be at most 2048 characters"));
        }
        Ok(Self(text))
    }

    /// A stored value, validated when it was saved.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This URL with the intent named in its query, where the merchant's return page (the SDK's
    /// `resume()`) reads it.
    pub fn for_intent(&self, intent_id: &str, client_secret: &str) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) => {
                url.query_pairs_mut().append_pair("payment_intent", intent_id).append_pair("payment_intent_client_secret", client_secret);
                url.to_string()
            }
            Err(_) => self.0.clone(),
        }
    }
}

fn parse_email(raw: &str) -> Result<String, ValidationError> {
    let email = raw.trim();
    let invalid = || ValidationError::new("email_invalid", "customer_email", "customer_email is not a valid email address");
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && raw.chars().count() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if plausible { Ok(email.to_owned()) } else { Err(invalid()) }
}

fn parse_metadata(metadata: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ValidationError> {
    if metadata.len() > 50 {
        return Err(ValidationError::new("metadata_invalid", "metadata", "metadata holds at most 50 keys"));
    }
    for (key, value) in &metadata {
        if key.is_empty() || key.chars().count() > 40 {
            return Err(ValidationError::new("metadata_invalid", "metadata", "metadata keys must be 1 to 40 characters"));
        }
        if value.chars().count() > 500 {
            return Err(ValidationError::new("metadata_invalid", "metadata", "metadata values must be at most 500 characters"));
        }
        if key.chars().any(char::is_control) || value.chars().any(char::is_control) {
            return Err(ValidationError::new("metadata_invalid", "metadata", "metadata keys and values must not contain control characters"));
        }
    }
    Ok(metadata)
}

/// One move of the state machine. Each is applied as a compare-and-set from
/// [`IntentTransition::allowed_from`] and appends exactly one event.
///
/// `requires_action -> processing -> succeeded | failed`, with manual confirmation
/// `processing -> requires_confirmation -> processing -> succeeded`; `requires_action` and
/// `requires_confirmation` may end `canceled` or `expired`; refunds then move a succeeded intent
/// to `partially_refunded` and `refunded`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentTransition {
    /// The customer approved; the connector is being asked. `customer` is the wallet account
    /// that approved, when one did.
    StartProcessing { connector: String, customer: Option<String> },
    /// Manual mode: authorized, waiting for the merchant's confirm.
    RequireConfirmation { connector_ref: String, confirm_deadline: Millis },
    /// Manual mode: the merchant confirmed; the capture is in flight.
    StartCapture,
    /// Money captured: writes the `payment` transaction and its ledger postings.
    Capture { connector_ref: String },
    /// The connector refused, or could not be reached, while processing.
    Fail { reason: FailureReason },
    /// The customer declined on the approval page.
    Decline { customer: Option<String> },
    /// Writes a `cancel` transaction.
    Cancel { reason: Option<String> },
    Expire,
}

impl IntentTransition {
    pub fn allowed_from(&self) -> &'static [IntentStatus] {
        use IntentStatus::*;
        match self {
            IntentTransition::StartProcessing { .. } => &[RequiresAction],
            IntentTransition::RequireConfirmation { .. } => &[Processing],
            IntentTransition::StartCapture => &[RequiresConfirmation],
            IntentTransition::Capture { .. } => &[Processing],
            IntentTransition::Fail { .. } => &[Processing],
            IntentTransition::Decline { .. } => &[RequiresAction],
            IntentTransition::Cancel { .. } => &[RequiresAction, RequiresConfirmation],
            IntentTransition::Expire => &[RequiresAction, RequiresConfirmation],
        }
    }

    pub fn target(&self) -> IntentStatus {
        match self {
            IntentTransition::StartProcessing { .. } => IntentStatus::Processing,
            IntentTransition::RequireConfirmation { .. } => IntentStatus::RequiresConfirmation,
            IntentTransition::StartCapture => IntentStatus::Processing,
            IntentTransition::Capture { .. } => IntentStatus::Succeeded,
            IntentTransition::Fail { .. } | IntentTransition::Decline { .. } => IntentStatus::Failed,
            IntentTransition::Cancel { .. } => IntentStatus::Canceled,
            IntentTransition::Expire => IntentStatus::Expired,
        }
    }
}

/// What a transition writes on the intent row besides its status; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransitionRecord {
    pub connector: Option<String>,
    pub connector_ref: Option<String>,
    pub failure: Option<FailureReason>,
    pub cancellation_reason: Option<String>,
    pub confirm_deadline: Option<Millis>,
    /// The wallet customer who approved or declined.
    pub customer: Option<String>,
    /// The whole amount is captured (`amount_captured = amount`), with its `payment`
    /// transaction and ledger postings.
    pub captures: bool,
    /// A `cancel` transaction is written (no money moves).
    pub cancels: bool,
}

impl IntentTransition {
    pub fn record(&self) -> TransitionRecord {
        match self {
            IntentTransition::StartProcessing { connector, customer } => {
                TransitionRecord { connector: Some(connector.clone()), customer: customer.clone(), ..Default::default() }
            }
            IntentTransition::RequireConfirmation { connector_ref, confirm_deadline } => TransitionRecord {
                connector_ref: Some(connector_ref.clone()),
                confirm_deadline: Some(*confirm_deadline),
                ..Default::default()
            },
            IntentTransition::StartCapture | IntentTransition::Expire => TransitionRecord::default(),
            IntentTransition::Capture { connector_ref } => {
                TransitionRecord { connector_ref: Some(connector_ref.clone()), captures: true, ..Default::default() }
            }
            IntentTransition::Fail { reason } => TransitionRecord { failure: Some(*reason), ..Default::default() },
            IntentTransition::Decline { customer } => {
                TransitionRecord { failure: Some(FailureReason::CustomerDeclined), customer: customer.clone(), ..Default::default() }
            }
            IntentTransition::Cancel { reason } => {
                TransitionRecord { cancellation_reason: reason.clone(), cancels: true, ..Default::default() }
            }
        }
    }
}

/// The event type announcing that an intent reached `status`.
pub fn event_type_for(status: IntentStatus) -> String {
    format!("payment_intent.{}", status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NewIntentInput<'static> {
        NewIntentInput {
            amount: 12_000,
            currency: "KRW",
            merchant_order_id: "order-1",
            order_name: "Coffee beans",
            customer_name: "Kim Minji",
            customer_email: Some("minji@example.com"),
            confirm_mode: None,
            expires_in_minutes: None,
            metadata: None,
            return_url: None,
        }
    }

    #[test]
    fn a_valid_request_gets_the_documented_defaults() {
        let intent = NewIntent::parse(input()).unwrap();
        assert_eq!(intent.expires_in_minutes, 15);
        assert_eq!(intent.confirm_mode, ConfirmMode::Automatic);
    }

    #[test]
    fn each_bad_field_is_refused_with_its_own_code_and_param() {
        let cases: Vec<(NewIntentInput<'static>, &str, &str)> = vec![
            (NewIntentInput { amount: 0, ..input() }, "amount_invalid", "amount"),
            (NewIntentInput { currency: "ABC", ..input() }, "currency_invalid", "currency"),
            (NewIntentInput { expires_in_minutes: Some(61), ..input() }, "expiry_invalid", "expires_in_minutes"),
            (NewIntentInput { expires_in_minutes: Some(0), ..input() }, "expiry_invalid", "expires_in_minutes"),
            (NewIntentInput { customer_name: "  ", ..input() }, "parameter_missing", "customer_name"),
            (NewIntentInput { customer_email: Some("nope"), ..input() }, "email_invalid", "customer_email"),
            (NewIntentInput { metadata: Some([("k".to_owned(), "a\u{0}b".to_owned())].into()), ..input() }, "metadata_invalid", "metadata"),
            (NewIntentInput { metadata: Some([("k\u{1b}".to_owned(), "v".to_owned())].into()), ..input() }, "metadata_invalid", "metadata"),
            (NewIntentInput { metadata: Some([("k".to_owned(), "line\r\nbreak".to_owned())].into()), ..input() }, "metadata_invalid", "metadata"),
            (NewIntentInput { return_url: Some("http://shop.example.com/done"), ..input() }, "return_url_invalid", "return_url"),
            (NewIntentInput { return_url: Some("javascript:alert(1)"), ..input() }, "return_url_invalid", "return_url"),
            (NewIntentInput { return_url: Some("/orders/1"), ..input() }, "return_url_invalid", "return_url"),
            (NewIntentInput { return_url: Some("https://user:pw@shop.example.com/"), ..input() }, "return_url_invalid", "return_url"),
        ];
        for (case, code, param) in cases {
            let err = NewIntent::parse(case).unwrap_err();
            assert_eq!((err.code, err.param), (code, param));
        }
    }

    #[test]
    fn a_return_url_is_https_or_a_local_development_address() {
        for ok in ["https://shop.example.com/orders/1/return?x=1", "http://localhost:8081/return", "http://127.0.0.1:9/r", "http://[::1]/r"] {
            assert!(ReturnUrl::parse(ok).is_ok(), "{ok}");
        }
        let long = format!("https://shop.example.com/{}", "a".repeat(MAX_RETURN_URL_CHARS));
        assert_eq!(ReturnUrl::parse(&long).unwrap_err().code, "return_url_invalid");
    }

    #[test]
    fn the_return_url_names_the_intent_and_keeps_the_merchants_own_query() {
        let url = ReturnUrl::parse("https://shop.example.com/return?order=7").unwrap();
        assert_eq!(
            url.for_intent("pi_1", "pi_1_secret_x"),
            "https://shop.example.com/return?order=7&payment_intent=pi_1&payment_intent_client_secret=pi_1_secret_x"
        );
    }

    #[test]
    fn every_failure_reason_round_trips_through_its_code() {
        for reason in FailureReason::ALL {
            assert_eq!(FailureReason::parse(reason.code()), Some(reason));
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.code());
        }
    }

    #[test]
    fn only_a_capture_moves_money_and_only_a_decline_names_the_customer_as_the_reason() {
        assert!(IntentTransition::Capture { connector_ref: "r".into() }.record().captures);
        assert!(!IntentTransition::StartCapture.record().captures);
        assert!(IntentTransition::Cancel { reason: None }.record().cancels);
        assert_eq!(IntentTransition::Decline { customer: None }.record().failure, Some(FailureReason::CustomerDeclined));
    }

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in IntentStatus::ALL {
            assert_eq!(IntentStatus::parse(status.as_str()), Some(status));
        }
    }
}
