//! Merchants: the accounts that own keys, intents, refunds and events.

use super::db::{query, Row};
use super::{SqlStore, StoreError};
use crate::domain::merchant::Merchant;
use async_trait::async_trait;

#[async_trait]
pub trait MerchantStore: Send + Sync {
    async fn create_merchant(&self, merchant: &Merchant) -> Result<(), StoreError>;
    async fn get_merchant(&self, id: &str) -> Result<Merchant, StoreError>;
    /// Oldest first.
    async fn list_merchants(&self) -> Result<Vec<Merchant>, StoreError>;
}

const MERCHANT_COLUMNS: &str = "id, name, created_at";

fn merchant(row: &Row) -> Result<Merchant, StoreError> {
    Ok(Merchant { id: row.text("id")?, name: row.text("name")?, created_at: row.int("created_at")? })
}

#[async_trait]
impl MerchantStore for SqlStore {
    async fn create_merchant(&self, m: &Merchant) -> Result<(), StoreError> {
        let insert = query("INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)").bind(&m.id).bind(&m.name).bind(m.created_at);
        self.db.execute(insert).await?;
        Ok(())
    }

    async fn get_merchant(&self, id: &str) -> Result<Merchant, StoreError> {
        let row = self.db.fetch_one(query(format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = $1")).bind(id)).await?;
        merchant(&row)
    }

    async fn list_merchants(&self) -> Result<Vec<Merchant>, StoreError> {
        let rows = self.db.fetch_all(query(format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY created_at, id"))).await?;
        rows.iter().map(merchant).collect()
    }
}
