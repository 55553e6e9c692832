//! Password hashes: argon2id PHC strings, computed and checked off the async threads. Shared by
//! every surface whose people sign in with a password (wallet customers, back-office staff).

use crate::secret::Secret;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::LazyLock;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Argon2id, version 0x13, with the crate's default cost (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Verified against when the account does not exist, so that the answer takes as long.
static DUMMY_HASH: LazyLock<Secret> = LazyLock::new(|| {
    let password = crate::ids::random_base62(24);
    match argon2().hash_password(password.as_bytes()) {
        Ok(hash) => Secret::new(hash.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "hashing the dummy password failed");
            Secret::new(String::new())
        }
    }
});

/// The PHC string of `password`.
pub async fn hash(password: Secret) -> Result<Secret, HashError> {
    tokio::task::spawn_blocking(move || argon2().hash_password(password.expose().as_bytes()).map(|h| Secret::new(h.to_string())))
        .await
        .map_err(|e| HashError(e.to_string()))?
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`. With `None` (no such account) it does the
/// same work against a dummy hash and answers `false`, so both answers take as long.
pub async fn verify(hash: Option<Secret>, password: Secret) -> Result<bool, HashError> {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
    let matched = tokio::task::spawn_blocking(move || {
        match PasswordVerifier::<str>::verify_password(&argon2(), password.expose().as_bytes(), hash.expose()) {
            Ok(()) => true,
            Err(argon2::password_hash::Error::PasswordInvalid) => false,
            Err(e) => {
                tracing::error!(error = %e, "a stored password hash could not be checked");
                false
            }
        }
    })
    .await
    .map_err(|e| HashError(e.to_string()))?;
    Ok(known && matched)
}
