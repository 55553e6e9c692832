//! Wallet accounts: sign-up and sign-in (argon2id password hashes), short-lived access tokens
//! and rotating refresh tokens. A refresh token is `rt_` + 43 base62 characters, stored only as
//! a keyed hash, and lives 30 days; each use spends it and issues the next of its family.

use crate::jwt::{AccessTokens, ACCESS_TOKEN_SECS};
use crate::limits::{Bucket, RateLimiter};
use gateway::clock::Millis;
use gateway::domain::customer::{Customer, Identifier, Password};
use gateway::domain::keys::KeyHash;
use gateway::domain::ValidationError;
use gateway::ids::{random_base62, IdKind};
use gateway::passwords;
use gateway::secret::Secret;
use gateway::service::{ServiceError, Services};
use gateway::domain::customer::{CustomerCreated, NewCustomerRecord, NextRefreshToken, RefreshOutcome, RefreshTokenRecord};
use std::sync::Arc;

pub const REFRESH_TOKEN_PREFIX: &str = "rt_";
const REFRESH_TOKEN_RANDOM_CHARS: usize = 43;
pub const REFRESH_TOKEN_LIFETIME_MS: Millis = 30 * 24 * 3_600_000;

/// A signed-in session as the sign-up, sign-in and refresh calls hand it out.
#[derive(Debug)]
pub struct Session {
    pub customer: Customer,
    pub access_token: Secret,
    /// Seconds the access token stays valid.
    pub expires_in: i64,
    pub refresh_token: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the email or phone number already belongs to an account")]
    IdentifierTaken,
    #[error("unknown account or wrong password")]
    InvalidCredentials,
    #[error("the account is locked until {until}")]
    Locked { until: Millis },
    #[error("too many attempts; retry in {0} s")]
    RateLimited(u64),
    #[error("the refresh token is not valid")]
    RefreshTokenInvalid,
    #[error("the refresh token was already used")]
    RefreshTokenReused,
    /// Bad input, a missing customer, the store or an internal fault: the core's errors and their
    /// answers.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl AccountError {
    fn internal(e: impl std::fmt::Display) -> Self {
        AccountError::Service(ServiceError::Internal(e.to_string()))
    }
}

impl From<ValidationError> for AccountError {
    fn from(e: ValidationError) -> Self {
        AccountError::Service(ServiceError::Validation(e))
    }
}

/// The account rules between the wallet API and the store.
pub struct Accounts {
    services: Arc<Services>,
    tokens: AccessTokens,
    limits: Arc<RateLimiter>,
}

impl Accounts {
    pub fn new(services: Arc<Services>, limits: Arc<RateLimiter>) -> Self {
        let tokens = AccessTokens::new(&services.hasher, &services.public_url);
        Self { services, tokens, limits }
    }

    pub fn tokens(&self) -> &AccessTokens {
        &self.tokens
    }

    fn now(&self) -> Millis {
        self.services.clock.now()
    }

    /// Opens an account with an email, a phone number or both, and signs it in.
    pub async fn sign_up(&self, email: Option<&str>, phone: Option<&str>, password: &Secret) -> Result<Session, AccountError> {
        let email = email.map(|e| Identifier::email(e, "email")).transpose()?;
        let phone = phone.map(|p| Identifier::phone(p, "phone")).transpose()?;
        if email.is_none() && phone.is_none() {
            return Err(ValidationError::new("identifier_required", "email", "Give an email address or a phone number.").into());
        }
        let password = Password::parse(password)?;
        let password_hash = hash_password(password).await?;
        let record = NewCustomerRecord {
            id: IdKind::Customer.generate(),
            email: email.map(|i| i.as_str().to_owned()),
            phone: phone.map(|i| i.as_str().to_owned()),
            password_hash,
            created_at: self.now(),
        };
        match self.services.create_customer(&record).await? {
            CustomerCreated::Created(customer) => self.start_session(customer).await,
            CustomerCreated::IdentifierTaken => Err(AccountError::IdentifierTaken),
        }
    }

    /// Signs in with an email or phone number. An unknown account and a wrong password answer
    /// alike, after the same password-hashing work; `client` is the caller's address, for its
    /// rate limit.
    pub async fn sign_in(&self, identifier: &str, password: &Secret, client: &str) -> Result<Session, AccountError> {
        self.limits.attempt(Bucket::SignInClient, client).await.map_err(AccountError::RateLimited)?;
        let identifier = Identifier::parse(identifier, "identifier")?;
        let found = self.services.find_customer(&identifier).await?;
        let now = self.now();
        // A locked account says so before its own rate limit counts, even to the right password.
        if let Some(until) = found.as_ref().and_then(|c| c.locked_until).filter(|&until| now < until) {
            return Err(AccountError::Locked { until });
        }
        // Counted under a keyed hash: the email or phone number never reaches Redis.
        let counted_as = self.services.hasher.hash(&format!("sign-in:{}", identifier.as_str())).0;
        self.limits.attempt(Bucket::SignInIdentifier, &counted_as).await.map_err(AccountError::RateLimited)?;
        let Some(account) = found else {
            verify_password(None, password.clone()).await?;
            return Err(AccountError::InvalidCredentials);
        };
        if !verify_password(Some(account.password_hash.clone()), password.clone()).await? {
            if let Some(until) = self.services.record_failed_sign_in(&account.customer.id, now).await? {
                tracing::warn!(customer = %account.customer.id, until, "wallet account locked after repeated failed sign-ins");
            }
            return Err(AccountError::InvalidCredentials);
        }
        if account.failed_signins > 0 {
            self.services.reset_failed_sign_ins(&account.customer.id).await?;
        }
        self.start_session(account.customer).await
    }

    /// Spends a refresh token for a new access token and the next refresh token.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Session, AccountError> {
        if !is_refresh_token_shaped(refresh_token.expose()) {
            return Err(AccountError::RefreshTokenInvalid);
        }
        let now = self.now();
        let next_value = new_refresh_value();
        let next = NextRefreshToken {
            id: IdKind::RefreshToken.generate(),
            token_hash: self.hash(&next_value),
            expires_at: now + REFRESH_TOKEN_LIFETIME_MS,
        };
        match self.services.use_refresh_token(&self.hash(refresh_token), now, &next).await? {
            RefreshOutcome::Rotated { customer_id } => {
                let customer = self.services.get_customer(&customer_id).await?;
                let access_token = self.tokens.issue(&customer.id, now).map_err(AccountError::internal)?;
                Ok(Session { customer, access_token, expires_in: ACCESS_TOKEN_SECS, refresh_token: next_value })
            }
            RefreshOutcome::Reused { customer_id } => {
                tracing::warn!(customer = %customer_id, "a spent refresh token came back; its family is revoked");
                Err(AccountError::RefreshTokenReused)
            }
            RefreshOutcome::Invalid => Err(AccountError::RefreshTokenInvalid),
        }
    }

    /// Signs out: every refresh token of this one's family stops working. Unknown tokens are
    /// not an error (signing out twice is fine).
    pub async fn sign_out(&self, refresh_token: &Secret) -> Result<(), AccountError> {
        if is_refresh_token_shaped(refresh_token.expose()) {
            self.services.revoke_refresh_family(&self.hash(refresh_token), self.now()).await?;
        }
        Ok(())
    }

    pub async fn customer(&self, customer_id: &str) -> Result<Customer, AccountError> {
        Ok(self.services.get_customer(customer_id).await?)
    }

    /// A new refresh-token family and an access token for `customer`.
    async fn start_session(&self, customer: Customer) -> Result<Session, AccountError> {
        let now = self.now();
        let refresh_token = new_refresh_value();
        let record = RefreshTokenRecord {
            id: IdKind::RefreshToken.generate(),
            family_id: format!("rtf_{}", random_base62(24)),
            customer_id: customer.id.clone(),
            token_hash: self.hash(&refresh_token),
            created_at: now,
            expires_at: now + REFRESH_TOKEN_LIFETIME_MS,
        };
        self.services.insert_refresh_token(&record).await?;
        let access_token = self.tokens.issue(&customer.id, now).map_err(AccountError::internal)?;
        Ok(Session { customer, access_token, expires_in: ACCESS_TOKEN_SECS, refresh_token })
    }

    fn hash(&self, token: &Secret) -> KeyHash {
        self.services.hasher.hash(token.expose())
    }
}

fn new_refresh_value() -> Secret {
    Secret::new(format!("{REFRESH_TOKEN_PREFIX}{}", random_base62(REFRESH_TOKEN_RANDOM_CHARS)))
}

fn is_refresh_token_shaped(token: &str) -> bool {
    token
        .strip_prefix(REFRESH_TOKEN_PREFIX)
        .is_some_and(|rest| rest.len() == REFRESH_TOKEN_RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The PHC string of `password`.
async fn hash_password(password: Password) -> Result<Secret, AccountError> {
    passwords::hash(Secret::new(password.expose().to_owned())).await.map_err(AccountError::internal)
}

/// Whether `password` matches `hash` (`None`: no such account, the same work, `false`).
async fn verify_password(hash: Option<Secret>, password: Secret) -> Result<bool, AccountError> {
    passwords::verify(hash, password).await.map_err(AccountError::internal)
}
