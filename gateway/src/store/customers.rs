//! What the store keeps about wallet customers: accounts with their sign-in state, and refresh
//! tokens (a keyed hash only) in rotating families. Rows and their conversions live here.

use super::StoreError;
use crate::clock::Millis;
use crate::domain::customer::{Customer, Identifier};
use crate::domain::keys::KeyHash;
use crate::secret::Secret;
use async_trait::async_trait;

/// The store's customer operations (a part of [`Store`](super::Store), which requires it; both
/// engines implement it with the one SQL in `customer_sql.rs`).
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// Inserts the account; [`CustomerCreated::IdentifierTaken`] when its email or phone already
    /// belongs to another account (nothing is written).
    async fn create_customer(&self, new: &NewCustomerRecord) -> Result<CustomerCreated, StoreError>;
    /// The account `identifier` signs in, with what signing in needs.
    async fn find_customer_by_identifier(&self, identifier: &Identifier) -> Result<Option<CustomerCredentials>, StoreError>;
    async fn get_customer(&self, id: &str) -> Result<Customer, StoreError>;
    /// Counts one failed sign-in; the [`SIGN_IN_FAILURE_LIMIT`](crate::domain::customer::SIGN_IN_FAILURE_LIMIT)th
    /// in a row locks the account for [`LOCKOUT_MS`](crate::domain::customer::LOCKOUT_MS) and
    /// starts the count afresh. Returns when the account is locked until, if this locked it.
    async fn record_failed_sign_in(&self, customer_id: &str, now: Millis) -> Result<Option<Millis>, StoreError>;
    /// Forgets failed sign-ins after a successful one.
    async fn reset_failed_sign_ins(&self, customer_id: &str) -> Result<(), StoreError>;
    /// Stores the first token of a new family (at sign-up or sign-in).
    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// Spends the token hashed as `hash` and issues `next` in its family, in one transaction.
    /// A token already spent (even by a concurrent call that won the race) revokes its whole
    /// family; an unknown, expired or revoked one changes nothing.
    async fn use_refresh_token(&self, hash: &KeyHash, now: Millis, next: &NextRefreshToken) -> Result<RefreshOutcome, StoreError>;
    /// Revokes every token of the family `hash` belongs to (sign-out); how many were still live.
    async fn revoke_refresh_family(&self, hash: &KeyHash, now: Millis) -> Result<u64, StoreError>;
    /// Forgets refresh-token families whose every token expired before `before` (a family with
    /// a live token keeps its spent ones, so their reuse is still caught); how many rows went.
    async fn purge_refresh_tokens(&self, before: Millis) -> Result<u64, StoreError>;
}

/// A new account: its identifiers (at least one) and its argon2id password hash (PHC string).
#[derive(Debug, Clone)]
pub struct NewCustomerRecord {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Secret,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerCreated {
    Created(Customer),
    IdentifierTaken,
}

/// An account with its sign-in state.
#[derive(Debug, Clone)]
pub struct CustomerCredentials {
    pub customer: Customer,
    pub password_hash: Secret,
    pub failed_signins: i64,
    pub locked_until: Option<Millis>,
}

/// A stored refresh token: the keyed hash of its value, never the value.
#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    pub id: String,
    pub family_id: String,
    pub customer_id: String,
    pub token_hash: KeyHash,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// The token a rotation issues; its family and customer are those of the token spent.
#[derive(Debug, Clone)]
pub struct NextRefreshToken {
    pub id: String,
    pub token_hash: KeyHash,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was spent and `next` now stands in for it.
    Rotated { customer_id: String },
    /// The token had been spent before: its whole family is now revoked.
    Reused { customer_id: String },
    /// Unknown, expired or revoked.
    Invalid,
}

pub const CUSTOMER_COLUMNS: &str = "id, email, phone, password_hash, failed_signins, locked_until, created_at";

#[derive(sqlx::FromRow)]
pub struct CustomerRow {
    id: String,
    email: Option<String>,
    phone: Option<String>,
    password_hash: String,
    failed_signins: i64,
    locked_until: Option<i64>,
    created_at: i64,
}

impl From<CustomerRow> for CustomerCredentials {
    fn from(r: CustomerRow) -> Self {
        CustomerCredentials {
            customer: Customer { id: r.id, email: r.email, phone: r.phone, created_at: r.created_at },
            password_hash: Secret::new(r.password_hash),
            failed_signins: r.failed_signins,
            locked_until: r.locked_until,
        }
    }
}

/// What a rotation needs to know of the presented token.
#[derive(sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub id: String,
    pub family_id: String,
    pub customer_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}
