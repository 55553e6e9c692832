//! Each merchant's back-office settings (its time zone); a merchant without a row has the defaults.

use async_trait::async_trait;
use gateway::store::sql::query;
use gateway::store::{SqlStore, StoreError};

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The merchant's time zone name, if it chose one.
    async fn time_zone(&self, merchant_id: &str) -> Result<Option<String>, StoreError>;
    async fn set_time_zone(&self, merchant_id: &str, name: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl SettingsStore for SqlStore {
    async fn time_zone(&self, merchant_id: &str) -> Result<Option<String>, StoreError> {
        let row = self.sql().fetch_optional(query("SELECT time_zone FROM merchant_settings WHERE merchant_id = $1").bind(merchant_id)).await?;
        row.map(|r| r.text("time_zone")).transpose()
    }

    async fn set_time_zone(&self, merchant_id: &str, name: &str) -> Result<(), StoreError> {
        let upsert = query(
            "INSERT INTO merchant_settings (merchant_id, time_zone) VALUES ($1, $2) \
             ON CONFLICT (merchant_id) DO UPDATE SET time_zone = excluded.time_zone",
        )
        .bind(merchant_id)
        .bind(name);
        self.sql().execute(upsert).await?;
        Ok(())
    }
}
