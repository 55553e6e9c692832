//! The wallet part of the one SQL implementation, expanded inside `sql_store!` for each engine.
//! Every operation locks its wallet row first (a no-op `UPDATE ... RETURNING`, which both
//! engines support), so operations on one wallet run one at a time.

macro_rules! wallet_store_methods {
    ($store:ident, $db:ty) => {
        impl $store {
            /// Locks the wallet row until the transaction ends and returns it.
            async fn lock_wallet(tx: &mut Tx, wallet_id: &str) -> Result<Option<$crate::domain::wallet::Wallet>, StoreError> {
                use $crate::store::wallets::{WalletRow, WALLET_COLUMNS};
                let sql = format!("UPDATE wallets SET updated_at = updated_at WHERE id = $1 RETURNING {WALLET_COLUMNS}");
                sqlx::query_as::<_, WalletRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(wallet_id).fetch_optional(&mut **tx).await?.map(TryInto::try_into).transpose()
            }

            /// Moves a locked wallet's balance by `amount` and writes its entry, unless an entry of
            /// `kind` for `reference` exists already; `false` when it did.
            async fn wallet_entry(tx: &mut Tx, wallet_id: &str, kind: &str, amount: i64, reference: &str, now: Millis) -> Result<bool, StoreError> {
                let inserted = sqlx::query(
                    "INSERT INTO wallet_entries (id, wallet_id, kind, amount, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (wallet_id, kind, reference) DO NOTHING",
                )
                .bind(IdKind::WalletEntry.generate())
                .bind(wallet_id)
                .bind(kind)
                .bind(amount)
                .bind(reference)
                .bind(now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Ok(false);
                }
                sqlx::query("UPDATE wallets SET balance = balance + $1, updated_at = $2 WHERE id = $3")
                    .bind(amount)
                    .bind(now)
                    .bind(wallet_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(true)
            }

            async fn wallet_authorization_in(tx: &mut Tx, column: &str, value: &str) -> Result<Option<$crate::domain::wallet::WalletAuthorization>, StoreError> {
                use $crate::store::wallets::{WalletAuthorizationRow, WALLET_AUTHORIZATION_COLUMNS};
                let sql = format!("SELECT {WALLET_AUTHORIZATION_COLUMNS} FROM wallet_authorizations WHERE {column} = $1");
                sqlx::query_as::<_, WalletAuthorizationRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(value).fetch_optional(&mut **tx).await?.map(TryInto::try_into).transpose()
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::wallets::WalletStore for $store {
            async fn open_wallet(
                &self,
                customer_id: &str,
                livemode: bool,
                currency: $crate::domain::money::Currency,
                opening: i64,
                now: Millis,
            ) -> Result<$crate::domain::wallet::Wallet, StoreError> {
                use $crate::store::wallets::{WalletRow, WALLET_COLUMNS};
                let mut tx = self.begin_write().await?;
                let id = IdKind::Wallet.generate();
                let opened = sqlx::query(
                    "INSERT INTO wallets (id, customer_id, livemode, currency, balance, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 0, $5, $5) ON CONFLICT (customer_id, livemode, currency) DO NOTHING",
                )
                .bind(&id)
                .bind(customer_id)
                .bind(livemode)
                .bind(currency.code())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if opened == 1 && opening > 0 {
                    Self::wallet_entry(&mut tx, &id, "opening", opening, &id, now).await?;
                }
                let sql = format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE customer_id = $1 AND livemode = $2 AND currency = $3");
                let row = sqlx::query_as::<_, WalletRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(customer_id).bind(livemode).bind(currency.code()).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn list_wallets(&self, customer_id: &str) -> Result<Vec<$crate::domain::wallet::Wallet>, StoreError> {
                use $crate::store::wallets::{WalletRow, WALLET_COLUMNS};
                let sql = format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE customer_id = $1 ORDER BY livemode, currency");
                let rows = sqlx::query_as::<_, WalletRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(customer_id).fetch_all(self.read_pool()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn get_wallet(&self, customer_id: &str, wallet_id: &str) -> Result<$crate::domain::wallet::Wallet, StoreError> {
                use $crate::store::wallets::{WalletRow, WALLET_COLUMNS};
                let sql = format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE id = $1 AND customer_id = $2");
                sqlx::query_as::<_, WalletRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(wallet_id)
                    .bind(customer_id)
                    .fetch_optional(self.read_pool())
                    .await?
                    .ok_or(StoreError::NotFound)?
                    .try_into()
            }

            async fn top_up_wallet(
                &self,
                customer_id: &str,
                wallet_id: &str,
                amount: i64,
                reference: &str,
                now: Millis,
            ) -> Result<$crate::store::wallets::TopUpOutcome, StoreError> {
                use $crate::store::wallets::TopUpOutcome;
                let mut tx = self.begin_write().await?;
                let wallet = match Self::lock_wallet(&mut tx, wallet_id).await? {
                    Some(w) if w.customer_id == customer_id => w,
                    _ => return Err(StoreError::NotFound),
                };
                let replay: Option<i64> = sqlx::query_scalar("SELECT amount FROM wallet_entries WHERE wallet_id = $1 AND kind = 'top_up' AND reference = $2")
                    .bind(wallet_id)
                    .bind(reference)
                    .fetch_optional(&mut *tx)
                    .await?;
                if replay.is_none() {
                    if wallet.balance + amount > $crate::domain::wallet::MAX_BALANCE {
                        return Ok(TopUpOutcome::OverLimit(wallet));
                    }
                    Self::wallet_entry(&mut tx, wallet_id, "top_up", amount, reference, now).await?;
                }
                let wallet = Self::lock_wallet(&mut tx, wallet_id).await?.ok_or(StoreError::NotFound)?;
                tx.commit().await?;
                Ok(TopUpOutcome::Applied(wallet))
            }

            async fn wallet_authorize(
                &self,
                reference: &str,
                wallet_id: &str,
                amount: i64,
                currency: $crate::domain::money::Currency,
                now: Millis,
            ) -> Result<$crate::domain::wallet::WalletAuthorization, StoreError> {
                let mut tx = self.begin_write().await?;
                let Some(wallet) = Self::lock_wallet(&mut tx, wallet_id).await? else {
                    return Err(StoreError::NotFound);
                };
                if let Some(decided) = Self::wallet_authorization_in(&mut tx, "reference", reference).await? {
                    return Ok(decided);
                }
                let (status, decline) = if wallet.currency != currency {
                    ("declined", Some("funding_source_unusable"))
                } else if wallet.balance < amount {
                    ("declined", Some("insufficient_funds"))
                } else {
                    ("held", None)
                };
                let id = IdKind::WalletAuthorization.generate();
                sqlx::query(
                    "INSERT INTO wallet_authorizations (reference, id, wallet_id, amount, status, decline_code, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(reference)
                .bind(&id)
                .bind(wallet_id)
                .bind(amount)
                .bind(status)
                .bind(decline)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if status == "held" {
                    Self::wallet_entry(&mut tx, wallet_id, "hold", -amount, &id, now).await?;
                }
                let decided = Self::wallet_authorization_in(&mut tx, "id", &id).await?.ok_or(StoreError::NotFound)?;
                tx.commit().await?;
                Ok(decided)
            }

            async fn wallet_authorization(&self, reference: &str) -> Result<Option<$crate::domain::wallet::WalletAuthorization>, StoreError> {
                use $crate::store::wallets::{WalletAuthorizationRow, WALLET_AUTHORIZATION_COLUMNS};
                let sql = format!("SELECT {WALLET_AUTHORIZATION_COLUMNS} FROM wallet_authorizations WHERE reference = $1");
                sqlx::query_as::<_, WalletAuthorizationRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(reference).fetch_optional(self.read_pool()).await?.map(TryInto::try_into).transpose()
            }

            async fn wallet_capture(&self, authorization_id: &str, amount: i64, now: Millis) -> Result<$crate::store::wallets::WalletCapture, StoreError> {
                use $crate::store::wallets::WalletCapture;
                let changed = sqlx::query(
                    "UPDATE wallet_authorizations SET status = 'captured', updated_at = $1 \
                     WHERE id = $2 AND amount = $3 AND status IN ('held', 'captured')",
                )
                .bind(now)
                .bind(authorization_id)
                .bind(amount)
                .execute(self.write_pool())
                .await?
                .rows_affected();
                Ok(if changed == 1 { WalletCapture::Captured } else { WalletCapture::Refused })
            }

            async fn wallet_void(&self, authorization_id: &str, now: Millis) -> Result<$crate::domain::wallet::WalletAuthorizationStatus, StoreError> {
                use $crate::domain::wallet::WalletAuthorizationStatus;
                let mut tx = self.begin_write().await?;
                let Some(auth) = Self::wallet_authorization_in(&mut tx, "id", authorization_id).await? else {
                    return Err(StoreError::NotFound);
                };
                Self::lock_wallet(&mut tx, &auth.wallet_id).await?;
                let released = sqlx::query("UPDATE wallet_authorizations SET status = 'voided', updated_at = $1 WHERE id = $2 AND status = 'held'")
                    .bind(now)
                    .bind(authorization_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if released == 1 {
                    Self::wallet_entry(&mut tx, &auth.wallet_id, "release", auth.amount, authorization_id, now).await?;
                }
                tx.commit().await?;
                Ok(if released == 1 { WalletAuthorizationStatus::Voided } else { auth.status })
            }

            async fn wallet_refund(
                &self,
                authorization_id: &str,
                refund_reference: &str,
                amount: i64,
                now: Millis,
            ) -> Result<$crate::store::wallets::WalletRefund, StoreError> {
                use $crate::store::wallets::WalletRefund;
                let mut tx = self.begin_write().await?;
                let Some(auth) = Self::wallet_authorization_in(&mut tx, "id", authorization_id).await? else {
                    return Ok(WalletRefund::Refused);
                };
                Self::lock_wallet(&mut tx, &auth.wallet_id).await?;
                let done: Option<i64> = sqlx::query_scalar("SELECT amount FROM wallet_entries WHERE wallet_id = $1 AND kind = 'refund' AND reference = $2")
                    .bind(&auth.wallet_id)
                    .bind(refund_reference)
                    .fetch_optional(&mut *tx)
                    .await?;
                if done.is_some() {
                    return Ok(WalletRefund::Credited);
                }
                let reserved = sqlx::query(
                    "UPDATE wallet_authorizations SET refunded = refunded + $1, updated_at = $2 \
                     WHERE id = $3 AND status = 'captured' AND refunded + $1 <= amount",
                )
                .bind(amount)
                .bind(now)
                .bind(authorization_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if reserved == 0 {
                    return Ok(WalletRefund::Refused);
                }
                Self::wallet_entry(&mut tx, &auth.wallet_id, "refund", amount, refund_reference, now).await?;
                tx.commit().await?;
                Ok(WalletRefund::Credited)
            }
        }
    };
}

pub(crate) use wallet_store_methods;
