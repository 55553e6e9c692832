//! Wallet customers: accounts with their sign-in state, and refresh tokens (a keyed hash only) in
//! rotating families. Identifier uniqueness is the database's (`ON CONFLICT DO NOTHING`, then rows
//! affected); a refresh token is spent by a compare-and-set on `used_at`, so of concurrent uses one wins.

use super::db::{query, Row};
use super::{SqlStore, StoreError};
use crate::clock::Millis;
use crate::domain::customer::{
    Customer, CustomerCreated, CustomerCredentials, Identifier, NewCustomerRecord, NextRefreshToken, RefreshOutcome, RefreshTokenRecord,
    LOCKOUT_MS, SIGN_IN_FAILURE_LIMIT,
};
use crate::domain::keys::KeyHash;
use crate::secret::Secret;
use async_trait::async_trait;

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

const CUSTOMER_COLUMNS: &str = "id, email, phone, password_hash, failed_signins, locked_until, created_at";

/// One refresh token: id, family, customer, hash, created, expires.
const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens (id, family_id, customer_id, token_hash, created_at, expires_at) \
                                    VALUES ($1, $2, $3, $4, $5, $6)";

fn credentials(r: &Row) -> Result<CustomerCredentials, StoreError> {
    Ok(CustomerCredentials {
        customer: Customer { id: r.text("id")?, email: r.opt_text("email")?, phone: r.opt_text("phone")?, created_at: r.int("created_at")? },
        password_hash: Secret::new(r.text("password_hash")?),
        failed_signins: r.int("failed_signins")?,
        locked_until: r.opt_int("locked_until")?,
    })
}

#[async_trait]
impl CustomerStore for SqlStore {
    async fn create_customer(&self, new: &NewCustomerRecord) -> Result<CustomerCreated, StoreError> {
        let insert = query(
            "INSERT INTO customers (id, email, phone, password_hash, failed_signins, locked_until, created_at) \
             VALUES ($1, $2, $3, $4, 0, NULL, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&new.id)
        .bind(&new.email)
        .bind(&new.phone)
        .bind(new.password_hash.expose())
        .bind(new.created_at);
        if self.db.execute(insert).await? == 0 {
            return Ok(CustomerCreated::IdentifierTaken);
        }
        Ok(CustomerCreated::Created(Customer { id: new.id.clone(), email: new.email.clone(), phone: new.phone.clone(), created_at: new.created_at }))
    }

    async fn find_customer_by_identifier(&self, identifier: &Identifier) -> Result<Option<CustomerCredentials>, StoreError> {
        // The column name is one of two constants, never input.
        let find = query(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {} = $1", identifier.column())).bind(identifier.as_str());
        self.db.fetch_optional(find).await?.as_ref().map(credentials).transpose()
    }

    async fn get_customer(&self, id: &str) -> Result<Customer, StoreError> {
        let get = query(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1")).bind(id);
        Ok(credentials(&self.db.fetch_one(get).await?)?.customer)
    }

    async fn record_failed_sign_in(&self, customer_id: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        // One statement: every right-hand side reads the row as it was.
        let count = query(
            "UPDATE customers SET \
               failed_signins = CASE WHEN failed_signins + 1 >= $1 THEN 0 ELSE failed_signins + 1 END, \
               locked_until = CASE WHEN failed_signins + 1 >= $1 THEN $2 ELSE locked_until END \
             WHERE id = $3 RETURNING failed_signins = 0 AS locks",
        )
        .bind(SIGN_IN_FAILURE_LIMIT)
        .bind(now + LOCKOUT_MS)
        .bind(customer_id);
        match self.db.write_fetch_optional(count).await? {
            None => Err(StoreError::NotFound),
            Some(row) if row.bool("locks")? => Ok(Some(now + LOCKOUT_MS)),
            Some(_) => Ok(None),
        }
    }

    async fn reset_failed_sign_ins(&self, customer_id: &str) -> Result<(), StoreError> {
        self.db.execute(query("UPDATE customers SET failed_signins = 0 WHERE id = $1 AND failed_signins <> 0").bind(customer_id)).await?;
        Ok(())
    }

    async fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> Result<(), StoreError> {
        let insert = query(INSERT_REFRESH_TOKEN)
            .bind(&t.id)
            .bind(&t.family_id)
            .bind(&t.customer_id)
            .bind(&t.token_hash.0)
            .bind(t.created_at)
            .bind(t.expires_at);
        self.db.execute(insert).await?;
        Ok(())
    }

    async fn use_refresh_token(&self, hash: &KeyHash, now: Millis, next: &NextRefreshToken) -> Result<RefreshOutcome, StoreError> {
        let mut tx = self.db.begin().await?;
        let find = query("SELECT id, family_id, customer_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1").bind(&hash.0);
        let Some(token) = tx.fetch_optional(find).await? else { return Ok(RefreshOutcome::Invalid) };
        if token.opt_int("revoked_at")?.is_some() {
            return Ok(RefreshOutcome::Invalid);
        }
        let (id, family_id, customer_id, expires_at) =
            (token.text("id")?, token.text("family_id")?, token.text("customer_id")?, token.int("expires_at")?);
        let spent = token.opt_int("used_at")?.is_some()
            || (expires_at > now
                && tx
                    .execute(query("UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL").bind(now).bind(&id))
                    .await?
                    == 0);
        if spent {
            // Presented again (or lost a race to another use): someone else holds this family's
            // tokens, so none of them is trusted any more.
            tx.execute(query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL").bind(now).bind(&family_id))
                .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused { customer_id });
        }
        if expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        let insert = query(INSERT_REFRESH_TOKEN)
            .bind(&next.id)
            .bind(&family_id)
            .bind(&customer_id)
            .bind(&next.token_hash.0)
            .bind(now)
            .bind(next.expires_at);
        tx.execute(insert).await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated { customer_id })
    }

    async fn revoke_refresh_family(&self, hash: &KeyHash, now: Millis) -> Result<u64, StoreError> {
        let revoke = query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL \
               AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $2)",
        )
        .bind(now)
        .bind(&hash.0);
        self.db.execute(revoke).await
    }

    async fn purge_refresh_tokens(&self, before: Millis) -> Result<u64, StoreError> {
        let purge = query(
            "DELETE FROM refresh_tokens WHERE family_id IN \
               (SELECT family_id FROM refresh_tokens GROUP BY family_id HAVING MAX(expires_at) < $1)",
        )
        .bind(before);
        self.db.execute(purge).await
    }
}
