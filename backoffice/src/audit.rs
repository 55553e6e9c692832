//! Writing the audit log: every sign-in, sign-up, export, refund, cancel and key, webhook or
//! team change records who, what, when, from where and the outcome. Entries are kept 12 months.

use crate::accounts::SignedIn;
use crate::store::{AuditEntry, Outcome, Staff};
use crate::Backoffice;
use gateway::clock::Millis;
use gateway::ids::random_base62;

/// How long entries are kept.
pub const AUDIT_RETENTION_MS: Millis = 365 * 24 * 3_600_000;

/// Who an entry is about.
#[derive(Debug, Clone)]
pub struct Audited {
    pub merchant_id: Option<String>,
    pub staff_id: Option<String>,
    pub actor: String,
    pub client: String,
}

impl Audited {
    pub fn of(who: &SignedIn) -> Self {
        Self::by(&who.staff, Some(&who.merchant_id), &who.client_ip)
    }

    pub fn by(staff: &Staff, merchant_id: Option<&str>, client: &str) -> Self {
        Self { merchant_id: merchant_id.map(str::to_owned), staff_id: Some(staff.id.clone()), actor: staff.email.clone(), client: client.to_owned() }
    }
}

impl Backoffice {
    /// Appends an entry. The action it records has happened (or was refused) already, so a
    /// failure to write is logged loudly rather than undoing it.
    pub async fn audit(&self, who: Audited, action: &str, target: Option<&str>, outcome: Outcome) {
        let entry = AuditEntry {
            id: format!("aud_{}", random_base62(24)),
            merchant_id: who.merchant_id,
            staff_id: who.staff_id,
            actor: who.actor,
            action: action.to_owned(),
            target: target.map(str::to_owned),
            client_ip: who.client,
            outcome,
            created_at: self.services.clock.now(),
        };
        if let Err(e) = self.stores.audit.append_audit(&entry).await {
            tracing::error!(error = %e, action, "an audit entry could not be written");
        }
    }

    /// Forgets entries past the retention period (the sweep calls it); how many went.
    pub async fn purge_audit(&self) -> Result<u64, crate::error::BackofficeError> {
        Ok(self.stores.audit.purge_audit(self.services.clock.now() - AUDIT_RETENTION_MS).await?)
    }
}
