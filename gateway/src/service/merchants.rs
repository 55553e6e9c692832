//! Merchants and their API keys: creation, authentication, roll and revoke.

use super::{missing, ServiceError, Services};
use crate::clock::Millis;
use crate::domain::keys::{classify_presented, ApiKeyRecord, KeyKind, PlainApiKey, LAST_USED_RESOLUTION_MS};
use crate::domain::merchant::Merchant;
use crate::domain::{text_field, Scope};
use crate::ids::IdKind;

/// A key as stored, with its plaintext: shown once, then dropped.
#[derive(Debug)]
pub struct IssuedKey {
    pub record: ApiKeyRecord,
    pub plain: PlainApiKey,
}

/// Who a valid key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedKey {
    pub key_id: String,
    pub kind: KeyKind,
    pub scope: Scope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the API key is not valid")]
    Invalid,
    #[error("the API key has expired or was revoked")]
    NoLongerValid,
}

impl Services {
    /// A new merchant with a test-mode publishable and secret key.
    pub async fn create_merchant(&self, name: &str) -> Result<(Merchant, Vec<IssuedKey>), ServiceError> {
        let merchant = Merchant {
            id: IdKind::Merchant.generate(),
            name: text_field(name, "name", 100)?,
            created_at: self.clock.now(),
        };
        self.store.merchants.create_merchant(&merchant).await?;
        let mut keys = Vec::new();
        for kind in [KeyKind::Publishable, KeyKind::Secret] {
            keys.push(self.create_key(&merchant.id, kind, false).await?);
        }
        Ok((merchant, keys))
    }

    pub async fn get_merchant(&self, id: &str) -> Result<Merchant, ServiceError> {
        self.store.merchants.get_merchant(id).await.map_err(missing("merchant"))
    }

    /// Every merchant of the installation, oldest first (the operator's CLI).
    pub async fn list_merchants(&self) -> Result<Vec<Merchant>, ServiceError> {
        Ok(self.store.merchants.list_merchants().await?)
    }

    pub async fn create_key(&self, merchant_id: &str, kind: KeyKind, livemode: bool) -> Result<IssuedKey, ServiceError> {
        self.store.merchants.get_merchant(merchant_id).await.map_err(missing("merchant"))?;
        let plain = PlainApiKey::generate(kind, livemode);
        let record = ApiKeyRecord {
            id: IdKind::ApiKey.generate(),
            merchant_id: merchant_id.to_owned(),
            kind,
            livemode,
            key_hash: self.hasher.hash(plain.value.expose()),
            display_prefix: plain.display_prefix(),
            created_at: self.clock.now(),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        };
        self.store.keys.insert_api_key(&record).await?;
        Ok(IssuedKey { record, plain })
    }

    /// Issues a replacement of the same kind and mode; the old key keeps working until
    /// `old_key_expires_in_ms` from now (0 ends it at once).
    pub async fn roll_key(&self, key_id: &str, old_key_expires_in_ms: Millis) -> Result<(IssuedKey, ApiKeyRecord), ServiceError> {
        let old = self.store.keys.get_api_key(key_id).await.map_err(missing("api_key"))?;
        if !old.is_usable_at(self.clock.now()) {
            return Err(ServiceError::NotFound("api_key"));
        }
        let new = self.create_key(&old.merchant_id, old.kind, old.livemode).await?;
        let old = self.store.keys.expire_api_key(key_id, self.clock.now().saturating_add(old_key_expires_in_ms.max(0))).await?;
        Ok((new, old))
    }

    pub async fn revoke_key(&self, key_id: &str) -> Result<ApiKeyRecord, ServiceError> {
        self.store.keys.get_api_key(key_id).await.map_err(missing("api_key"))?;
        Ok(self.store.keys.revoke_api_key(key_id, self.clock.now()).await?)
    }

    pub async fn list_keys(&self, merchant_id: &str) -> Result<Vec<ApiKeyRecord>, ServiceError> {
        self.store.merchants.get_merchant(merchant_id).await.map_err(missing("merchant"))?;
        Ok(self.store.keys.list_api_keys(merchant_id).await?)
    }

    pub async fn authenticate(&self, presented: &str) -> Result<Result<AuthenticatedKey, AuthError>, ServiceError> {
        let Some((kind, livemode)) = classify_presented(presented) else {
            return Ok(Err(AuthError::Invalid));
        };
        let Some(record) = self.store.keys.find_api_key(&self.hasher.hash(presented)).await? else {
            return Ok(Err(AuthError::Invalid));
        };
        if record.kind != kind || record.livemode != livemode {
            return Ok(Err(AuthError::Invalid));
        }
        let now = self.clock.now();
        if !record.is_usable_at(now) {
            return Ok(Err(AuthError::NoLongerValid));
        }
        if record.use_is_news_at(now) {
            // At most once a minute per key; a failure to note it never refuses the request.
            if let Err(e) = self.store.keys.touch_api_key(&record.id, now, now - LAST_USED_RESOLUTION_MS + 1).await {
                tracing::warn!(error = %e, key = %record.id, "the key's last use could not be recorded");
            }
        }
        Ok(Ok(AuthenticatedKey {
            key_id: record.id,
            kind,
            scope: Scope { merchant_id: record.merchant_id, livemode },
        }))
    }
}
