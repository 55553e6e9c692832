//! Idempotency keys: scoped to (merchant, mode, method, path, key) with a fingerprint of the
//! body; a request owns its key under a lease until it saves its answer.

use super::db::{query, Query};
use super::{SqlStore, StoreError};
use crate::clock::Millis;
use crate::ids::random_base62;
use async_trait::async_trait;

/// Which request an Idempotency-Key belongs to.
#[derive(Debug, Clone)]
pub struct IdempotencyScope {
    pub merchant_id: String,
    pub livemode: bool,
    pub method: String,
    pub path: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// This request owns the key until its lease ends; `lease` proves it when saving or releasing.
    Started { lease: String },
    InFlight,
    /// The key was used with a different body.
    Mismatch,
    Completed { status: u16, body: String },
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn idempotency_begin(&self, key: &IdempotencyScope, fingerprint: &str, now: Millis, lease_until: Millis) -> Result<IdempotencyBegin, StoreError>;
    /// Saves the response, if `lease` still owns the key.
    async fn idempotency_complete(&self, key: &IdempotencyScope, lease: &str, status: u16, body: &str) -> Result<(), StoreError>;
    /// Forgets an in-flight key (after a server error) so that a retry can run, if `lease` still owns it.
    async fn idempotency_release(&self, key: &IdempotencyScope, lease: &str) -> Result<(), StoreError>;
    /// Forgets keys made before `created_before`; how many went.
    async fn idempotency_purge(&self, created_before: Millis) -> Result<u64, StoreError>;
}

/// Matches one idempotency key: its five scope columns are always `$1`..`$5`.
const KEY_MATCH: &str = "merchant_id = $1 AND livemode = $2 AND method = $3 AND path = $4 AND key = $5";

fn keyed(sql: impl Into<std::borrow::Cow<'static, str>>, k: &IdempotencyScope) -> Query {
    query(sql).bind(&k.merchant_id).bind(k.livemode).bind(&k.method).bind(&k.path).bind(&k.key)
}

#[async_trait]
impl IdempotencyStore for SqlStore {
    async fn idempotency_begin(&self, k: &IdempotencyScope, fingerprint: &str, now: Millis, lease_until: Millis) -> Result<IdempotencyBegin, StoreError> {
        let lease = random_base62(24);
        let insert = "INSERT INTO idempotency_keys (merchant_id, livemode, method, path, key, fingerprint, state, lease_token, locked_until, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, 'in_flight', $7, $8, $9) ON CONFLICT DO NOTHING";
        let select = format!("SELECT fingerprint, state, response_status, response_body, locked_until FROM idempotency_keys WHERE {KEY_MATCH}");
        let mut tx = self.db.begin().await?;
        // The row may vanish between a refused insert and the read (a release): try again.
        let mut attempts = 0;
        let row = loop {
            attempts += 1;
            let inserted = tx.execute(keyed(insert, k).bind(fingerprint).bind(&lease).bind(lease_until).bind(now)).await?;
            if inserted == 1 {
                tx.commit().await?;
                return Ok(IdempotencyBegin::Started { lease });
            }
            match tx.fetch_optional(keyed(select.clone(), k)).await? {
                Some(row) => break row,
                None if attempts < 3 => continue,
                None => return Ok(IdempotencyBegin::InFlight),
            }
        };
        if row.text("fingerprint")? != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        if row.text("state")? == "done" {
            let status = row.opt_int("response_status")?.and_then(|s| u16::try_from(s).ok()).unwrap_or(500);
            let body = row.opt_text("response_body")?.unwrap_or_default();
            return Ok(IdempotencyBegin::Completed { status, body });
        }
        let locked_until = row.int("locked_until")?;
        if locked_until > now {
            return Ok(IdempotencyBegin::InFlight);
        }
        // The first request's process died mid-flight: take the key over, once.
        let take = format!("UPDATE idempotency_keys SET locked_until = $6, lease_token = $7 WHERE {KEY_MATCH} AND state = 'in_flight' AND locked_until = $8");
        let taken = tx.execute(keyed(take, k).bind(lease_until).bind(&lease).bind(locked_until)).await?;
        tx.commit().await?;
        Ok(if taken == 1 { IdempotencyBegin::Started { lease } } else { IdempotencyBegin::InFlight })
    }

    async fn idempotency_complete(&self, k: &IdempotencyScope, lease: &str, status: u16, body: &str) -> Result<(), StoreError> {
        let save = format!(
            "UPDATE idempotency_keys SET state = 'done', response_status = $6, response_body = $7 \
             WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $8"
        );
        self.db.execute(keyed(save, k).bind(i64::from(status)).bind(body).bind(lease)).await?;
        Ok(())
    }

    async fn idempotency_release(&self, k: &IdempotencyScope, lease: &str) -> Result<(), StoreError> {
        let release = format!("DELETE FROM idempotency_keys WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $6");
        self.db.execute(keyed(release, k).bind(lease)).await?;
        Ok(())
    }

    async fn idempotency_purge(&self, created_before: Millis) -> Result<u64, StoreError> {
        self.db.execute(query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(created_before)).await
    }
}
