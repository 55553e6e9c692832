//! One payment as a checkout page follows it: the intent from the status read, then each event of
//! the intent's stream, applied in `sequence` order with duplicates ignored and nothing applied
//! after the end. The web SDK runs this compiled to WebAssembly; the gateway's tests run it on
//! the host against the real stream, so the two cannot drift.

use serde::Deserialize;
use crate::intent::{IntentStatus, PublicPaymentIntent};

/// How a payment ended for the checkout: the status `pay()` resolves with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Manual confirmation: the merchant's server must confirm. Final only for a checkout that
    /// does not wait for the confirmation.
    RequiresConfirmation,
    Failed,
    Canceled,
    Expired,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RequiresConfirmation => "requires_confirmation",
            Outcome::Failed => "failed",
            Outcome::Canceled => "canceled",
            Outcome::Expired => "expired",
        }
    }
}

/// What the status line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The QR code or link is waiting for the customer.
    WaitingForScan,
    /// The customer opened the approval page (`payment_intent.scanned`).
    Scanned,
    /// The customer approved; the money is moving.
    Processing,
    /// Approved, waiting for the merchant's confirmation.
    Confirming,
    Ended(Outcome),
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::WaitingForScan => "waiting_for_scan",
            Step::Scanned => "scanned",
            Step::Processing => "processing",
            Step::Confirming => "confirming",
            Step::Ended(outcome) => outcome.as_str(),
        }
    }
}

/// What applying one piece of news did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The step or the intent changed.
    Changed,
    /// Already known (a replay after a reconnect, or an older status read).
    Stale,
    /// The payment had already ended.
    AfterEnd,
    /// Not about this intent.
    Foreign,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("not a payment intent: {0}")]
    NotAnIntent(String),
    #[error("not an event: {0}")]
    NotAnEvent(String),
}

/// An [`crate::event::Event`] of an intent's stream, whose `data` is the intent as the checkout
/// sees it: read straight into its type (no JSON tree on the way, which keeps the SDK small).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IntentEvent {
    pub id: String,
    pub sequence: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: PublicPaymentIntent,
}

#[derive(Debug, Clone)]
pub struct Checkout {
    intent: PublicPaymentIntent,
    scanned: bool,
    /// Whether `requires_confirmation` ends it, or the checkout waits for the merchant's confirm.
    wait_for_confirmation: bool,
    last_sequence: Option<i64>,
    last_event_id: Option<String>,
    ended: Option<Outcome>,
}

/// How far along a status is; news never moves a payment back.
fn rank(status: IntentStatus) -> u8 {
    match status {
        IntentStatus::RequiresAction => 0,
        IntentStatus::Processing => 1,
        IntentStatus::RequiresConfirmation => 2,
        IntentStatus::Succeeded
        | IntentStatus::PartiallyRefunded
        | IntentStatus::Refunded
        | IntentStatus::Failed
        | IntentStatus::Canceled
        | IntentStatus::Expired => 3,
    }
}

fn outcome_of(status: IntentStatus, wait_for_confirmation: bool) -> Option<Outcome> {
    match status {
        IntentStatus::RequiresAction | IntentStatus::Processing => None,
        IntentStatus::RequiresConfirmation if wait_for_confirmation => None,
        IntentStatus::RequiresConfirmation => Some(Outcome::RequiresConfirmation),
        IntentStatus::Succeeded | IntentStatus::PartiallyRefunded | IntentStatus::Refunded => Some(Outcome::Succeeded),
        IntentStatus::Failed => Some(Outcome::Failed),
        IntentStatus::Canceled => Some(Outcome::Canceled),
        IntentStatus::Expired => Some(Outcome::Expired),
    }
}

impl Checkout {
    pub fn new(intent: PublicPaymentIntent, wait_for_confirmation: bool) -> Self {
        let ended = outcome_of(intent.status, wait_for_confirmation);
        Self { intent, scanned: false, wait_for_confirmation, last_sequence: None, last_event_id: None, ended }
    }

    /// From the status read's JSON.
    pub fn from_json(text: &str, wait_for_confirmation: bool) -> Result<Self, CheckoutError> {
        let intent = serde_json::from_str(text).map_err(|e| CheckoutError::NotAnIntent(e.to_string()))?;
        Ok(Self::new(intent, wait_for_confirmation))
    }

    pub fn intent(&self) -> &PublicPaymentIntent {
        &self.intent
    }

    pub fn outcome(&self) -> Option<Outcome> {
        self.ended
    }

    /// The id to resume the stream after (`Last-Event-ID`).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    pub fn step(&self) -> Step {
        if let Some(outcome) = self.ended {
            return Step::Ended(outcome);
        }
        match self.intent.status {
            IntentStatus::RequiresAction if self.scanned => Step::Scanned,
            IntentStatus::RequiresAction => Step::WaitingForScan,
            IntentStatus::RequiresConfirmation => Step::Confirming,
            _ => Step::Processing,
        }
    }

    /// One frame of the intent's stream (the event's JSON).
    pub fn apply_event_json(&mut self, text: &str) -> Result<Applied, CheckoutError> {
        let event: IntentEvent = serde_json::from_str(text).map_err(|e| CheckoutError::NotAnEvent(e.to_string()))?;
        Ok(self.apply_event(event))
    }

    /// One event of the intent's stream, read as the stream sends it ([`IntentEvent`]).
    pub fn apply_event(&mut self, event: IntentEvent) -> Applied {
        if event.data.id != self.intent.id {
            return Applied::Foreign;
        }
        if self.last_sequence.is_some_and(|last| event.sequence <= last) {
            return Applied::Stale;
        }
        if self.ended.is_some() {
            return Applied::AfterEnd;
        }
        self.last_sequence = Some(event.sequence);
        self.last_event_id = Some(event.id);
        let before = self.step();
        if event.kind == "payment_intent.scanned" {
            self.scanned = true;
        }
        self.take(event.data);
        if self.step() != before { Applied::Changed } else { Applied::Stale }
    }

    /// A status read (after a reconnect, or a poll): applied only when it is further along.
    pub fn apply_status_json(&mut self, text: &str) -> Result<Applied, CheckoutError> {
        let intent: PublicPaymentIntent = serde_json::from_str(text).map_err(|e| CheckoutError::NotAnIntent(e.to_string()))?;
        Ok(self.apply_status(intent))
    }

    pub fn apply_status(&mut self, intent: PublicPaymentIntent) -> Applied {
        if intent.id != self.intent.id {
            return Applied::Foreign;
        }
        if self.ended.is_some() {
            return Applied::AfterEnd;
        }
        if rank(intent.status) <= rank(self.intent.status) {
            return Applied::Stale;
        }
        self.take(intent);
        Applied::Changed
    }

    fn take(&mut self, intent: PublicPaymentIntent) {
        if rank(intent.status) >= rank(self.intent.status) {
            self.intent = intent;
        }
        self.ended = outcome_of(self.intent.status, self.wait_for_confirmation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn intent(status: &str) -> serde_json::Value {
        json!({
            "id": "pi_1", "object": "payment_intent", "livemode": false, "status": status, "amount": 12000,
            "currency": "KRW", "order_name": "Beans", "confirm_mode": "automatic",
            "next_action": if status == "requires_action" { json!({"type": "open_url", "url": "https://pay.example/p/x",
                "app_url": "paygate://p/x", "android_intent_url": "intent://p/x#Intent;end", "qr_code_url": "https://pay.example/p/x/qr.svg"}) } else { json!(null) },
            "failure_code": null, "failure_message": null,
            "created_at": "2025-12-02T01:46:40.000Z", "expires_at": "2025-12-02T02:01:40.000Z",
        })
    }

    fn event(seq: i64, kind: &str, status: &str) -> String {
        json!({"id": format!("evt_{seq}"), "object": "event", "livemode": false, "sequence": seq, "type": kind,
               "data": intent(status), "created_at": "2025-12-02T01:46:41.000Z"})
        .to_string()
    }

    fn fresh() -> Checkout {
        Checkout::from_json(&intent("requires_action").to_string(), false).unwrap()
    }

    #[test]
    fn a_payment_moves_from_waiting_to_scanned_to_processing_to_succeeded() {
        let mut c = fresh();
        assert_eq!(c.step(), Step::WaitingForScan);
        assert_eq!(c.apply_event_json(&event(1, "payment_intent.created", "requires_action")).unwrap(), Applied::Stale);
        assert_eq!(c.apply_event_json(&event(2, "payment_intent.scanned", "requires_action")).unwrap(), Applied::Changed);
        assert_eq!(c.step(), Step::Scanned);
        assert_eq!(c.apply_event_json(&event(3, "payment_intent.processing", "processing")).unwrap(), Applied::Changed);
        assert_eq!(c.step(), Step::Processing);
        assert_eq!(c.apply_event_json(&event(4, "payment_intent.succeeded", "succeeded")).unwrap(), Applied::Changed);
        assert_eq!(c.outcome(), Some(Outcome::Succeeded));
        assert_eq!(c.last_event_id(), Some("evt_4"));
    }

    #[test]
    fn replayed_events_are_ignored_and_nothing_applies_after_the_end() {
        let mut c = fresh();
        c.apply_event_json(&event(5, "payment_intent.processing", "processing")).unwrap();
        assert_eq!(c.apply_event_json(&event(5, "payment_intent.processing", "processing")).unwrap(), Applied::Stale);
        assert_eq!(c.apply_event_json(&event(3, "payment_intent.scanned", "requires_action")).unwrap(), Applied::Stale);
        c.apply_event_json(&event(6, "payment_intent.failed", "failed")).unwrap();
        assert_eq!(c.outcome(), Some(Outcome::Failed));
        assert_eq!(c.apply_event_json(&event(7, "payment_intent.succeeded", "succeeded")).unwrap(), Applied::AfterEnd);
        assert_eq!(c.outcome(), Some(Outcome::Failed));
        assert_eq!(c.last_event_id(), Some("evt_6"));
    }

    #[test]
    fn a_status_read_only_moves_the_payment_forward() {
        let mut c = fresh();
        c.apply_event_json(&event(3, "payment_intent.processing", "processing")).unwrap();
        assert_eq!(c.apply_status_json(&intent("requires_action").to_string()).unwrap(), Applied::Stale);
        assert_eq!(c.step(), Step::Processing);
        assert_eq!(c.apply_status_json(&intent("succeeded").to_string()).unwrap(), Applied::Changed);
        assert_eq!(c.outcome(), Some(Outcome::Succeeded));
        // The stream's replay of what the read already told changes nothing.
        assert_eq!(c.apply_event_json(&event(4, "payment_intent.succeeded", "succeeded")).unwrap(), Applied::AfterEnd);
    }

    #[test]
    fn manual_confirmation_ends_at_requires_confirmation_unless_the_checkout_waits_for_it() {
        let mut c = fresh();
        c.apply_event_json(&event(2, "payment_intent.requires_confirmation", "requires_confirmation")).unwrap();
        assert_eq!(c.outcome(), Some(Outcome::RequiresConfirmation));
        let mut waiting = Checkout::from_json(&intent("requires_action").to_string(), true).unwrap();
        waiting.apply_event_json(&event(2, "payment_intent.requires_confirmation", "requires_confirmation")).unwrap();
        assert_eq!((waiting.step(), waiting.outcome()), (Step::Confirming, None));
        waiting.apply_event_json(&event(3, "payment_intent.succeeded", "succeeded")).unwrap();
        assert_eq!(waiting.outcome(), Some(Outcome::Succeeded));
    }

    #[test]
    fn refunded_counts_as_succeeded_and_other_intents_and_garbage_are_refused() {
        let mut c = fresh();
        let mut other = serde_json::from_str::<serde_json::Value>(&event(9, "payment_intent.succeeded", "succeeded")).unwrap();
        other["data"]["id"] = json!("pi_2");
        assert_eq!(c.apply_event_json(&other.to_string()).unwrap(), Applied::Foreign);
        assert!(c.apply_event_json("{nope").is_err());
        assert!(Checkout::from_json("[]", false).is_err());
        c.apply_event_json(&event(10, "payment_intent.partially_refunded", "partially_refunded")).unwrap();
        assert_eq!(c.outcome(), Some(Outcome::Succeeded));
    }
}
