//! What the back office forgets on a schedule, on every replica at once (each delete is
//! idempotent): audit entries past their 12 months, sessions that can no longer be used, and
//! sign-ups whose code lapsed a day ago.

use crate::domain::{SESSION_ABSOLUTE_MS, SESSION_IDLE_MS};
use crate::error::BackofficeError;
use crate::Backoffice;
use gateway::clock::Millis;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a lapsed sign-up is kept (so a late confirmation says "expired", not "unknown").
pub const SIGNUP_KEEP_MS: Millis = 24 * 3_600_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HousekeepingReport {
    pub audit_entries: u64,
    pub sessions: u64,
    pub signups: u64,
}

impl Backoffice {
    pub async fn housekeeping(&self) -> Result<HousekeepingReport, BackofficeError> {
        let now = self.services.clock.now();
        Ok(HousekeepingReport {
            audit_entries: self.purge_audit().await?,
            sessions: self.stores.sessions.purge_sessions(now - SESSION_IDLE_MS, now - SESSION_ABSOLUTE_MS).await?,
            signups: self.stores.staff.purge_signups(now - SIGNUP_KEEP_MS).await?,
        })
    }
}

/// Runs [`Backoffice::housekeeping`] every `every` until `stop` turns true.
pub async fn housekeeping_loop(office: Arc<Backoffice>, every: Duration, stop: watch::Receiver<bool>) {
    gateway::service::workers::repeat("back-office housekeeping", every, stop, || office.housekeeping()).await
}
