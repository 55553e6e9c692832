//! The merchant's money movements, as one list.

use super::{paginate, List, ServiceError, Services};
use crate::domain::transaction::Transaction;
use crate::domain::Scope;
use crate::domain::query::{Cursor, Page, TransactionFilter};

impl Services {
    /// Filtering by another merchant's intent answers 404, as every id-taking endpoint does.
    pub async fn list_transactions(&self, scope: &Scope, filter: &TransactionFilter, page: Page) -> Result<List<Transaction>, ServiceError> {
        if let Some(intent) = &filter.payment_intent {
            self.get_intent(scope, intent).await?;
        }
        let key = |t: &Transaction| Cursor { created_at: t.created_at, id: t.id.clone() };
        paginate(page, key, |p| async move { self.store.ledger.list_transactions(scope, filter, &p).await }).await
    }
}
