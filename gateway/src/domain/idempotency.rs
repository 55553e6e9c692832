//! Idempotency keys: what a request that carries one owns, and what is saved under it.
//!
//! A request's work is a few atomic phases. Each phase that commits an effect records, in the same
//! transaction, what the key says next: where a retry resumes ([`Resume`]) while the work is under
//! way, or the request's answer ([`SavedAnswer`]) with its last effect. So a crash or a lost
//! connection between any commit and the response can neither repeat the work nor lose its
//! answer: a retry after the lease finds the answer, or finishes the work from the checkpoint.
//!
//! The answer is saved as typed data (the object and how it was shown) and rendered again for a
//! replay; no response text is stored or edited. A client secret is derived again from the
//! intent's id, never stored; a new webhook secret is kept sealed.

use super::intent::PaymentIntent;
use super::refund::Refund;
use super::wallet::Wallet;
use super::webhook::{WebhookDelivery, WebhookEndpoint};
use super::Scope;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Which request an Idempotency-Key belongs to: its owner (a merchant, or on the wallet API a
/// customer), mode, method, path and the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyScope {
    pub owner: String,
    pub livemode: bool,
    pub method: String,
    pub path: String,
    pub key: String,
}

/// A request's hold on its key: proves ownership (the lease token) to every phase that records
/// under it, and tells the idempotency layer when the answer was saved with the work.
#[derive(Debug, Clone)]
pub struct KeyLease {
    pub scope: IdempotencyScope,
    pub token: String,
    answered: Arc<AtomicBool>,
}

impl KeyLease {
    pub fn new(scope: IdempotencyScope, token: String) -> Self {
        Self { scope, token, answered: Arc::new(AtomicBool::new(false)) }
    }

    /// The request's answer is saved under the key (set after the commit that saved it).
    pub fn mark_answered(&self) {
        self.answered.store(true, Ordering::SeqCst);
    }

    pub fn is_answered(&self) -> bool {
        self.answered.load(Ordering::SeqCst)
    }
}

/// A request with a key, as its work carries it: the lease, and how its answer is shown.
#[derive(Debug, Clone)]
pub struct Keyed {
    pub lease: KeyLease,
    pub finish: Finish,
}

/// What a phase records under the key, in its own transaction.
#[derive(Debug, Clone, Copy)]
pub enum KeyStep<'a> {
    /// The work goes on after this phase; a retry resumes from here.
    Checkpoint(&'a Keyed, &'a Resume),
    /// This phase ends the work: its object is the request's answer.
    Finish(&'a Keyed),
}

/// Where a retry of a request cut off mid-way picks up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resume {
    /// The intent left for `processing` on this request (an approval or a confirm): finish it,
    /// then answer with it. An approval keeps how the customer pays: when the processor never
    /// heard of it (the request died before asking), the retry asks it then, under the same
    /// reference, instead of failing a payment the customer approved.
    Intent {
        merchant_id: String,
        livemode: bool,
        intent_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authorize_with: Option<crate::connector::PaymentMethod>,
    },
    /// The refund was reserved on this request: settle it, then answer with it.
    Refund { merchant_id: String, livemode: bool, refund_id: String },
}

impl Resume {
    pub fn intent(scope: &Scope, intent_id: &str) -> Self {
        Resume::Intent { merchant_id: scope.merchant_id.clone(), livemode: scope.livemode, intent_id: intent_id.to_owned(), authorize_with: None }
    }

    /// An approval's checkpoint: the intent, and how the customer pays.
    pub fn approval(scope: &Scope, intent_id: &str, method: &crate::connector::PaymentMethod) -> Self {
        Resume::Intent {
            merchant_id: scope.merchant_id.clone(),
            livemode: scope.livemode,
            intent_id: intent_id.to_owned(),
            authorize_with: Some(method.clone()),
        }
    }

    pub fn refund(scope: &Scope, refund_id: &str) -> Self {
        Resume::Refund { merchant_id: scope.merchant_id.clone(), livemode: scope.livemode, refund_id: refund_id.to_owned() }
    }
}

/// How the request's answer is shown: its HTTP status and its view of the object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finish {
    pub status: u16,
    pub view: View,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum View {
    /// The object as the API shows it.
    Object,
    /// A new payment intent with its client secret (derived again from its id).
    CreatedIntent,
    /// A webhook endpoint with its new secret (saved sealed, opened again for a replay).
    EndpointWithSecret,
    /// An approval as the customer's phone sees it (the wallet API).
    Approval { code: String, merchant_name: String },
    /// A wallet as a funding source (the wallet API).
    FundingSource,
}

impl Finish {
    pub fn new(status: u16, view: View) -> Self {
        Self { status, view }
    }

    /// `200` with the object.
    pub fn ok() -> Self {
        Self::new(200, View::Object)
    }

    pub fn answer(&self, object: Saved) -> SavedAnswer {
        SavedAnswer { status: self.status, view: self.view.clone(), object }
    }
}

/// The object a request answered with.
// Short-lived, one per request: not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "object_type", rename_all = "snake_case")]
pub enum Saved {
    PaymentIntent { intent: PaymentIntent },
    Refund { refund: Refund },
    /// `sealed_secret` is the endpoint's new secret as stored (sealed).
    WebhookEndpoint { endpoint: WebhookEndpoint, sealed_secret: Option<String> },
    WebhookDelivery { delivery: WebhookDelivery },
    Wallet { wallet: Wallet },
    /// A refusal: the API error's code, message and parameter.
    Error { code: String, message: String, param: Option<String> },
}

/// A request's answer, saved under its key and rendered again for each replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedAnswer {
    pub status: u16,
    pub view: View,
    pub object: Saved,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_answer_and_a_resume_point_read_back_as_they_were_written() {
        let answer = Finish::new(422, View::Object).answer(Saved::Error {
            code: "idempotency_key_reused".into(),
            message: "m".into(),
            param: Some("Idempotency-Key".into()),
        });
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(serde_json::from_str::<SavedAnswer>(&text).unwrap(), answer);
        let resume = Resume::refund(&Scope { merchant_id: "mer_1".into(), livemode: true }, "re_1");
        let text = serde_json::to_string(&resume).unwrap();
        assert_eq!(serde_json::from_str::<Resume>(&text).unwrap(), resume);
    }

    #[test]
    fn the_answer_mark_is_shared_by_every_clone_of_a_lease() {
        let scope = IdempotencyScope { owner: "mer_1".into(), livemode: false, method: "POST".into(), path: "/v1/x".into(), key: "k".into() };
        let lease = KeyLease::new(scope, "t".into());
        let carried = lease.clone();
        assert!(!lease.is_answered());
        carried.mark_answered();
        assert!(lease.is_answered());
    }
}
