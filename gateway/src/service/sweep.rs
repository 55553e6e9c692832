//! Background upkeep: expire intents whose window closed, settle refunds left pending, forget old
//! idempotency keys. Safe to run in every replica at once: each step is a compare-and-set.

use super::{ServiceError, Services};

/// Idempotency keys are kept at least this long (the API promises 24 hours).
pub const IDEMPOTENCY_RETENTION_MS: i64 = 48 * 60 * 60 * 1000;
/// A refund still pending after this long is asked about again.
const PENDING_REFUND_AGE_MS: i64 = 60_000;
const BATCH: u32 = 200;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_intents: usize,
    pub settled_refunds: usize,
    pub purged_idempotency_keys: u64,
}

impl Services {
    pub async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        for (scope, id) in self.store.intents_due_for_expiry(now, BATCH).await? {
            if self.expire(&scope, &id).await?.is_some() {
                report.expired_intents += 1;
            }
        }
        for (scope, refund, connector, connector_ref) in self.store.pending_refunds(now - PENDING_REFUND_AGE_MS, BATCH).await? {
            let settled = self.settle_refund(&scope, refund, &connector, &connector_ref).await?;
            if settled.status != crate::domain::refund::RefundStatus::Pending {
                report.settled_refunds += 1;
            }
        }
        report.purged_idempotency_keys = self.store.idempotency_purge(now - IDEMPOTENCY_RETENTION_MS).await?;
        Ok(report)
    }
}
