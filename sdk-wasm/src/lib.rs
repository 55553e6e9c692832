//! The web SDK's WebAssembly module: the part of `Paygate.pay()` that must agree with the server.
//! It follows the payment (the state machine of `paygate_wire::checkout`, fed the stream's frames
//! and the status reads), draws the QR code, writes amounts and the countdown the way the approval
//! page does, and holds the checkout's texts. The JS loader owns the page, the network and the
//! timers, and asks this module what to show.

mod json;
mod texts;

use paygate_wire::checkout::{Applied, Checkout, IntentEvent};
use paygate_wire::event::EVENT_TYPES;
use paygate_wire::intent::PublicPaymentIntent;
use paygate_wire::money::{Currency, Locale};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

pub use texts::Texts;

/// One payment being followed.
#[wasm_bindgen]
pub struct Payment {
    checkout: Checkout,
    locale: Locale,
}

/// Reads JSON the gateway sent into its wire type.
fn read<T: for<'a> Deserialize<'a>>(text: &str, what: &str) -> Result<T, JsError> {
    let mut scratch = vec![0u8; text.len()];
    serde_json_core::from_slice_escaped::<T>(text.as_bytes(), &mut scratch)
        .map(|(value, _)| value)
        .map_err(|_| JsError::new(what))
}

#[wasm_bindgen]
impl Payment {
    /// From the status read's JSON (`GET /v1/payment_intents/{id}?client_secret=...`).
    #[wasm_bindgen(constructor)]
    pub fn new(intent_json: &str, wait_for_confirmation: bool, locale: &str) -> Result<Payment, JsError> {
        let intent: PublicPaymentIntent = read(intent_json, "not a payment intent")?;
        Ok(Payment { checkout: Checkout::new(intent, wait_for_confirmation), locale: Locale::parse(locale) })
    }

    /// One event frame's data; `true` when what the checkout shows changed.
    pub fn apply_event(&mut self, event_json: &str) -> Result<bool, JsError> {
        let event: IntentEvent = read(event_json, "not an event of a payment intent")?;
        Ok(self.checkout.apply_event(event) == Applied::Changed)
    }

    /// A status read after a reconnect or a poll; `true` when it moved the payment forward.
    pub fn apply_status(&mut self, intent_json: &str) -> Result<bool, JsError> {
        let intent: PublicPaymentIntent = read(intent_json, "not a payment intent")?;
        Ok(self.checkout.apply_status(intent) == Applied::Changed)
    }

    pub fn outcome(&self) -> Option<String> {
        self.checkout.outcome().map(|o| o.as_str().to_owned())
    }

    pub fn last_event_id(&self) -> Option<String> {
        self.checkout.last_event_id().map(str::to_owned)
    }

    /// What to show, as JSON: `step`, `outcome` (the status `pay()` resolves with, or null),
    /// `status_text`, `amount`, `order_name`, `remaining` (`mm:ss`), `expires_at_ms`, and the
    /// links `url`, `app_url`, `android_intent_url` while the customer can still pay.
    pub fn view(&self, now_ms: f64) -> String {
        let intent = self.checkout.intent();
        let step = self.checkout.step();
        let next = intent.next_action.as_ref();
        json::Object::new()
            .str("step", step.as_str())
            .opt_str("outcome", self.checkout.outcome().map(|o| o.as_str()))
            .str("status_text", Texts::of(self.locale).step(step))
            .str("amount", &intent.currency.format(intent.amount.minor_units(), self.locale))
            .str("order_name", &intent.order_name)
            .str("remaining", &paygate_wire::time::mm_ss(intent.expires_at - now_ms as i64))
            .int("expires_at_ms", intent.expires_at)
            .opt_str("url", next.map(|n| n.url.as_str()))
            .opt_str("app_url", next.map(|n| n.app_url.as_str()))
            .opt_str("android_intent_url", next.map(|n| n.android_intent_url.as_str()))
            .finish()
    }

    /// The QR code of `next_action.url` as SVG, while the payment waits for the customer.
    pub fn qr_svg(&self) -> Option<String> {
        self.checkout.intent().next_action.as_ref().and_then(|n| paygate_wire::qr::svg(&n.url))
    }
}

/// An amount in minor units as people read it (`₩12,000`, `$12.00`).
#[wasm_bindgen]
pub fn format_amount(minor_units: f64, currency: &str, locale: &str) -> Result<String, JsError> {
    let currency: Currency = currency.parse().map_err(|()| JsError::new("unknown currency"))?;
    Ok(currency.format(minor_units as i64, Locale::parse(locale)))
}

/// An SVG QR code of any text, or `undefined` when it is too long for one.
#[wasm_bindgen]
pub fn qr_svg(text: &str) -> Option<String> {
    paygate_wire::qr::svg(text)
}

/// The checkout's texts in `locale` (`ko` or `en`), as JSON.
#[wasm_bindgen]
pub fn texts(locale: &str) -> String {
    Texts::of(Locale::parse(locale)).to_json()
}

/// The event types an intent's stream carries, comma-separated (an `EventSource` listens to each).
#[wasm_bindgen]
pub fn intent_event_types() -> String {
    EVENT_TYPES.iter().filter(|t| t.starts_with("payment_intent.")).copied().collect::<Vec<_>>().join(",")
}

/// The intent id a client secret belongs to, when it is shaped like one (`pi_..._secret_...`).
#[wasm_bindgen]
pub fn client_secret_intent(client_secret: &str) -> Option<String> {
    let (id, mac) = client_secret.split_once("_secret_")?;
    let well_formed = id.len() == 27
        && id.starts_with("pi_")
        && id[3..].bytes().all(|b| b.is_ascii_alphanumeric())
        && mac.len() == 40
        && mac.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| id.to_owned())
}

/// Whether a publishable key is shaped like one (`pk_test_` or `pk_live_`, 64 hex digits).
#[wasm_bindgen]
pub fn is_publishable_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("pk_test_").or_else(|| key.strip_prefix("pk_live_")) else { return false };
    rest.len() == 64 && rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_and_keys_are_checked_for_shape() {
        let id = "pi_whnimqZ5FKpLdhZRNPmrvqpE";
        assert_eq!(client_secret_intent(&format!("{id}_secret_272122afc7dd821a167af2b7418e82c7403bd7ef")).as_deref(), Some(id));
        assert_eq!(client_secret_intent("pi_x_secret_y"), None);
        assert!(is_publishable_key(&format!("pk_test_{}", "0a".repeat(32))));
        assert!(!is_publishable_key(&format!("sk_test_{}", "0a".repeat(32))));
    }

    #[test]
    fn the_intent_stream_types_are_the_payment_intent_ones() {
        let types = intent_event_types();
        assert!(types.contains("payment_intent.scanned") && !types.contains("refund."));
    }
}
