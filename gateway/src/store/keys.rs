//! API keys: a keyed hash and a display prefix per key, never the plaintext.

use super::db::{query, Row};
use super::{corrupt, SqlStore, StoreError};
use crate::clock::Millis;
use crate::domain::keys::{ApiKeyRecord, KeyHash, KeyKind};
use async_trait::async_trait;

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn get_api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError>;
    /// Oldest first.
    async fn list_api_keys(&self, merchant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Sets an expiry on a key only if it has none yet or the new one is earlier.
    async fn expire_api_key(&self, id: &str, at: Millis) -> Result<ApiKeyRecord, StoreError>;
    async fn revoke_api_key(&self, id: &str, now: Millis) -> Result<ApiKeyRecord, StoreError>;
    /// Records that the key was used at `now`, unless it was recorded at or after `not_before`
    /// already (a conditional write: at most one per key per interval, whatever the replicas).
    async fn touch_api_key(&self, id: &str, now: Millis, not_before: Millis) -> Result<(), StoreError>;
}

const KEY_COLUMNS: &str = "id, merchant_id, kind, livemode, key_hash, display_prefix, created_at, expires_at, revoked_at, last_used_at";

fn key(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    let kind = row.text("kind")?;
    Ok(ApiKeyRecord {
        kind: KeyKind::parse(&kind).ok_or_else(|| corrupt("key kind", &kind))?,
        id: row.text("id")?,
        merchant_id: row.text("merchant_id")?,
        livemode: row.bool("livemode")?,
        key_hash: KeyHash(row.text("key_hash")?),
        display_prefix: row.text("display_prefix")?,
        created_at: row.int("created_at")?,
        expires_at: row.opt_int("expires_at")?,
        revoked_at: row.opt_int("revoked_at")?,
        last_used_at: row.opt_int("last_used_at")?,
    })
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_api_key(&self, k: &ApiKeyRecord) -> Result<(), StoreError> {
        let insert = query(
            "INSERT INTO api_keys (id, merchant_id, kind, livemode, key_hash, display_prefix, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&k.id)
        .bind(&k.merchant_id)
        .bind(k.kind.as_str())
        .bind(k.livemode)
        .bind(&k.key_hash.0)
        .bind(&k.display_prefix)
        .bind(k.created_at)
        .bind(k.expires_at)
        .bind(k.revoked_at);
        self.db.execute(insert).await?;
        Ok(())
    }

    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = self.db.fetch_optional(query(format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1")).bind(&hash.0)).await?;
        row.as_ref().map(key).transpose()
    }

    async fn get_api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError> {
        key(&self.db.fetch_one(query(format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1")).bind(id)).await?)
    }

    async fn list_api_keys(&self, merchant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let list = query(format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE merchant_id = $1 ORDER BY created_at, id")).bind(merchant_id);
        self.db.fetch_all(list).await?.iter().map(key).collect()
    }

    async fn expire_api_key(&self, id: &str, at: Millis) -> Result<ApiKeyRecord, StoreError> {
        let expire = query(format!(
            "UPDATE api_keys SET expires_at = $1 WHERE id = $2 AND (expires_at IS NULL OR expires_at > $1) RETURNING {KEY_COLUMNS}"
        ))
        .bind(at)
        .bind(id);
        match self.db.write_fetch_optional(expire).await? {
            Some(row) => key(&row),
            None => self.get_api_key(id).await,
        }
    }

    async fn revoke_api_key(&self, id: &str, now: Millis) -> Result<ApiKeyRecord, StoreError> {
        self.db.execute(query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now).bind(id)).await?;
        self.get_api_key(id).await
    }

    async fn touch_api_key(&self, id: &str, now: Millis, not_before: Millis) -> Result<(), StoreError> {
        let touch = query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(now)
            .bind(id)
            .bind(not_before);
        self.db.execute(touch).await?;
        Ok(())
    }
}
