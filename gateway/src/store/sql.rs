//! The one SQL implementation of [`Store`](super::Store), stamped out for each engine.
//! Both engines accept `$n` placeholders, and the schemas only differ in column type names, so
//! the statements are shared text. Each engine supplies `read_pool`, `write_pool` and
//! `begin_write` (SQLite takes the write lock up front with `BEGIN IMMEDIATE`).

/// `text` with the LIKE wildcards and the escape character escaped (escape character `\`).
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Lower-cased `%text%`, matched literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    format!("%{}%", escape_like(&text.to_lowercase()))
}

/// A LIKE pattern for an event type, or for a family of them (`payment_intent.*`).
pub(crate) fn type_pattern(kind: &str) -> String {
    match kind.strip_suffix('*') {
        Some(prefix) => format!("{}%", escape_like(prefix)),
        None => escape_like(kind),
    }
}

pub(crate) const MERCHANT_PAYABLE: &str = "merchant_payable";
pub(crate) const PROCESSOR_RECEIVABLE: &str = "processor_receivable";

macro_rules! sql_store {
    ($store:ident, $db:ty, $engine:literal) => {
        use $crate::clock::Millis;
        use $crate::domain::event::{Event, EventNotice};
        use $crate::domain::intent::{event_type_for, IntentTransition, PaymentIntent};
        use $crate::domain::keys::{ApiKeyRecord, KeyHash};
        use $crate::domain::merchant::Merchant;
        use $crate::domain::refund::{Refund, RefundOutcome};
        use $crate::domain::transaction::Transaction;
        use $crate::domain::Scope;
        use $crate::ids::{random_base62, IdKind};
        use $crate::store::rows::*;
        use $crate::store::sql::{contains_pattern, type_pattern, MERCHANT_PAYABLE, PROCESSOR_RECEIVABLE};
        use $crate::store::{
            Cursor, EventFilter, EventListener, IdempotencyBegin, IdempotencyScope, IntentFilter, LedgerViolation, NewIntentRecord,
            NewRefundRecord, Page, RefundFilter, RefundReservation, RetryObject, Store, TransactionFilter,
            TransitionOutcome,
        };

        use sqlx::Row as _;

        type Tx = sqlx::Transaction<'static, $db>;

        fn is_unique_violation(e: &sqlx::Error) -> bool {
            matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
        }

        /// Matches one idempotency key: its five scope columns are always `$1`..`$5`.
        const KEY_MATCH: &str = "merchant_id = $1 AND livemode = $2 AND method = $3 AND path = $4 AND key = $5";

        fn key_query<'q>(sql: &'q str, k: &'q IdempotencyScope) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&k.merchant_id).bind(k.livemode).bind(&k.method).bind(&k.path).bind(&k.key)
        }

        fn cursor_parts(page: &Page) -> (Option<i64>, Option<String>) {
            match &page.after {
                Some(Cursor { created_at, id }) => (Some(*created_at), Some(id.clone())),
                None => (None, None),
            }
        }

        impl $store {
            /// One object by id, only within `scope` (another merchant's or mode's id is not found).
            async fn scoped<R, T>(&self, columns: &str, table: &str, scope: &Scope, id: &str) -> Result<T, StoreError>
            where
                R: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
                T: TryFrom<R, Error = StoreError>,
            {
                let sql = format!("SELECT {columns} FROM {table} WHERE id = $1 AND merchant_id = $2 AND livemode = $3");
                sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .fetch_optional(self.read_pool())
                    .await?
                    .map(T::try_from)
                    .transpose()?
                    .ok_or(StoreError::NotFound)
            }

            /// Appends one event with the merchant's next sequence number. The merchant row stays
            /// locked until commit, so events of one merchant commit in sequence order.
            async fn append_event(
                tx: &mut Tx,
                scope: &Scope,
                kind: &str,
                object_id: &str,
                payload: &serde_json::Value,
                now: Millis,
            ) -> Result<EventNotice, StoreError> {
                let seq: i64 = sqlx::query_scalar(
                    "UPDATE merchants SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
                )
                .bind(&scope.merchant_id)
                .fetch_one(&mut **tx)
                .await?;
                let previous_object_seq: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE object_id = $1 AND merchant_id = $2")
                        .bind(object_id)
                        .bind(&scope.merchant_id)
                        .fetch_one(&mut **tx)
                        .await?;
                let event = Event {
                    id: IdKind::Event.generate(),
                    object: "event".into(),
                    livemode: scope.livemode,
                    sequence: seq,
                    kind: kind.to_owned(),
                    data: payload.clone(),
                    created_at: now,
                };
                sqlx::query(
                    "INSERT INTO events (id, merchant_id, livemode, seq, type, object_id, payload, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&event.id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .bind(seq)
                .bind(kind)
                .bind(object_id)
                .bind(payload.to_string())
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Self::enqueue_webhook_deliveries(tx, scope, &event.id, kind, now).await?;
                Ok(EventNotice { merchant_id: scope.merchant_id.clone(), object_id: object_id.to_owned(), previous_object_seq, event })
            }

            async fn append_intent_event(tx: &mut Tx, scope: &Scope, intent: &PaymentIntent, now: Millis) -> Result<EventNotice, StoreError> {
                let payload = serde_json::to_value(intent).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Self::append_event(tx, scope, &event_type_for(intent.status), &intent.id, &payload, now).await
            }

            async fn append_refund_event(tx: &mut Tx, scope: &Scope, refund: &Refund, now: Millis) -> Result<EventNotice, StoreError> {
                let payload = serde_json::to_value(refund).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let kind = format!("refund.{}", if refund.status == $crate::domain::refund::RefundStatus::Pending { "created" } else { refund.status.as_str() });
                Self::append_event(tx, scope, &kind, &refund.id, &payload, now).await
            }

            /// Commits, then tells the live streams about the events the transaction appended.
            async fn commit_announcing(&self, tx: Tx, notices: Vec<EventNotice>) -> Result<(), StoreError> {
                tx.commit().await?;
                let listener = self.listener.read().ok().and_then(|l| l.clone());
                if let Some(listener) = listener {
                    listener(notices);
                }
                Ok(())
            }

            #[allow(clippy::too_many_arguments)]
            async fn insert_transaction(
                tx: &mut Tx,
                scope: &Scope,
                kind: &str,
                status: &str,
                intent: &PaymentIntent,
                refund_id: Option<&str>,
                amount: i64,
                now: Millis,
            ) -> Result<String, StoreError> {
                let id = IdKind::Transaction.generate();
                sqlx::query(
                    "INSERT INTO transactions (id, merchant_id, livemode, type, status, payment_intent_id, refund_id, \
                     amount, currency, customer_name, customer_name_search, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
                )
                .bind(&id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .bind(kind)
                .bind(status)
                .bind(&intent.id)
                .bind(refund_id)
                .bind(amount)
                .bind(intent.currency.code())
                .bind(&intent.customer_name)
                .bind(intent.customer_name.to_lowercase())
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(id)
            }

            /// Double entry: `amount` moves from `credit` to `debit`; the two postings sum to zero.
            #[allow(clippy::too_many_arguments)]
            async fn post(
                tx: &mut Tx,
                scope: &Scope,
                transaction_id: &str,
                currency: &str,
                debit: &str,
                credit: &str,
                amount: i64,
                now: Millis,
            ) -> Result<(), StoreError> {
                for (account, signed) in [(debit, amount), (credit, -amount)] {
                    sqlx::query(
                        "INSERT INTO ledger_postings (id, transaction_id, merchant_id, livemode, account, currency, amount, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(IdKind::Posting.generate())
                    .bind(transaction_id)
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(account)
                    .bind(currency)
                    .bind(signed)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            async fn intent_in(tx: &mut Tx, scope: &Scope, id: &str) -> Result<Option<PaymentIntent>, StoreError> {
                let sql = format!("SELECT {INTENT_COLUMNS} FROM payment_intents WHERE id = $1 AND merchant_id = $2 AND livemode = $3");
                sqlx::query_as::<_, IntentRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .fetch_optional(&mut **tx)
                    .await?
                    .map(PaymentIntent::try_from)
                    .transpose()
            }

            async fn refund_by_key(tx: &mut Tx, scope: &Scope, key: &str) -> Result<Option<(Refund, String, String)>, StoreError> {
                let sql = format!(
                    "SELECT {REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND livemode = $2 AND idempotency_key = $3"
                );
                let Some(refund) = sqlx::query_as::<_, RefundRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(key)
                    .fetch_optional(&mut **tx)
                    .await?
                else {
                    return Ok(None);
                };
                let refund = Refund::try_from(refund)?;
                let (connector, connector_ref): (Option<String>, Option<String>) =
                    sqlx::query_as("SELECT connector, connector_ref FROM payment_intents WHERE id = $1")
                        .bind(&refund.payment_intent)
                        .fetch_one(&mut **tx)
                        .await?;
                Ok(Some((refund, connector.unwrap_or_default(), connector_ref.unwrap_or_default())))
            }

            /// A refund found by idempotency key answers the retry only if it is the same request
            /// (same intent, and the same amount when one was given).
            fn existing_refund((refund, connector, connector_ref): (Refund, String, String), new: &NewRefundRecord) -> RefundReservation {
                let same_amount = new.amount.is_none_or(|a| a.minor_units() == refund.amount);
                if refund.payment_intent == new.payment_intent_id && same_amount {
                    RefundReservation::Existing { refund, connector, connector_ref }
                } else {
                    RefundReservation::KeyReused
                }
            }

            async fn try_reserve_refund(&self, scope: &Scope, new: &NewRefundRecord) -> Result<RefundReservation, StoreError> {
                let mut tx = self.begin_write().await?;
                if let Some(key) = &new.idempotency_key {
                    if let Some(found) = Self::refund_by_key(&mut tx, scope, key).await? {
                        return Ok(Self::existing_refund(found, new));
                    }
                }
                let Some(current) = Self::intent_in(&mut tx, scope, &new.payment_intent_id).await? else {
                    return Ok(RefundReservation::IntentMissing);
                };
                if !current.status.is_refundable() {
                    return Ok(RefundReservation::NotRefundable(current.status));
                }
                let amount = new.amount.map_or(current.amount_captured - current.amount_refunded, |a| a.minor_units());
                if amount <= 0 {
                    return Ok(RefundReservation::ExceedsCaptured { available: 0 });
                }
                // The compare-and-set: a concurrent refund may have taken the room since the read.
                let sql = format!(
                    "UPDATE payment_intents SET amount_refunded = amount_refunded + $1, updated_at = $2 \
                     WHERE id = $3 AND merchant_id = $4 AND livemode = $5 \
                       AND status IN ('succeeded', 'partially_refunded') \
                       AND amount_captured - amount_refunded >= $1 \
                     RETURNING {INTENT_COLUMNS}"
                );
                let reserved = sqlx::query_as::<_, IntentRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(amount)
                    .bind(new.created_at)
                    .bind(&new.payment_intent_id)
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .fetch_optional(&mut *tx)
                    .await?;
                let intent = match reserved {
                    Some(row) => PaymentIntent::try_from(row)?,
                    None => {
                        return Ok(match Self::intent_in(&mut tx, scope, &new.payment_intent_id).await? {
                            None => RefundReservation::IntentMissing,
                            Some(i) if !i.status.is_refundable() => RefundReservation::NotRefundable(i.status),
                            Some(i) => RefundReservation::ExceedsCaptured { available: i.amount_captured - i.amount_refunded },
                        });
                    }
                };
                let inserted = sqlx::query(
                    "INSERT INTO refunds (id, merchant_id, livemode, payment_intent_id, amount, currency, status, reason, \
                     idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $9)",
                )
                .bind(&new.id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .bind(&intent.id)
                .bind(amount)
                .bind(intent.currency.code())
                .bind(&new.reason)
                .bind(&new.idempotency_key)
                .bind(new.created_at)
                .execute(&mut *tx)
                .await?;
                debug_assert_eq!(inserted.rows_affected(), 1);
                Self::insert_transaction(&mut tx, scope, "refund", "pending", &intent, Some(&new.id), amount, new.created_at).await?;
                let refund = Refund {
                    id: new.id.clone(),
                    object: "refund".into(),
                    livemode: scope.livemode,
                    payment_intent: intent.id.clone(),
                    amount,
                    currency: intent.currency,
                    status: $crate::domain::refund::RefundStatus::Pending,
                    reason: new.reason.clone(),
                    failure_code: None,
                    created_at: new.created_at,
                };
                let notice = Self::append_refund_event(&mut tx, scope, &refund, new.created_at).await?;
                let connector_ref = Self::connector_ref_in(&mut tx, &intent.id).await?;
                self.commit_announcing(tx, vec![notice]).await?;
                Ok(RefundReservation::Reserved {
                    refund,
                    connector: intent.connector.unwrap_or_default(),
                    connector_ref: connector_ref.unwrap_or_default(),
                })
            }

            async fn connector_ref_in(tx: &mut Tx, intent_id: &str) -> Result<Option<String>, StoreError> {
                let r: Option<Option<String>> = sqlx::query_scalar("SELECT connector_ref FROM payment_intents WHERE id = $1")
                    .bind(intent_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                Ok(r.flatten())
            }
        }

        $crate::store::webhook_sql::webhook_helpers!($store, $db);
        $crate::store::webhook_sql::webhook_store_methods!($store, $engine);
        $crate::store::wallet_sql::wallet_store_methods!($store, $db);
        $crate::store::customer_sql::customer_store_methods!($store);

        #[async_trait::async_trait]
        impl Store for $store {
            fn engine(&self) -> &'static str {
                $engine
            }

            fn write_commits(&self) -> Option<u64> {
                $store::write_commits(self)
            }

            async fn create_merchant(&self, m: &Merchant) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(&m.id)
                    .bind(&m.name)
                    .bind(m.created_at)
                    .execute(self.write_pool())
                    .await?;
                Ok(())
            }

            async fn get_merchant(&self, id: &str) -> Result<Merchant, StoreError> {
                let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = $1");
                sqlx::query_as::<_, MerchantRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .fetch_optional(self.read_pool())
                    .await?
                    .map(Merchant::from)
                    .ok_or(StoreError::NotFound)
            }

            async fn list_merchants(&self) -> Result<Vec<Merchant>, StoreError> {
                let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY created_at, id");
                let rows = sqlx::query_as::<_, MerchantRow>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(self.read_pool()).await?;
                Ok(rows.into_iter().map(Merchant::from).collect())
            }

            async fn insert_api_key(&self, k: &ApiKeyRecord) -> Result<(), StoreError> {
                sqlx::query(
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
                .bind(k.revoked_at)
                .execute(self.write_pool())
                .await?;
                Ok(())
            }

            async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
                sqlx::query_as::<_, KeyRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&hash.0)
                    .fetch_optional(self.read_pool())
                    .await?
                    .map(ApiKeyRecord::try_from)
                    .transpose()
            }

            async fn get_api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError> {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
                sqlx::query_as::<_, KeyRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .fetch_optional(self.read_pool())
                    .await?
                    .map(ApiKeyRecord::try_from)
                    .transpose()?
                    .ok_or(StoreError::NotFound)
            }

            async fn list_api_keys(&self, merchant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE merchant_id = $1 ORDER BY created_at, id");
                let rows = sqlx::query_as::<_, KeyRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(merchant_id).fetch_all(self.read_pool()).await?;
                rows.into_iter().map(ApiKeyRecord::try_from).collect()
            }

            async fn expire_api_key(&self, id: &str, at: Millis) -> Result<ApiKeyRecord, StoreError> {
                let sql = format!(
                    "UPDATE api_keys SET expires_at = $1 WHERE id = $2 AND (expires_at IS NULL OR expires_at > $1) RETURNING {KEY_COLUMNS}"
                );
                let updated = sqlx::query_as::<_, KeyRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(at).bind(id).fetch_optional(self.write_pool()).await?;
                match updated {
                    Some(row) => ApiKeyRecord::try_from(row),
                    None => self.get_api_key(id).await,
                }
            }

            async fn revoke_api_key(&self, id: &str, now: Millis) -> Result<ApiKeyRecord, StoreError> {
                sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(self.write_pool())
                    .await?;
                self.get_api_key(id).await
            }

            async fn create_intent(&self, n: &NewIntentRecord) -> Result<PaymentIntent, StoreError> {
                let mut tx = self.begin_write().await?;
                let i = &n.intent;
                let metadata = serde_json::to_string(&i.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let sql = format!(
                    "INSERT INTO payment_intents (id, merchant_id, livemode, status, amount, currency, merchant_order_id, \
                     order_name, customer_name, customer_name_search, customer_email, confirm_mode, metadata, approval_code, \
                     approval_url, created_at, updated_at, expires_at, approval_app_url, approval_intent_url) \
                     VALUES ($1, $2, $3, 'requires_action', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18) \
                     RETURNING {INTENT_COLUMNS}"
                );
                let row = sqlx::query_as::<_, IntentRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&n.id)
                    .bind(&n.scope.merchant_id)
                    .bind(n.scope.livemode)
                    .bind(i.amount.minor_units())
                    .bind(i.currency.code())
                    .bind(&i.merchant_order_id)
                    .bind(&i.order_name)
                    .bind(&i.customer_name)
                    .bind(i.customer_name.to_lowercase())
                    .bind(&i.customer_email)
                    .bind(i.confirm_mode.as_str())
                    .bind(metadata)
                    .bind(&n.links.code)
                    .bind(&n.links.url)
                    .bind(n.created_at)
                    .bind(n.expires_at)
                    .bind(&n.links.app_url)
                    .bind(&n.links.android_intent_url)
                    .fetch_one(&mut *tx)
                    .await?;
                let intent = PaymentIntent::try_from(row)?;
                let payload = serde_json::to_value(&intent).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let notice = Self::append_event(&mut tx, &n.scope, "payment_intent.created", &intent.id, &payload, n.created_at).await?;
                self.commit_announcing(tx, vec![notice]).await?;
                Ok(intent)
            }

            async fn get_intent(&self, scope: &Scope, id: &str) -> Result<PaymentIntent, StoreError> {
                self.scoped::<IntentRow, PaymentIntent>(INTENT_COLUMNS, "payment_intents", scope, id).await
            }

            async fn list_intents(&self, scope: &Scope, f: &IntentFilter, page: &Page) -> Result<Vec<PaymentIntent>, StoreError> {
                let (after_ts, after_id) = cursor_parts(page);
                let sql = format!(
                    "SELECT {INTENT_COLUMNS} FROM payment_intents \
                     WHERE merchant_id = $1 AND livemode = $2 \
                       AND ($3 IS NULL OR status = $3) \
                       AND ($4 IS NULL OR customer_name_search LIKE $4 ESCAPE '\\') \
                       AND ($5 IS NULL OR created_at >= $5) \
                       AND ($6 IS NULL OR created_at < $6) \
                       AND ($7 IS NULL OR created_at < $7 OR (created_at = $7 AND id < $8)) \
                     ORDER BY created_at DESC, id DESC LIMIT $9"
                );
                let rows = sqlx::query_as::<_, IntentRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(f.status.map(|s| s.as_str()))
                    .bind(f.customer_name.as_deref().map(contains_pattern))
                    .bind(f.created_gte)
                    .bind(f.created_lt)
                    .bind(after_ts)
                    .bind(after_id)
                    .bind(i64::from(page.limit))
                    .fetch_all(self.read_pool())
                    .await?;
                rows.into_iter().map(PaymentIntent::try_from).collect()
            }

            async fn find_intent_by_code(&self, code: &str) -> Result<Option<$crate::store::CodedIntent>, StoreError> {
                let sql = format!(
                    "SELECT {INTENT_COLUMNS}, merchant_id, customer_id, \
                     (SELECT name FROM merchants m WHERE m.id = payment_intents.merchant_id) AS merchant_name \
                     FROM payment_intents WHERE approval_code = $1"
                );
                let row = sqlx::query_as::<_, $crate::store::rows::CodedIntentRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(code).fetch_optional(self.read_pool()).await?;
                row.map($crate::store::CodedIntent::try_from).transpose()
            }

            async fn list_customer_payments(&self, customer_id: &str, page: &Page) -> Result<Vec<$crate::store::CustomerPayment>, StoreError> {
                let (after_ts, after_id) = cursor_parts(page);
                let sql = format!(
                    "SELECT {INTENT_COLUMNS}, (SELECT name FROM merchants m WHERE m.id = payment_intents.merchant_id) AS merchant_name \
                     FROM payment_intents WHERE customer_id = $1 \
                       AND ($2 IS NULL OR created_at < $2 OR (created_at = $2 AND id < $3)) \
                     ORDER BY created_at DESC, id DESC LIMIT $4"
                );
                let rows = sqlx::query_as::<_, $crate::store::rows::CustomerPaymentRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(customer_id)
                    .bind(after_ts)
                    .bind(after_id)
                    .bind(i64::from(page.limit))
                    .fetch_all(self.read_pool())
                    .await?;
                rows.into_iter().map($crate::store::CustomerPayment::try_from).collect()
            }

            async fn intent_connector_ref(&self, scope: &Scope, id: &str) -> Result<Option<String>, StoreError> {
                let r: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT connector_ref FROM payment_intents WHERE id = $1 AND merchant_id = $2 AND livemode = $3",
                )
                .bind(id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .fetch_optional(self.read_pool())
                .await?;
                r.ok_or(StoreError::NotFound)
            }

            async fn transition_intent(
                &self,
                scope: &Scope,
                id: &str,
                t: &IntentTransition,
                now: Millis,
                not_expired_at: Option<Millis>,
            ) -> Result<TransitionOutcome, StoreError> {
                let from = t.allowed_from();
                // Every transition leaves from one or two states.
                let (from_a, from_b) = (from[0].as_str(), from[from.len() - 1].as_str());
                let (mut connector, mut connector_ref, mut failure_code, mut failure_message, mut reason, mut deadline) =
                    (None, None, None, None, None, None);
                let mut customer = None;
                match t {
                    IntentTransition::StartProcessing { connector: c, customer: who } => {
                        connector = Some(c.clone());
                        customer = who.clone();
                    }
                    IntentTransition::RequireConfirmation { connector_ref: r, confirm_deadline } => {
                        connector_ref = Some(r.clone());
                        deadline = Some(*confirm_deadline);
                    }
                    IntentTransition::Capture { connector_ref: r } => connector_ref = Some(r.clone()),
                    IntentTransition::Fail { code, message } => {
                        failure_code = Some(code.clone());
                        failure_message = Some(message.clone());
                    }
                    IntentTransition::Decline { customer: who } => {
                        customer = who.clone();
                        failure_code = Some("customer_declined".to_owned());
                        failure_message = Some("The customer declined the payment.".to_owned());
                    }
                    IntentTransition::Cancel { reason: r } => reason = r.clone(),
                    IntentTransition::StartCapture | IntentTransition::Expire => {}
                }
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE payment_intents SET status = $1, updated_at = $2, \
                       connector = COALESCE($3, connector), connector_ref = COALESCE($4, connector_ref), \
                       failure_code = COALESCE($5, failure_code), failure_message = COALESCE($6, failure_message), \
                       cancellation_reason = COALESCE($7, cancellation_reason), \
                       confirm_deadline = COALESCE($8, confirm_deadline), customer_id = COALESCE($15, customer_id), \
                       amount_captured = CASE WHEN $1 = 'succeeded' THEN amount ELSE amount_captured END \
                     WHERE id = $9 AND merchant_id = $10 AND livemode = $11 AND (status = $12 OR status = $13) \
                       AND ($14 IS NULL OR (CASE WHEN status = 'requires_confirmation' THEN confirm_deadline ELSE expires_at END) > $14) \
                     RETURNING {INTENT_COLUMNS}"
                );
                let updated = sqlx::query_as::<_, IntentRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(t.target().as_str())
                    .bind(now)
                    .bind(connector)
                    .bind(connector_ref)
                    .bind(failure_code)
                    .bind(failure_message)
                    .bind(reason)
                    .bind(deadline)
                    .bind(id)
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(from_a)
                    .bind(from_b)
                    .bind(not_expired_at)
                    .bind(customer)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = updated else {
                    return match Self::intent_in(&mut tx, scope, id).await? {
                        Some(current) => Ok(TransitionOutcome::Refused(current)),
                        None => Err(StoreError::NotFound),
                    };
                };
                let intent = PaymentIntent::try_from(row)?;
                match t {
                    IntentTransition::Capture { .. } => {
                        let txn = Self::insert_transaction(&mut tx, scope, "payment", "succeeded", &intent, None, intent.amount, now).await?;
                        Self::post(&mut tx, scope, &txn, intent.currency.code(), PROCESSOR_RECEIVABLE, MERCHANT_PAYABLE, intent.amount, now).await?;
                    }
                    IntentTransition::Cancel { .. } => {
                        Self::insert_transaction(&mut tx, scope, "cancel", "succeeded", &intent, None, intent.amount, now).await?;
                    }
                    _ => {}
                }
                let notice = Self::append_intent_event(&mut tx, scope, &intent, now).await?;
                self.commit_announcing(tx, vec![notice]).await?;
                Ok(TransitionOutcome::Applied(intent))
            }

            async fn record_authorization(&self, scope: &Scope, id: &str, connector_ref: &str, now: Millis) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE payment_intents SET connector_ref = $1, updated_at = $2 \
                     WHERE id = $3 AND merchant_id = $4 AND livemode = $5 AND status = 'processing'",
                )
                .bind(connector_ref)
                .bind(now)
                .bind(id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .execute(self.write_pool())
                .await?;
                Ok(())
            }

            async fn stale_processing(&self, before: Millis, now: Millis, limit: u32) -> Result<Vec<(Scope, String)>, StoreError> {
                let rows: Vec<(String, bool, String)> = sqlx::query_as(
                    "SELECT merchant_id, livemode, id FROM payment_intents \
                     WHERE status = 'processing' AND updated_at < $1 AND next_recovery_at <= $2 \
                     ORDER BY updated_at LIMIT $3",
                )
                .bind(before)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(self.read_pool())
                .await?;
                Ok(rows.into_iter().map(|(merchant_id, livemode, id)| (Scope { merchant_id, livemode }, id)).collect())
            }

            async fn defer_retry(&self, object: RetryObject, id: &str, backoff: &(dyn Fn(i64) -> Millis + Sync)) -> Result<i64, StoreError> {
                let (attempts_sql, next_sql) = match object {
                    RetryObject::IntentRecovery => (
                        "UPDATE payment_intents SET recovery_attempts = recovery_attempts + 1 WHERE id = $1 RETURNING recovery_attempts",
                        "UPDATE payment_intents SET next_recovery_at = $1 WHERE id = $2",
                    ),
                    RetryObject::RefundSettlement => (
                        "UPDATE refunds SET settle_attempts = settle_attempts + 1 WHERE id = $1 RETURNING settle_attempts",
                        "UPDATE refunds SET next_settle_at = $1 WHERE id = $2",
                    ),
                };
                let mut tx = self.begin_write().await?;
                let attempts: i64 = sqlx::query_scalar(attempts_sql).bind(id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
                sqlx::query(next_sql).bind(backoff(attempts)).bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(attempts)
            }

            async fn intents_due_for_expiry(&self, now: Millis, limit: u32) -> Result<Vec<(Scope, String)>, StoreError> {
                let rows: Vec<(String, bool, String)> = sqlx::query_as(
                    "SELECT merchant_id, livemode, id FROM payment_intents \
                     WHERE (status = 'requires_action' AND expires_at <= $1) \
                        OR (status = 'requires_confirmation' AND confirm_deadline <= $1) \
                     ORDER BY expires_at LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(self.read_pool())
                .await?;
                Ok(rows.into_iter().map(|(merchant_id, livemode, id)| (Scope { merchant_id, livemode }, id)).collect())
            }

            async fn reserve_refund(&self, scope: &Scope, new: &NewRefundRecord) -> Result<RefundReservation, StoreError> {
                match self.try_reserve_refund(scope, new).await {
                    // Two retries with one key raced: the loser finds the winner's refund.
                    Err(StoreError::Database(e)) if is_unique_violation(&e) && new.idempotency_key.is_some() => {
                        let mut tx = self.begin_write().await?;
                        let key = new.idempotency_key.as_deref().unwrap_or_default();
                        match Self::refund_by_key(&mut tx, scope, key).await? {
                            Some(found) => Ok(Self::existing_refund(found, new)),
                            None => Err(StoreError::Database(e)),
                        }
                    }
                    other => other,
                }
            }

            async fn complete_refund(&self, scope: &Scope, refund_id: &str, outcome: &RefundOutcome, now: Millis) -> Result<Refund, StoreError> {
                let mut tx = self.begin_write().await?;
                // Lock the intent row first (a no-op update works on both engines): on PostgreSQL each
                // later statement then sees every refund of this intent settled before us.
                sqlx::query(
                    "UPDATE payment_intents SET updated_at = updated_at \
                     WHERE id = (SELECT payment_intent_id FROM refunds WHERE id = $1 AND merchant_id = $2 AND livemode = $3)",
                )
                .bind(refund_id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .execute(&mut *tx)
                .await?;
                let (status, failure_code, connector_ref) = match outcome {
                    RefundOutcome::Succeeded { connector_ref } => ("succeeded", None, Some(connector_ref.as_str())),
                    RefundOutcome::Failed { code } => ("failed", Some(code.as_str()), None),
                };
                let sql = format!(
                    "UPDATE refunds SET status = $1, failure_code = $2, connector_ref = $3, updated_at = $4 \
                     WHERE id = $5 AND merchant_id = $6 AND livemode = $7 AND status = 'pending' RETURNING {REFUND_COLUMNS}"
                );
                let updated = sqlx::query_as::<_, RefundRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(status)
                    .bind(failure_code)
                    .bind(connector_ref)
                    .bind(now)
                    .bind(refund_id)
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = updated else {
                    drop(tx);
                    return self.get_refund(scope, refund_id).await;
                };
                let refund = Refund::try_from(row)?;
                sqlx::query("UPDATE transactions SET status = $1, updated_at = $2 WHERE refund_id = $3")
                    .bind(status)
                    .bind(now)
                    .bind(refund_id)
                    .execute(&mut *tx)
                    .await?;
                let notices = match outcome {
                    RefundOutcome::Succeeded { .. } => {
                        let txn: String = sqlx::query_scalar("SELECT id FROM transactions WHERE refund_id = $1")
                            .bind(refund_id)
                            .fetch_one(&mut *tx)
                            .await?;
                        Self::post(&mut tx, scope, &txn, refund.currency.code(), MERCHANT_PAYABLE, PROCESSOR_RECEIVABLE, refund.amount, now).await?;
                        let sql = format!(
                            "UPDATE payment_intents SET updated_at = $1, status = CASE WHEN \
                               (SELECT COALESCE(SUM(r.amount), 0) FROM refunds r WHERE r.payment_intent_id = payment_intents.id AND r.status = 'succeeded') \
                               >= amount_captured THEN 'refunded' ELSE 'partially_refunded' END \
                             WHERE id = $2 RETURNING {INTENT_COLUMNS}"
                        );
                        let row = sqlx::query_as::<_, IntentRow>(sqlx::AssertSqlSafe(sql.as_str()))
                            .bind(now)
                            .bind(&refund.payment_intent)
                            .fetch_one(&mut *tx)
                            .await?;
                        let intent = PaymentIntent::try_from(row)?;
                        vec![
                            Self::append_refund_event(&mut tx, scope, &refund, now).await?,
                            Self::append_intent_event(&mut tx, scope, &intent, now).await?,
                        ]
                    }
                    RefundOutcome::Failed { .. } => {
                        sqlx::query("UPDATE payment_intents SET amount_refunded = amount_refunded - $1, updated_at = $2 WHERE id = $3")
                            .bind(refund.amount)
                            .bind(now)
                            .bind(&refund.payment_intent)
                            .execute(&mut *tx)
                            .await?;
                        vec![Self::append_refund_event(&mut tx, scope, &refund, now).await?]
                    }
                };
                self.commit_announcing(tx, notices).await?;
                Ok(refund)
            }

            async fn get_refund(&self, scope: &Scope, id: &str) -> Result<Refund, StoreError> {
                self.scoped::<RefundRow, Refund>(REFUND_COLUMNS, "refunds", scope, id).await
            }

            async fn pending_refunds(&self, created_before: Millis, now: Millis, limit: u32) -> Result<Vec<(Scope, Refund, String, String)>, StoreError> {
                let rows: Vec<(String, bool, String, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT r.merchant_id, r.livemode, r.id, i.connector, i.connector_ref \
                     FROM refunds r JOIN payment_intents i ON i.id = r.payment_intent_id \
                     WHERE r.status = 'pending' AND r.created_at < $1 AND r.next_settle_at <= $2 \
                     ORDER BY r.created_at LIMIT $3",
                )
                .bind(created_before)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(self.read_pool())
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for (merchant_id, livemode, id, connector, connector_ref) in rows {
                    let scope = Scope { merchant_id, livemode };
                    let refund = self.get_refund(&scope, &id).await?;
                    out.push((scope, refund, connector.unwrap_or_default(), connector_ref.unwrap_or_default()));
                }
                Ok(out)
            }

            async fn list_refunds(&self, scope: &Scope, f: &RefundFilter, page: &Page) -> Result<Vec<Refund>, StoreError> {
                let (after_ts, after_id) = cursor_parts(page);
                let sql = format!(
                    "SELECT {REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND livemode = $2 \
                       AND ($3 IS NULL OR payment_intent_id = $3) \
                       AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
                     ORDER BY created_at DESC, id DESC LIMIT $6"
                );
                let rows = sqlx::query_as::<_, RefundRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(&f.payment_intent)
                    .bind(after_ts)
                    .bind(after_id)
                    .bind(i64::from(page.limit))
                    .fetch_all(self.read_pool())
                    .await?;
                rows.into_iter().map(Refund::try_from).collect()
            }

            async fn list_transactions(&self, scope: &Scope, f: &TransactionFilter, page: &Page) -> Result<Vec<Transaction>, StoreError> {
                let (after_ts, after_id) = cursor_parts(page);
                let sql = format!(
                    "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE merchant_id = $1 AND livemode = $2 \
                       AND ($3 IS NULL OR type = $3) \
                       AND ($4 IS NULL OR customer_name_search LIKE $4 ESCAPE '\\') \
                       AND ($5 IS NULL OR created_at >= $5) \
                       AND ($6 IS NULL OR created_at < $6) \
                       AND ($7 IS NULL OR payment_intent_id = $7) \
                       AND ($8 IS NULL OR created_at < $8 OR (created_at = $8 AND id < $9)) \
                     ORDER BY created_at DESC, id DESC LIMIT $10"
                );
                let rows = sqlx::query_as::<_, TransactionRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(f.kind.map(|k| k.as_str()))
                    .bind(f.customer_name.as_deref().map(contains_pattern))
                    .bind(f.created_gte)
                    .bind(f.created_lt)
                    .bind(&f.payment_intent)
                    .bind(after_ts)
                    .bind(after_id)
                    .bind(i64::from(page.limit))
                    .fetch_all(self.read_pool())
                    .await?;
                rows.into_iter().map(Transaction::try_from).collect()
            }

            async fn get_event(&self, scope: &Scope, id: &str) -> Result<Event, StoreError> {
                self.scoped::<EventRow, Event>(EVENT_COLUMNS, "events", scope, id).await
            }

            async fn list_events(&self, scope: &Scope, f: &EventFilter, page: &Page) -> Result<Vec<Event>, StoreError> {
                let (after_seq, after_id) = cursor_parts(page);
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND livemode = $2 \
                       AND ($3 IS NULL OR type LIKE $3 ESCAPE '\\') \
                       AND ($4 IS NULL OR object_id = $4) \
                       AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
                       AND ($7 IS NULL OR seq < $7) \
                     ORDER BY seq DESC LIMIT $8"
                );
                // The cursor's position is the sequence number; its id is not needed.
                let _ = after_id;
                let rows = sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(f.kind.as_deref().map(type_pattern))
                    .bind(&f.object_id)
                    .bind(f.created_gte)
                    .bind(f.created_lt)
                    .bind(after_seq)
                    .bind(i64::from(page.limit))
                    .fetch_all(self.read_pool())
                    .await?;
                rows.into_iter().map(Event::try_from).collect()
            }

            async fn events_after(&self, scope: &Scope, object_id: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
                // Two statements, so each uses its own index: `events_object` for one object's
                // events, `events_stream` for the whole scope. (`$n IS NULL OR object_id = $n`
                // would walk all of the merchant's events on every intent stream's open.)
                let sql = match object_id {
                    Some(_) => format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE object_id = $1 AND merchant_id = $2 AND livemode = $3 \
                           AND seq > $4 ORDER BY seq LIMIT $5"
                    ),
                    None => format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND livemode = $2 \
                           AND seq > $3 ORDER BY seq LIMIT $4"
                    ),
                };
                let mut query = sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql.as_str()));
                if let Some(object) = object_id {
                    query = query.bind(object);
                }
                let rows = query
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(after_seq)
                    .bind(i64::from(limit))
                    .fetch_all(self.read_pool())
                    .await?;
                rows.into_iter().map(Event::try_from).collect()
            }

            async fn record_scan(&self, scope: &Scope, id: &str, now: Millis) -> Result<Option<PaymentIntent>, StoreError> {
                let mut tx = self.begin_write().await?;
                // Locks the intent row, so a scan cannot slip in after a concurrent transition.
                let sql = format!(
                    "UPDATE payment_intents SET updated_at = updated_at WHERE id = $1 AND merchant_id = $2 AND livemode = $3 \
                       AND status = 'requires_action' AND expires_at > $4 RETURNING {INTENT_COLUMNS}"
                );
                let row = sqlx::query_as::<_, IntentRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .bind(&scope.merchant_id)
                    .bind(scope.livemode)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let intent = PaymentIntent::try_from(row)?;
                // Once per intent: reloads, language switches and a second phone add nothing, so an
                // open link cannot be used to fill the merchant's event log.
                let already: Option<i64> = sqlx::query_scalar(
                    "SELECT seq FROM events WHERE merchant_id = $1 AND livemode = $2 AND object_id = $3 \
                       AND type = 'payment_intent.scanned' LIMIT 1",
                )
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .bind(&intent.id)
                .fetch_optional(&mut *tx)
                .await?;
                if already.is_some() {
                    tx.commit().await?;
                    return Ok(Some(intent));
                }
                let payload = serde_json::to_value(&intent).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let notice = Self::append_event(&mut tx, scope, "payment_intent.scanned", &intent.id, &payload, now).await?;
                self.commit_announcing(tx, vec![notice]).await?;
                Ok(Some(intent))
            }

            fn set_event_listener(&self, listener: EventListener) {
                if let Ok(mut current) = self.listener.write() {
                    *current = Some(listener);
                }
            }

            async fn idempotency_begin(&self, k: &IdempotencyScope, fingerprint: &str, now: Millis, lease_until: Millis) -> Result<IdempotencyBegin, StoreError> {
                let lease = random_base62(24);
                let mut tx = self.begin_write().await?;
                let insert = "INSERT INTO idempotency_keys (merchant_id, livemode, method, path, key, fingerprint, state, lease_token, locked_until, created_at) \
                              VALUES ($1, $2, $3, $4, $5, $6, 'in_flight', $7, $8, $9) ON CONFLICT DO NOTHING";
                let select = format!("SELECT fingerprint, state, response_status, response_body, locked_until FROM idempotency_keys WHERE {KEY_MATCH}");
                // The row may vanish between a refused insert and the read (a release): try again.
                let mut attempts = 0;
                let row = loop {
                    attempts += 1;
                    let inserted = key_query(insert, k)
                        .bind(fingerprint)
                        .bind(&lease)
                        .bind(lease_until)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    if inserted.rows_affected() == 1 {
                        tx.commit().await?;
                        return Ok(IdempotencyBegin::Started { lease });
                    }
                    match key_query(&select, k).fetch_optional(&mut *tx).await? {
                        Some(row) => break row,
                        None if attempts < 3 => continue,
                        None => return Ok(IdempotencyBegin::InFlight),
                    }
                };
                if row.try_get::<String, _>("fingerprint")? != fingerprint {
                    return Ok(IdempotencyBegin::Mismatch);
                }
                if row.try_get::<String, _>("state")? == "done" {
                    let status = row.try_get::<Option<i64>, _>("response_status")?.and_then(|s| u16::try_from(s).ok()).unwrap_or(500);
                    let body = row.try_get::<Option<String>, _>("response_body")?.unwrap_or_default();
                    return Ok(IdempotencyBegin::Completed { status, body });
                }
                let locked_until: i64 = row.try_get("locked_until")?;
                if locked_until > now {
                    return Ok(IdempotencyBegin::InFlight);
                }
                // The first request's process died mid-flight: take the key over, once.
                let take = format!(
                    "UPDATE idempotency_keys SET locked_until = $6, lease_token = $7 WHERE {KEY_MATCH} AND state = 'in_flight' AND locked_until = $8"
                );
                let taken = key_query(&take, k).bind(lease_until).bind(&lease).bind(locked_until).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(if taken.rows_affected() == 1 { IdempotencyBegin::Started { lease } } else { IdempotencyBegin::InFlight })
            }

            async fn idempotency_complete(&self, k: &IdempotencyScope, lease: &str, status: u16, body: &str) -> Result<(), StoreError> {
                let sql = format!(
                    "UPDATE idempotency_keys SET state = 'done', response_status = $6, response_body = $7 \
                     WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $8"
                );
                key_query(&sql, k).bind(i64::from(status)).bind(body).bind(lease).execute(self.write_pool()).await?;
                Ok(())
            }

            async fn idempotency_release(&self, k: &IdempotencyScope, lease: &str) -> Result<(), StoreError> {
                let sql = format!("DELETE FROM idempotency_keys WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $6");
                key_query(&sql, k).bind(lease).execute(self.write_pool()).await?;
                Ok(())
            }

            async fn idempotency_purge(&self, created_before: Millis) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(created_before)
                    .execute(self.write_pool())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn ledger_check(&self) -> Result<Vec<LedgerViolation>, StoreError> {
                let mut out = Vec::new();
                let per_currency: Vec<(String, bool, String, i64)> = sqlx::query_as(
                    "SELECT merchant_id, livemode, currency, CAST(SUM(amount) AS BIGINT) FROM ledger_postings \
                     GROUP BY merchant_id, livemode, currency HAVING SUM(amount) <> 0",
                )
                .fetch_all(self.read_pool())
                .await?;
                for (merchant, live, currency, total) in per_currency {
                    out.push(LedgerViolation {
                        invariant: "postings_sum_to_zero_per_currency",
                        detail: format!("merchant {merchant} livemode={live} {currency}: postings sum to {total}"),
                    });
                }
                let per_txn: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT transaction_id, CAST(SUM(amount) AS BIGINT) FROM ledger_postings GROUP BY transaction_id HAVING SUM(amount) <> 0",
                )
                .fetch_all(self.read_pool())
                .await?;
                for (txn, total) in per_txn {
                    out.push(LedgerViolation {
                        invariant: "postings_sum_to_zero_per_transaction",
                        detail: format!("transaction {txn}: postings sum to {total}"),
                    });
                }
                let captures: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT payment_intent_id, COUNT(*) FROM transactions WHERE type = 'payment' GROUP BY payment_intent_id HAVING COUNT(*) > 1",
                )
                .fetch_all(self.read_pool())
                .await?;
                for (intent, n) in captures {
                    out.push(LedgerViolation { invariant: "at_most_one_capture_per_intent", detail: format!("intent {intent}: {n} captures") });
                }
                let sql = format!(
                    "SELECT i.id, i.amount_captured, i.amount_refunded, \
                       CAST(COALESCE((SELECT SUM(t.amount) FROM transactions t WHERE t.payment_intent_id = i.id AND t.type = 'payment' AND t.status = 'succeeded'), 0) AS BIGINT), \
                       CAST(COALESCE((SELECT SUM(t.amount) FROM transactions t WHERE t.payment_intent_id = i.id AND t.type = 'refund' AND t.status = 'succeeded'), 0) AS BIGINT), \
                       CAST(COALESCE((SELECT SUM(p.amount) FROM ledger_postings p JOIN transactions t ON t.id = p.transaction_id \
                                      WHERE t.payment_intent_id = i.id AND p.account = '{MERCHANT_PAYABLE}'), 0) AS BIGINT) \
                     FROM payment_intents i WHERE i.amount_captured > 0 OR i.amount_refunded > 0 \
                        OR EXISTS (SELECT 1 FROM transactions t WHERE t.payment_intent_id = i.id AND t.type <> 'cancel')"
                );
                let intents: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(self.read_pool()).await?;
                for (id, col_captured, col_refunded, captured, refunded, payable) in intents {
                    if refunded > captured {
                        out.push(LedgerViolation { invariant: "refunded_at_most_captured", detail: format!("intent {id}: refunded {refunded} > captured {captured}") });
                    }
                    if col_captured != captured {
                        out.push(LedgerViolation { invariant: "captured_matches_transactions", detail: format!("intent {id}: amount_captured {col_captured}, payment transactions {captured}") });
                    }
                    if col_refunded < refunded || col_refunded > col_captured {
                        out.push(LedgerViolation { invariant: "refund_reservation_consistent", detail: format!("intent {id}: amount_refunded {col_refunded}, succeeded refunds {refunded}, captured {col_captured}") });
                    }
                    if payable != -(captured - refunded) {
                        out.push(LedgerViolation { invariant: "merchant_payable_matches_net_capture", detail: format!("intent {id}: payable postings {payable}, net captured {}", captured - refunded) });
                    }
                }
                // The wallet connector's book: a balance is the sum of its entries, and a wallet
                // authorization is captured at most once per intent (its reference).
                let wallets: Vec<(String, i64, i64)> = sqlx::query_as(
                    "SELECT w.id, w.balance, CAST(COALESCE((SELECT SUM(e.amount) FROM wallet_entries e WHERE e.wallet_id = w.id), 0) AS BIGINT) \
                     FROM wallets w",
                )
                .fetch_all(self.read_pool())
                .await?;
                for (id, balance, entries) in wallets {
                    if balance != entries {
                        out.push(LedgerViolation { invariant: "wallet_balance_matches_entries", detail: format!("wallet {id}: balance {balance}, entries {entries}") });
                    }
                }
                Ok(out)
            }
        }
    };
}

pub(crate) use sql_store;
