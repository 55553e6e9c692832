//! Refunds: reserve the amount on the intent (compare-and-set), ask the connector outside any
//! database transaction, then settle. A crash in between leaves a pending refund that the sweep
//! settles later; connectors refund idempotently per refund id, so nothing is refunded twice.

use super::{missing, paginate, List, ServiceError, Services};
use crate::connector::RefundResult;
use crate::domain::intent::parse_amount;
use crate::domain::refund::{Refund, RefundOutcome, RefundStatus};
use crate::domain::{text_field, Scope};
use crate::ids::IdKind;
use crate::store::{Cursor, NewRefundRecord, Page, RefundFilter, RefundReservation};

pub struct RefundRequest {
    pub payment_intent: String,
    /// Minor units; `None` refunds everything still refundable.
    pub amount: Option<i64>,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

impl Services {
    pub async fn create_refund(&self, scope: &Scope, req: RefundRequest) -> Result<Refund, ServiceError> {
        let amount = match req.amount {
            Some(a) => parse_amount(a)?,
            None => {
                let intent = self.get_intent(scope, &req.payment_intent).await?;
                if !intent.status.is_refundable() {
                    return Err(ServiceError::InvalidState { action: "refund", current: intent.status });
                }
                let remaining = intent.amount_captured - intent.amount_refunded;
                parse_amount(remaining).map_err(|_| ServiceError::RefundExceedsCaptured { requested: 0, available: 0 })?
            }
        };
        let reason = req.reason.as_deref().map(|r| text_field(r, "reason", 200)).transpose()?;
        let new = NewRefundRecord {
            id: IdKind::Refund.generate(),
            payment_intent_id: req.payment_intent,
            amount,
            reason,
            idempotency_key: req.idempotency_key,
            created_at: self.clock.now(),
        };
        let (refund, connector, connector_ref) = match self.store.reserve_refund(scope, &new).await? {
            RefundReservation::Reserved { refund, connector, connector_ref }
            | RefundReservation::Existing { refund, connector, connector_ref } => (refund, connector, connector_ref),
            RefundReservation::IntentMissing => return Err(ServiceError::NotFound("payment_intent")),
            RefundReservation::KeyReused => return Err(ServiceError::IdempotencyKeyReused),
            RefundReservation::NotRefundable(current) => return Err(ServiceError::InvalidState { action: "refund", current }),
            RefundReservation::ExceedsCaptured { available } => {
                return Err(ServiceError::RefundExceedsCaptured { requested: amount.minor_units(), available })
            }
        };
        if refund.status != RefundStatus::Pending {
            return Ok(refund);
        }
        self.settle_refund(scope, refund, &connector, &connector_ref).await
    }

    /// Asks the connector (idempotent per refund id) and records the outcome.
    pub(crate) async fn settle_refund(&self, scope: &Scope, refund: Refund, connector: &str, connector_ref: &str) -> Result<Refund, ServiceError> {
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
        Ok(self.store.complete_refund(scope, &refund.id, &outcome, self.clock.now()).await?)
    }

    pub async fn get_refund(&self, scope: &Scope, id: &str) -> Result<Refund, ServiceError> {
        self.store.get_refund(scope, id).await.map_err(missing("refund"))
    }

    /// Filtering by another merchant's intent answers 404, as every id-taking endpoint does.
    pub async fn list_refunds(&self, scope: &Scope, filter: &RefundFilter, page: Page) -> Result<List<Refund>, ServiceError> {
        if let Some(intent) = &filter.payment_intent {
            self.get_intent(scope, intent).await?;
        }
        let key = |r: &Refund| Cursor { created_at: r.created_at, id: r.id.clone() };
        paginate(page, key, |p| async move { self.store.list_refunds(scope, filter, &p).await }).await
    }
}
