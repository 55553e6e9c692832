//! Background upkeep: expire intents whose window closed, settle refunds left pending, forget old
//! idempotency keys. Safe to run in every replica at once: each step is a compare-and-set.

use super::{ServiceError, Services};
use crate::domain::intent::IntentStatus;
use crate::domain::refund::RefundStatus;

/// Idempotency keys are kept at least this long (the API promises 24 hours).
pub const IDEMPOTENCY_RETENTION_MS: i64 = 48 * 60 * 60 * 1000;
/// A refund still pending after this long is asked about again.
const PENDING_REFUND_AGE_MS: i64 = 60_000;
const BATCH: u32 = 200;

/// An intent still `processing` after this long is presumed abandoned by its request.
const STALE_PROCESSING_MS: i64 = 2 * 60_000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_intents: usize,
    pub recovered_intents: usize,
    pub settled_refunds: usize,
    pub purged_idempotency_keys: u64,
    /// Items that failed this time; they are tried again on the next sweep.
    pub errors: usize,
}

impl Services {
    /// One pass. A failing item is logged and counted, and does not stop the others.
    pub async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        for (scope, id) in self.store.intents_due_for_expiry(now, BATCH).await? {
            match self.expire(&scope, &id).await {
                Ok(Some(_)) => report.expired_intents += 1,
                Ok(None) => {}
                Err(e) => report.failed(&id, &e),
            }
        }
        for (scope, id) in self.store.stale_processing(now - STALE_PROCESSING_MS, BATCH).await? {
            match self.recover_processing(&scope, &id).await {
                Ok(intent) if intent.status != IntentStatus::Processing => report.recovered_intents += 1,
                Ok(_) => {}
                Err(e) => report.failed(&id, &e),
            }
        }
        for (scope, refund, connector, connector_ref) in self.store.pending_refunds(now - PENDING_REFUND_AGE_MS, BATCH).await? {
            let id = refund.id.clone();
            match self.settle_refund(&scope, refund, &connector, &connector_ref).await {
                Ok(settled) if settled.status != RefundStatus::Pending => report.settled_refunds += 1,
                Ok(_) => {}
                Err(e) => report.failed(&id, &e),
            }
        }
        report.purged_idempotency_keys = self.store.idempotency_purge(now - IDEMPOTENCY_RETENTION_MS).await?;
        Ok(report)
    }
}

impl SweepReport {
    fn failed(&mut self, id: &str, error: &ServiceError) {
        tracing::warn!(object = %id, %error, "sweep item failed; retried next pass");
        self.errors += 1;
    }
}
