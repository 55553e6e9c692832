//! Idempotency keys as the API's idempotency layer uses them: taking a key, saving an answer
//! that came without an effect of its own, giving a key up after a server error, and finishing
//! the work of a request that was cut off after a checkpoint (a retry that found its key's
//! owner dead resumes it here instead of running the request again).

use super::{ServiceError, Services};
use crate::clock::Millis;
use crate::domain::idempotency::{IdempotencyScope, KeyLease, Keyed, Resume, Saved, SavedAnswer};
use crate::domain::intent::IntentStatus;
use crate::domain::refund::RefundStatus;
use crate::domain::Scope;
use crate::store::IdempotencyBegin;

impl Services {
    pub async fn idempotency_begin(&self, key: &IdempotencyScope, fingerprint: &str, now: Millis, lease_until: Millis) -> Result<IdempotencyBegin, ServiceError> {
        Ok(self.store.idempotency.idempotency_begin(key, fingerprint, now, lease_until).await?)
    }

    /// Saves an answer that came without an effect of its own (a refusal); `false` when the lease
    /// no longer owns the key.
    pub async fn idempotency_answer(&self, lease: &KeyLease, answer: &SavedAnswer) -> Result<bool, ServiceError> {
        Ok(self.store.idempotency.idempotency_answer(lease, answer).await?)
    }

    /// After a server error: a retry runs afresh, or resumes at once if a phase committed.
    pub async fn idempotency_release(&self, lease: &KeyLease) -> Result<(), ServiceError> {
        Ok(self.store.idempotency.idempotency_release(lease).await?)
    }

    /// Finishes the work a request left at `resume` when it died, and returns its answer (saved
    /// under the key, with the last phase when there is one left to do).
    pub async fn resume_request(&self, key: &Keyed, resume: &Resume) -> Result<SavedAnswer, ServiceError> {
        match resume {
            Resume::Intent { merchant_id, livemode, intent_id, authorize_with } => {
                let scope = Scope { merchant_id: merchant_id.clone(), livemode: *livemode };
                let mut intent = self.get_intent(&scope, intent_id).await?;
                if intent.status == IntentStatus::Processing {
                    intent = self.recover_processing(&scope, intent_id, Some(key), authorize_with.as_ref()).await?;
                }
                self.answer_unless_saved(Some(key), &intent).await?;
                Ok(key.finish.answer(Saved::PaymentIntent { intent }))
            }
            Resume::Refund { merchant_id, livemode, refund_id } => {
                let scope = Scope { merchant_id: merchant_id.clone(), livemode: *livemode };
                let mut refund = self.get_refund(&scope, refund_id).await?;
                if refund.status == RefundStatus::Pending {
                    let intent = self.get_intent(&scope, &refund.payment_intent).await?;
                    let connector = intent.connector.clone().unwrap_or_default();
                    let connector_ref = self.store.intents.intent_connector_ref(&scope, &intent.id).await?.unwrap_or_default();
                    refund = self.settle_refund(&scope, refund, &connector, &connector_ref, Some(key)).await?;
                }
                self.answer_refund_unless_saved(Some(key), &refund).await?;
                Ok(key.finish.answer(Saved::Refund { refund }))
            }
        }
    }
}
