//! The home page's figures: money movements counted in 15-minute buckets (every time zone's
//! midnight falls on one, so days are summed exactly in the merchant's zone), and the outcomes
//! of the payment intents created in a window.

use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::domain::money::Currency;
use gateway::domain::transaction::TransactionType;
use gateway::store::sql::query;
use gateway::store::{SqlStore, StoreError};

/// Bucket width: a quarter of an hour, the finest step of any UTC offset.
pub const BUCKET_MS: Millis = 15 * 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityBucket {
    /// The bucket's first instant.
    pub start: Millis,
    pub kind: TransactionType,
    pub currency: Currency,
    /// Succeeded movements only.
    pub count: i64,
    pub amount: i64,
}

#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Succeeded transactions in `[from, to)`, by bucket, type and currency.
    async fn activity(&self, merchant_id: &str, livemode: bool, from: Millis, to: Millis) -> Result<Vec<ActivityBucket>, StoreError>;
    /// (status, count) of the intents created in `[from, to)`.
    async fn intent_outcomes(&self, merchant_id: &str, livemode: bool, from: Millis, to: Millis) -> Result<Vec<(String, i64)>, StoreError>;
}

#[async_trait]
impl ActivityStore for SqlStore {
    async fn activity(&self, merchant_id: &str, livemode: bool, from: Millis, to: Millis) -> Result<Vec<ActivityBucket>, StoreError> {
        // Integer division on both engines (BIGINT / BIGINT, INTEGER / INTEGER).
        let sums = query(
            "SELECT (created_at / $1) * $1 AS bucket, type, currency, COUNT(*) AS n, CAST(SUM(amount) AS BIGINT) AS total \
             FROM transactions WHERE merchant_id = $2 AND livemode = $3 AND status = 'succeeded' AND created_at >= $4 AND created_at < $5 \
             GROUP BY bucket, type, currency ORDER BY bucket",
        )
        .bind(BUCKET_MS)
        .bind(merchant_id)
        .bind(livemode)
        .bind(from)
        .bind(to);
        let rows = self.sql().fetch_all(sums).await?;
        rows.iter()
            .map(|r| {
                let kind = r.text("type")?;
                let currency = r.text("currency")?;
                Ok(ActivityBucket {
                    start: r.int("bucket")?,
                    kind: TransactionType::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("transaction type: {kind}")))?,
                    currency: currency.parse().map_err(|()| StoreError::Corrupt(format!("currency: {currency}")))?,
                    count: r.int("n")?,
                    amount: r.int("total")?,
                })
            })
            .collect()
    }

    async fn intent_outcomes(&self, merchant_id: &str, livemode: bool, from: Millis, to: Millis) -> Result<Vec<(String, i64)>, StoreError> {
        let counts = query(
            "SELECT status, COUNT(*) AS n FROM payment_intents WHERE merchant_id = $1 AND livemode = $2 AND created_at >= $3 AND created_at < $4 \
             GROUP BY status ORDER BY status",
        )
        .bind(merchant_id)
        .bind(livemode)
        .bind(from)
        .bind(to);
        let rows = self.sql().fetch_all(counts).await?;
        rows.iter().map(|r| Ok((r.text("status")?, r.int("n")?))).collect()
    }
}
