//! The customer part of the one SQL implementation, expanded inside `sql_store!` for each engine.
//! Identifier uniqueness is the database's (`ON CONFLICT DO NOTHING`, then rows affected); a
//! refresh token is spent by a compare-and-set on `used_at`, so of concurrent uses one wins.

/// One refresh token: id, family, customer, hash, created, expires.
pub(crate) const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens (id, family_id, customer_id, token_hash, created_at, expires_at) \
                                               VALUES ($1, $2, $3, $4, $5, $6)";

/// `impl CustomerStore for $store`.
macro_rules! customer_store_methods {
    ($store:ident) => {
        #[async_trait::async_trait]
        impl $crate::store::customers::CustomerStore for $store {
            async fn create_customer(
                &self,
                new: &$crate::store::customers::NewCustomerRecord,
            ) -> Result<$crate::store::customers::CustomerCreated, StoreError> {
                use $crate::store::customers::CustomerCreated;
                let inserted = sqlx::query(
                    "INSERT INTO customers (id, email, phone, password_hash, failed_signins, locked_until, created_at) \
                     VALUES ($1, $2, $3, $4, 0, NULL, $5) ON CONFLICT DO NOTHING",
                )
                .bind(&new.id)
                .bind(&new.email)
                .bind(&new.phone)
                .bind(new.password_hash.expose())
                .bind(new.created_at)
                .execute(self.write_pool())
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Ok(CustomerCreated::IdentifierTaken);
                }
                Ok(CustomerCreated::Created($crate::domain::customer::Customer {
                    id: new.id.clone(),
                    email: new.email.clone(),
                    phone: new.phone.clone(),
                    created_at: new.created_at,
                }))
            }

            async fn find_customer_by_identifier(
                &self,
                identifier: &$crate::domain::customer::Identifier,
            ) -> Result<Option<$crate::store::customers::CustomerCredentials>, StoreError> {
                use $crate::store::customers::{CustomerRow, CUSTOMER_COLUMNS};
                // The column name is one of two constants, never input.
                let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {} = $1", identifier.column());
                Ok(sqlx::query_as::<_, CustomerRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(identifier.as_str())
                    .fetch_optional(self.read_pool())
                    .await?
                    .map(Into::into))
            }

            async fn get_customer(&self, id: &str) -> Result<$crate::domain::customer::Customer, StoreError> {
                use $crate::store::customers::{CustomerCredentials, CustomerRow, CUSTOMER_COLUMNS};
                let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
                sqlx::query_as::<_, CustomerRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .fetch_optional(self.read_pool())
                    .await?
                    .map(|row| CustomerCredentials::from(row).customer)
                    .ok_or(StoreError::NotFound)
            }

            async fn record_failed_sign_in(&self, customer_id: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
                use $crate::domain::customer::{LOCKOUT_MS, SIGN_IN_FAILURE_LIMIT};
                // One statement: every right-hand side reads the row as it was.
                let locks: Option<bool> = sqlx::query_scalar(
                    "UPDATE customers SET \
                       failed_signins = CASE WHEN failed_signins + 1 >= $1 THEN 0 ELSE failed_signins + 1 END, \
                       locked_until = CASE WHEN failed_signins + 1 >= $1 THEN $2 ELSE locked_until END \
                     WHERE id = $3 RETURNING failed_signins = 0",
                )
                .bind(SIGN_IN_FAILURE_LIMIT)
                .bind(now + LOCKOUT_MS)
                .bind(customer_id)
                .fetch_optional(self.write_pool())
                .await?;
                match locks {
                    None => Err(StoreError::NotFound),
                    Some(true) => Ok(Some(now + LOCKOUT_MS)),
                    Some(false) => Ok(None),
                }
            }

            async fn reset_failed_sign_ins(&self, customer_id: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE customers SET failed_signins = 0 WHERE id = $1 AND failed_signins <> 0")
                    .bind(customer_id)
                    .execute(self.write_pool())
                    .await?;
                Ok(())
            }

            async fn insert_refresh_token(&self, t: &$crate::store::customers::RefreshTokenRecord) -> Result<(), StoreError> {
                sqlx::query($crate::store::customer_sql::INSERT_REFRESH_TOKEN)
                .bind(&t.id)
                .bind(&t.family_id)
                .bind(&t.customer_id)
                .bind(&t.token_hash.0)
                .bind(t.created_at)
                .bind(t.expires_at)
                .execute(self.write_pool())
                .await?;
                Ok(())
            }

            async fn use_refresh_token(
                &self,
                hash: &KeyHash,
                now: Millis,
                next: &$crate::store::customers::NextRefreshToken,
            ) -> Result<$crate::store::customers::RefreshOutcome, StoreError> {
                use $crate::store::customers::{RefreshOutcome, RefreshTokenRow};
                let mut tx = self.begin_write().await?;
                let found = sqlx::query_as::<_, RefreshTokenRow>(
                    "SELECT id, family_id, customer_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
                )
                .bind(&hash.0)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(token) = found else { return Ok(RefreshOutcome::Invalid) };
                if token.revoked_at.is_some() {
                    return Ok(RefreshOutcome::Invalid);
                }
                let spent = token.used_at.is_some()
                    || (token.expires_at > now
                        && sqlx::query(
                            "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
                        )
                        .bind(now)
                        .bind(&token.id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            == 0);
                if spent {
                    // Presented again (or lost a race to another use): someone else holds this
                    // family's tokens, so none of them is trusted any more.
                    sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                        .bind(now)
                        .bind(&token.family_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(RefreshOutcome::Reused { customer_id: token.customer_id });
                }
                if token.expires_at <= now {
                    return Ok(RefreshOutcome::Invalid);
                }
                sqlx::query($crate::store::customer_sql::INSERT_REFRESH_TOKEN)
                .bind(&next.id)
                .bind(&token.family_id)
                .bind(&token.customer_id)
                .bind(&next.token_hash.0)
                .bind(now)
                .bind(next.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(RefreshOutcome::Rotated { customer_id: token.customer_id })
            }

            async fn revoke_refresh_family(&self, hash: &KeyHash, now: Millis) -> Result<u64, StoreError> {
                Ok(sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL \
                       AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $2)",
                )
                .bind(now)
                .bind(&hash.0)
                .execute(self.write_pool())
                .await?
                .rows_affected())
            }

            async fn purge_refresh_tokens(&self, before: Millis) -> Result<u64, StoreError> {
                Ok(sqlx::query(
                    "DELETE FROM refresh_tokens WHERE family_id IN \
                       (SELECT family_id FROM refresh_tokens GROUP BY family_id HAVING MAX(expires_at) < $1)",
                )
                .bind(before)
                .execute(self.write_pool())
                .await?
                .rows_affected())
            }
        }
    };
}

pub(crate) use customer_store_methods;
