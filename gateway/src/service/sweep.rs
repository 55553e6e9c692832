//! Background upkeep: expire intents whose window closed, settle refunds left pending, forget old
//! idempotency keys and webhook delivery history, number the events a stopped replica committed
//! but left unnumbered. Safe to run in every replica at once: each step is a compare-and-set (the
//! numbering holds the merchant's head row).

use super::{ServiceError, Services};
use crate::store::StoreError;
use crate::domain::intent::IntentStatus;
use crate::domain::refund::RefundStatus;

/// Idempotency keys are kept at least this long (the API promises 24 hours).
pub const IDEMPOTENCY_RETENTION_MS: i64 = 48 * 60 * 60 * 1000;
/// The webhook delivery log (attempts, finished deliveries) is kept this long.
pub const WEBHOOK_HISTORY_RETENTION_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// The test card processor forgets authorizations that never captured after this long (a real
/// authorization lapses within days).
pub const TEST_CARD_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;
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
    pub purged_webhook_history: u64,
    pub purged_refresh_tokens: u64,
    /// Test card authorizations that can no longer move money (declined, voided, lapsed).
    pub purged_test_card_authorizations: u64,
    /// Merchants whose committed events were still unnumbered (a replica stopped between a
    /// commit and its numbering) and got numbered.
    pub sequenced_merchants: u64,
    /// Items that failed this time; they are tried again on the next sweep.
    pub errors: usize,
}

impl Services {
    /// One pass. A failing item is logged and counted, and does not stop the others.
    pub async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        for (scope, id) in self.store.intents.intents_due_for_expiry(now, BATCH).await? {
            match self.expire(&scope, &id, None).await {
                Ok(Some(_)) => report.expired_intents += 1,
                Ok(None) => {}
                Err(e) => report.failed(&id, &e),
            }
        }
        let backoff = |attempts: i64| now + retry_delay(attempts);
        for (scope, id) in self.store.intents.stale_processing(now - STALE_PROCESSING_MS, now, BATCH).await? {
            match self.recover_processing(&scope, &id, None, None).await {
                Ok(intent) if intent.status != IntentStatus::Processing => report.recovered_intents += 1,
                Ok(_) => report.deferred(self.store.intents.defer_intent_recovery(&id, &backoff).await, &id),
                Err(e) => report.failed(&id, &e),
            }
        }
        for pending in self.store.refunds.pending_refunds(now - PENDING_REFUND_AGE_MS, now, BATCH).await? {
            let id = pending.refund.id.clone();
            match self.settle_refund(&pending.scope, pending.refund, &pending.connector, &pending.connector_ref, None).await {
                Ok(settled) if settled.status != RefundStatus::Pending => report.settled_refunds += 1,
                Ok(_) => report.deferred(self.store.refunds.defer_refund_settlement(&id, &backoff).await, &id),
                Err(e) => report.failed(&id, &e),
            }
        }
        report.purged_idempotency_keys = self.store.idempotency.idempotency_purge(now - IDEMPOTENCY_RETENTION_MS).await?;
        report.purged_webhook_history = self.store.webhooks.purge_webhook_history(now - WEBHOOK_HISTORY_RETENTION_MS).await?;
        report.purged_refresh_tokens = self.store.customers.purge_refresh_tokens(now).await?;
        report.purged_test_card_authorizations = self.store.test_card_book.card_prune(now - TEST_CARD_RETENTION_MS).await?;
        report.sequenced_merchants = self.store.events.sequence_pending_events().await?;
        Ok(report)
    }
}

/// Wait before the next attempt: 30 s, doubling per attempt, at most an hour, so that an outage
/// at the processor is not met with a retry storm.
pub fn retry_delay(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 7)).unwrap_or(7);
    (30_000i64 << doublings).min(60 * 60_000)
}

impl SweepReport {
    fn deferred(&mut self, result: Result<i64, StoreError>, id: &str) {
        match result {
            Ok(attempts) => tracing::info!(object = %id, attempts, "connector still unreachable; retry deferred"),
            Err(e) => self.failed(id, &ServiceError::Store(e)),
        }
    }

    fn failed(&mut self, id: &str, error: &ServiceError) {
        tracing::warn!(object = %id, %error, "sweep item failed; retried next pass");
        self.errors += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::retry_delay;

    #[test]
    fn retries_back_off_from_thirty_seconds_to_an_hour() {
        let delays: Vec<i64> = (1..=10).map(retry_delay).collect();
        assert_eq!(&delays[..4], &[30_000, 60_000, 120_000, 240_000]);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*delays.last().unwrap(), 60 * 60_000);
    }
}
