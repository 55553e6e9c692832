//! Idempotency keys for the API's middleware.

use super::{ServiceError, Services};
use crate::clock::Millis;
use crate::store::{IdempotencyBegin, IdempotencyScope};

impl Services {
    pub async fn idempotency_begin(&self, key: &IdempotencyScope, fingerprint: &str, now: Millis, lease_until: Millis) -> Result<IdempotencyBegin, ServiceError> {
        Ok(self.store.idempotency.idempotency_begin(key, fingerprint, now, lease_until).await?)
    }

    pub async fn idempotency_complete(&self, key: &IdempotencyScope, lease: &str, status: u16, body: &str) -> Result<(), ServiceError> {
        Ok(self.store.idempotency.idempotency_complete(key, lease, status, body).await?)
    }

    pub async fn idempotency_release(&self, key: &IdempotencyScope, lease: &str) -> Result<(), ServiceError> {
        Ok(self.store.idempotency.idempotency_release(key, lease).await?)
    }
}
