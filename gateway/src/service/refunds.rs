//! Refunds: reserve the amount on the intent (compare-and-set), ask the connector outside any
//! database transaction, then settle. A crash in between leaves a pending refund that the sweep
//! settles later; connectors refund idempotently per refund id, so nothing is refunded twice.

use super::{detached, missing, paginate, List, ServiceError, Services};
use std::sync::Arc;
use crate::connector::RefundResult;
use crate::domain::intent::parse_amount;
use crate::domain::refund::{Refund, RefundOutcome, RefundStatus};
use crate::domain::{text_field, Scope};
use crate::ids::IdKind;
use crate::domain::query::{Cursor, Page, RefundFilter};
use crate::domain::idempotency::{KeyStep, Keyed, Resume, Saved};
use crate::store::{NewRefundRecord, RefundReservation};

pub struct RefundRequest {
    pub payment_intent: String,
    /// Minor units; `None` refunds everything still refundable.
    pub amount: Option<i64>,
    pub reason: Option<String>,
    /// Kept on the refund itself: a retry with the same key, even after the key was purged,
    /// finds this refund instead of making another (the request's Idempotency-Key).
    pub idempotency_key: Option<String>,
}

impl Services {
    /// With a key, the reservation records where a retry resumes (the refund is then settled, not
    /// made again), and the settlement the answer; the refund also keeps the key itself, so even
    /// a retry after the key was purged finds it.
    pub async fn create_refund(self: &Arc<Self>, scope: &Scope, req: RefundRequest, key: Option<&Keyed>) -> Result<Refund, ServiceError> {
        // Without an amount, the store works out "the rest" inside the reservation, after looking
        // for an earlier refund with the same idempotency key.
        let amount = req.amount.map(parse_amount).transpose()?;
        let reason = req.reason.as_deref().map(|r| text_field(r, "reason", 200)).transpose()?;
        let new = NewRefundRecord {
            id: IdKind::Refund.generate(),
            payment_intent_id: req.payment_intent,
            amount,
            reason,
            idempotency_key: req.idempotency_key,
            created_at: self.clock.now(),
        };
        let resume = Resume::refund(scope, &new.id);
        let checkpoint = key.map(|k| KeyStep::Checkpoint(k, &resume));
        let (refund, connector, connector_ref) = match self.store.refunds.reserve_refund(scope, &new, checkpoint).await? {
            RefundReservation::Reserved { refund, connector, connector_ref }
            | RefundReservation::Existing { refund, connector, connector_ref } => (refund, connector, connector_ref),
            RefundReservation::IntentMissing => return Err(ServiceError::NotFound("payment_intent")),
            RefundReservation::KeyReused => return Err(ServiceError::IdempotencyKeyReused),
            RefundReservation::NotRefundable(current) => return Err(ServiceError::InvalidState { action: "refund", current }),
            RefundReservation::ExceedsCaptured { available } => {
                let requested = amount.map_or(0, |a| a.minor_units());
                return Err(ServiceError::RefundExceedsCaptured { requested, available });
            }
        };
        if refund.status != RefundStatus::Pending {
            self.answer_refund_unless_saved(key, &refund).await?;
            return Ok(refund);
        }
        let (this, scope, key) = (self.clone(), scope.clone(), key.cloned());
        detached(async move {
            let settled = this.settle_refund(&scope, refund, &connector, &connector_ref, key.as_ref()).await?;
            this.answer_refund_unless_saved(key.as_ref(), &settled).await?;
            Ok(settled)
        })
        .await
    }

    /// Saves the answer under the key when the settlement did not (the outcome is still unknown,
    /// or the refund was settled before).
    pub(crate) async fn answer_refund_unless_saved(&self, key: Option<&Keyed>, refund: &Refund) -> Result<(), ServiceError> {
        if let Some(k) = key.filter(|k| !k.lease.is_answered()) {
            self.store.idempotency.idempotency_answer(&k.lease, &k.finish.answer(Saved::Refund { refund: refund.clone() })).await?;
        }
        Ok(())
    }

    /// Asks the connector (idempotent per refund id) and records the outcome.
    pub(crate) async fn settle_refund(&self, scope: &Scope, refund: Refund, connector: &str, connector_ref: &str, key: Option<&Keyed>) -> Result<Refund, ServiceError> {
        let connector = self.connectors.get(connector).ok_or_else(|| ServiceError::ConnectorMissing(connector.into()))?;
        let outcome = match connector.refund(connector_ref, &refund.id, refund.amount).await {
            Ok(RefundResult::Succeeded { connector_ref }) => RefundOutcome::Succeeded { connector_ref },
            Ok(RefundResult::Failed { code }) => RefundOutcome::Failed { code },
            Err(e) => {
                // Unknown outcome: stay pending; the sweep asks again.
                tracing::warn!(refund = %refund.id, error = %e, "refund left pending");
                return Ok(refund);
            }
        };
        Ok(self.store.refunds.complete_refund(scope, &refund.id, &outcome, self.clock.now(), key.map(KeyStep::Finish)).await?)
    }

    pub async fn get_refund(&self, scope: &Scope, id: &str) -> Result<Refund, ServiceError> {
        self.store.refunds.get_refund(scope, id).await.map_err(missing("refund"))
    }

    /// Filtering by another merchant's intent answers 404, as every id-taking endpoint does.
    pub async fn list_refunds(&self, scope: &Scope, filter: &RefundFilter, page: Page) -> Result<List<Refund>, ServiceError> {
        if let Some(intent) = &filter.payment_intent {
            self.get_intent(scope, intent).await?;
        }
        let key = |r: &Refund| Cursor { created_at: r.created_at, id: r.id.clone() };
        paginate(page, key, |p| async move { self.store.refunds.list_refunds(scope, filter, &p).await }).await
    }
}
