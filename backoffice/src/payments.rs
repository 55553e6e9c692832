//! A payment as staff see it (the intent, its transactions, refunds, event timeline and the
//! webhook deliveries of those events) and what they may do to it: refund (full or partial, with
//! a reason) and cancel (before payment), through the core's services. A form carries a one-time
//! submit token that becomes the refund's idempotency key, so a double submit makes one refund.

use crate::accounts::SignedIn;
use crate::audit::Audited;
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::store::{DeliveryRow, Outcome};
use crate::transactions::parse_major_units;
use crate::Backoffice;
use gateway::domain::intent::IntentStatus;
use gateway::domain::query::{EventFilter, Page, RefundFilter, TransactionFilter};
use gateway::domain::refund::Refund;
use gateway::domain::transaction::Transaction;
use gateway::domain::{Scope, ValidationError};
use gateway::ids::IdKind;
use gateway::service::refunds::RefundRequest;
use gateway::service::ServiceError;
use std::sync::Arc;

/// Rows of each part of the detail page, at most.
const DETAIL_ROWS: u32 = 100;

pub struct PaymentDetail {
    pub intent: gateway::domain::intent::PaymentIntent,
    pub transactions: Vec<Transaction>,
    pub refunds: Vec<Refund>,
    /// Oldest first: the intent's and its refunds' events.
    pub events: Vec<gateway::domain::event::Event>,
    pub deliveries: Vec<DeliveryRow>,
}

impl Backoffice {
    /// The intent in the session's merchant, in whichever mode it lives; `NotFound` for
    /// another merchant's (as for one that does not exist).
    pub async fn find_intent(&self, who: &SignedIn, intent_id: &str) -> Result<(Scope, gateway::domain::intent::PaymentIntent), BackofficeError> {
        if !IdKind::PaymentIntent.is_well_formed(intent_id) {
            return Err(BackofficeError::NotFound);
        }
        self.in_either_mode(who, |scope| async move { self.services.get_intent(&scope, intent_id).await }).await
    }

    /// What `find` finds in the session's merchant, test mode first, then live; `NotFound` when
    /// neither has it (another merchant's object included).
    pub async fn in_either_mode<T, F, Fut>(&self, who: &SignedIn, find: F) -> Result<(Scope, T), BackofficeError>
    where
        F: Fn(Scope) -> Fut,
        Fut: std::future::Future<Output = Result<T, ServiceError>>,
    {
        for livemode in [false, true] {
            let scope = Scope { merchant_id: who.merchant_id.clone(), livemode };
            match find(scope.clone()).await {
                Ok(found) => return Ok((scope, found)),
                Err(ServiceError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BackofficeError::NotFound)
    }

    pub async fn payment_detail(&self, who: &SignedIn, intent_id: &str) -> Result<PaymentDetail, BackofficeError> {
        let (scope, intent) = self.find_intent(who, intent_id).await?;
        let transactions = self
            .services
            .list_transactions(&scope, &TransactionFilter { payment_intent: Some(intent.id.clone()), ..Default::default() }, Page::first(DETAIL_ROWS))
            .await?
            .data;
        let refunds = self.services.list_refunds(&scope, &RefundFilter { payment_intent: Some(intent.id.clone()) }, Page::first(DETAIL_ROWS)).await?.data;
        let mut events = Vec::new();
        for object in std::iter::once(intent.id.clone()).chain(refunds.iter().map(|r| r.id.clone())) {
            let filter = EventFilter { object_id: Some(object), ..Default::default() };
            events.extend(self.services.list_events(&scope, &filter, Page::first(DETAIL_ROWS)).await?.data);
        }
        events.sort_by_key(|e| (e.created_at, e.sequence));
        let event_ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let deliveries = self.stores.deliveries.deliveries_of_events(&scope.merchant_id, scope.livemode, &event_ids).await?;
        Ok(PaymentDetail { intent, transactions, refunds, events, deliveries })
    }

    /// Refunds `amount` (as typed, in the currency's major units; empty: all that is left) of
    /// the payment. `submit_token` is the form's one-time token: submitted twice, one refund.
    pub async fn refund_payment(
        self: &Arc<Self>,
        who: &SignedIn,
        intent_id: &str,
        amount: &str,
        reason: &str,
        submit_token: &str,
    ) -> Result<Refund, BackofficeError> {
        self.permitted(who, Action::Refund, "payment.refund", intent_id).await?;
        let (scope, intent) = self.find_intent(who, intent_id).await?;
        let submit_token = submit_token_of(submit_token)?;
        let amount = match amount.trim() {
            "" => None,
            typed => Some(parse_major_units(typed, intent.currency, "amount")?),
        };
        let reason = Some(reason.trim().to_owned()).filter(|r| !r.is_empty());
        let request = RefundRequest {
            payment_intent: intent.id.clone(),
            amount,
            reason,
            // Its own namespace: never the same as a key the merchant's server sent.
            idempotency_key: Some(format!("dashboard:{submit_token}")),
        };
        let refunded = self.services.create_refund(&scope, request, None).await;
        let outcome = if refunded.is_ok() { Outcome::Success } else { Outcome::Failure };
        self.audit(Audited::of(who), "payment.refund", Some(&intent.id), outcome).await;
        Ok(refunded?)
    }

    /// Cancels a payment still waiting for its customer. Canceling one already canceled is
    /// done already (a double submit), not an error.
    pub async fn cancel_payment(&self, who: &SignedIn, intent_id: &str, reason: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::Cancel, "payment.cancel", intent_id).await?;
        let (scope, intent) = self.find_intent(who, intent_id).await?;
        if intent.status == IntentStatus::Canceled {
            return Ok(());
        }
        let reason = Some(reason.trim().to_owned()).filter(|r| !r.is_empty());
        let canceled = self.services.cancel_intent(&scope, &intent.id, reason, None).await;
        let outcome = match &canceled {
            Ok(_) => Outcome::Success,
            Err(ServiceError::InvalidState { current: IntentStatus::Canceled, .. }) => return Ok(()),
            Err(_) => Outcome::Failure,
        };
        self.audit(Audited::of(who), "payment.cancel", Some(&intent.id), outcome).await;
        canceled.map(|_| ()).map_err(Into::into)
    }

    /// Refuses (and records the refusal of) what the role may not do.
    pub async fn permitted(&self, who: &SignedIn, action: Action, audited_as: &str, target: &str) -> Result<(), BackofficeError> {
        if who.role.may(action) {
            return Ok(());
        }
        self.audit(Audited::of(who), audited_as, Some(target), Outcome::Refused).await;
        Err(BackofficeError::Forbidden)
    }
}

/// A fresh one-time token for a form that moves money.
pub fn new_submit_token() -> String {
    gateway::ids::random_base62(32)
}

fn submit_token_of(text: &str) -> Result<&str, ValidationError> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(text)
    } else {
        Err(ValidationError::new("submit_token_invalid", "submit", "Reload the page and submit the form again."))
    }
}
