//! Access tokens: short-lived HS256 JWTs for wallet customers. One algorithm is pinned; issuer
//! (the gateway's public URL), audience and subject are required; expiry and not-before are
//! checked here against the services' clock (the crate's own checks read the system clock).

use gateway::clock::Millis;
use gateway::domain::keys::KeyHasher;
use gateway::ids::random_base62;
use gateway::secret::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fmt;

pub const AUDIENCE: &str = "paygate-wallet";
/// Lifetime of an access token, in seconds.
pub const ACCESS_TOKEN_SECS: i64 = 600;
/// Clock skew tolerated on `exp` and `nbf`, in milliseconds.
const LEEWAY_MS: Millis = 30_000;
/// What the signing key is derived from, under the server's key-hash secret: every replica
/// derives the same key without configuration of its own.
const KEY_LABEL: &str = "wallet-jwt-signing-key";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    /// Seconds since the epoch, like `nbf` and `iat`.
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is not valid")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
}

/// Issues and verifies access tokens.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    validation: Validation,
}

impl fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokens").field("issuer", &self.issuer).field("key", &"[REDACTED]").finish()
    }
}

impl AccessTokens {
    pub fn new(hasher: &KeyHasher, issuer: &str) -> Self {
        let key = hasher.hash(KEY_LABEL);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        Self {
            // Only an empty secret is refused, and this one is 64 hex characters.
            encoding: EncodingKey::from_secret(key.0.as_bytes()).expect("a non-empty HMAC key"),
            decoding: DecodingKey::from_secret(key.0.as_bytes()).expect("a non-empty HMAC key"),
            issuer: issuer.to_owned(),
            validation,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A token for `customer_id`, valid from `now` for [`ACCESS_TOKEN_SECS`].
    pub fn issue(&self, customer_id: &str, now: Millis) -> Result<Secret, TokenError> {
        let iat = now.div_euclid(1000);
        let claims = Claims {
            sub: customer_id.to_owned(),
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            exp: iat + ACCESS_TOKEN_SECS,
            nbf: iat,
            iat,
            jti: random_base62(16),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(Secret::new)
            .map_err(|e| {
                tracing::error!(error = %e, "signing an access token failed");
                TokenError::Invalid
            })
    }

    /// The customer a token speaks for, if its signature, algorithm, issuer, audience and
    /// validity period all hold at `now`.
    pub fn verify(&self, token: &str, now: Millis) -> Result<String, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.nbf.saturating_mul(1000) > now.saturating_add(LEEWAY_MS) {
            return Err(TokenError::Invalid);
        }
        if claims.exp.saturating_mul(1000).saturating_add(LEEWAY_MS) <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims.sub)
    }
}
