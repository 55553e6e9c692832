//! Each merchant's back-office settings (its time zone, whether its team must sign in with two
//! factors); a merchant without a row has the defaults.

use async_trait::async_trait;
use crate::domain::DEFAULT_TIME_ZONE;
use gateway::store::sql::query;
use gateway::store::{SqlStore, StoreError};

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The merchant's time zone name, if it chose one.
    async fn time_zone(&self, merchant_id: &str) -> Result<Option<String>, StoreError>;
    async fn set_time_zone(&self, merchant_id: &str, name: &str) -> Result<(), StoreError>;
    /// Whether the owner requires two-factor sign-in of everyone on the team.
    async fn requires_two_factor(&self, merchant_id: &str) -> Result<bool, StoreError>;
    async fn set_requires_two_factor(&self, merchant_id: &str, required: bool) -> Result<(), StoreError>;
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

    async fn requires_two_factor(&self, merchant_id: &str) -> Result<bool, StoreError> {
        let row = self.sql().fetch_optional(query("SELECT require_two_factor FROM merchant_settings WHERE merchant_id = $1").bind(merchant_id)).await?;
        Ok(row.map(|r| r.bool("require_two_factor")).transpose()?.unwrap_or(false))
    }

    async fn set_requires_two_factor(&self, merchant_id: &str, required: bool) -> Result<(), StoreError> {
        let upsert = query(
            "INSERT INTO merchant_settings (merchant_id, time_zone, require_two_factor) VALUES ($1, $2, $3) \
             ON CONFLICT (merchant_id) DO UPDATE SET require_two_factor = excluded.require_two_factor",
        )
        .bind(merchant_id)
        .bind(DEFAULT_TIME_ZONE)
        .bind(required);
        self.sql().execute(upsert).await?;
        Ok(())
    }
}
