//! The ledger check, for the operator's `paygate ledger check`.

use super::{ServiceError, Services};
use crate::domain::ledger::LedgerViolation;

impl Services {
    /// Every ledger invariant over the whole database; empty means healthy.
    pub async fn ledger_check(&self) -> Result<Vec<LedgerViolation>, ServiceError> {
        Ok(self.store.ledger.ledger_check().await?)
    }
}
