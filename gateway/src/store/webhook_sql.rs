//! The webhook part of the one SQL implementation, expanded inside `sql_store!` for each engine.
//! The outbox insert runs inside `append_event`'s transaction; delivery passes claim due rows
//! under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer), and only the
//! lease holder may record the attempt.

/// Helpers that take an open transaction: `impl $store { ... }`.
macro_rules! webhook_helpers {
    ($store:ident, $db:ty) => {
        impl $store {
            /// The transactional outbox: one pending delivery per enabled endpoint of the event's
            /// merchant and mode whose `enabled_events` match, committed with the event itself.
            async fn enqueue_webhook_deliveries(
                tx: &mut sqlx::Transaction<'static, $db>,
                scope: &$crate::domain::Scope,
                event_id: &str,
                kind: &str,
                now: $crate::clock::Millis,
            ) -> Result<(), StoreError> {
                let (exact, family) = $crate::store::webhooks::enabled_events_patterns(kind);
                sqlx::query(
                    "INSERT INTO webhook_deliveries (endpoint_id, event_id, merchant_id, livemode, status, attempts, \
                     next_attempt_at, created_at, updated_at) \
                     SELECT id, $1, merchant_id, livemode, 'pending', 0, $2, $2, $2 FROM webhook_endpoints \
                     WHERE merchant_id = $3 AND livemode = $4 AND status = 'enabled' \
                       AND (enabled_events = '*' OR enabled_events LIKE $5 ESCAPE '\\' OR enabled_events LIKE $6 ESCAPE '\\')",
                )
                .bind(event_id)
                .bind(now)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .bind(exact)
                .bind(family)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn webhook_endpoint_by_id(&self, id: &str) -> Result<$crate::store::webhooks::WebhookEndpointRecord, StoreError> {
                use $crate::store::webhooks::{WebhookEndpointRow, WEBHOOK_ENDPOINT_COLUMNS};
                let sql = format!("SELECT {WEBHOOK_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
                sqlx::query_as::<_, WebhookEndpointRow>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .fetch_optional(self.read_pool())
                    .await?
                    .ok_or(StoreError::NotFound)?
                    .try_into()
            }
        }
    };
}

/// `impl WebhookStore for $store`.
macro_rules! webhook_store_methods {
    ($store:ident, $engine:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::webhooks::WebhookStore for $store {
        async fn insert_webhook_endpoint(&self, e: &$crate::store::webhooks::WebhookEndpointRecord) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, merchant_id, livemode, url, enabled_events, secret, previous_secret, \
                 previous_secret_expires_at, status, disabled_reason, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&e.id)
            .bind(&e.scope.merchant_id)
            .bind(e.scope.livemode)
            .bind(e.url.as_str())
            .bind(e.enabled_events.to_stored())
            .bind(e.secret.expose())
            .bind(e.previous_secret.as_ref().map(|s| s.expose()))
            .bind(e.previous_secret_expires_at)
            .bind(e.status.as_str())
            .bind(&e.disabled_reason)
            .bind(e.created_at)
            .bind(e.updated_at)
            .execute(self.write_pool())
            .await?;
            Ok(())
        }

        async fn get_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<$crate::store::webhooks::WebhookEndpointRecord, StoreError> {
            use $crate::store::webhooks::{WebhookEndpointRecord, WebhookEndpointRow, WEBHOOK_ENDPOINT_COLUMNS};
            self.scoped::<WebhookEndpointRow, WebhookEndpointRecord>(WEBHOOK_ENDPOINT_COLUMNS, "webhook_endpoints", scope, id).await
        }

        async fn find_webhook_endpoint(&self, id: &str) -> Result<$crate::store::webhooks::WebhookEndpointRecord, StoreError> {
            self.webhook_endpoint_by_id(id).await
        }

        async fn list_webhook_endpoints(&self, scope: &Scope, page: &Page) -> Result<Vec<$crate::store::webhooks::WebhookEndpointRecord>, StoreError> {
            use $crate::store::webhooks::{WebhookEndpointRecord, WebhookEndpointRow, WEBHOOK_ENDPOINT_COLUMNS};
            let (after_ts, after_id) = cursor_parts(page);
            let sql = format!(
                "SELECT {WEBHOOK_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id = $1 AND livemode = $2 \
                   AND ($3 IS NULL OR created_at < $3 OR (created_at = $3 AND id < $4)) \
                 ORDER BY created_at DESC, id DESC LIMIT $5"
            );
            let rows = sqlx::query_as::<_, WebhookEndpointRow>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .bind(after_ts)
                .bind(after_id)
                .bind(i64::from(page.limit))
                .fetch_all(self.read_pool())
                .await?;
            rows.into_iter().map(WebhookEndpointRecord::try_from).collect()
        }

        async fn count_webhook_endpoints(&self, scope: &Scope) -> Result<i64, StoreError> {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = $1 AND livemode = $2")
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .fetch_one(self.read_pool())
                .await?)
        }

        async fn update_webhook_endpoint(
            &self,
            scope: &Scope,
            id: &str,
            change: &$crate::store::webhooks::WebhookEndpointChange,
            now: Millis,
        ) -> Result<$crate::store::webhooks::WebhookEndpointRecord, StoreError> {
            use $crate::domain::webhook::EndpointStatus;
            use $crate::store::webhooks::{WebhookEndpointRecord, WebhookEndpointRow, WEBHOOK_ENDPOINT_COLUMNS};
            let mut tx = self.begin_write().await?;
            let sql = format!(
                "UPDATE webhook_endpoints SET url = COALESCE($1, url), enabled_events = COALESCE($2, enabled_events), \
                   status = COALESCE($3, status), disabled_reason = CASE WHEN $3 IS NULL THEN disabled_reason ELSE $4 END, \
                   updated_at = $5 \
                 WHERE id = $6 AND merchant_id = $7 AND livemode = $8 RETURNING {WEBHOOK_ENDPOINT_COLUMNS}"
            );
            let row = sqlx::query_as::<_, WebhookEndpointRow>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(change.url.as_ref().map(|u| u.as_str().to_owned()))
                .bind(change.enabled_events.as_ref().map(|e| e.to_stored()))
                .bind(change.status.as_ref().map(|(s, _)| s.as_str()))
                .bind(change.status.as_ref().and_then(|(_, reason)| reason.clone()))
                .bind(now)
                .bind(id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            if matches!(change.status, Some((EndpointStatus::Enabled, _))) {
                // Resume: what waited while the endpoint was disabled is due now.
                sqlx::query(
                    "UPDATE webhook_deliveries SET next_attempt_at = $1, updated_at = $1 \
                     WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at > $1",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            WebhookEndpointRecord::try_from(row)
        }

        async fn rotate_webhook_secret(
            &self,
            scope: &Scope,
            id: &str,
            secret: &$crate::secret::Secret,
            previous_expires_at: Option<Millis>,
            now: Millis,
        ) -> Result<$crate::store::webhooks::WebhookEndpointRecord, StoreError> {
            use $crate::store::webhooks::{WebhookEndpointRecord, WebhookEndpointRow, WEBHOOK_ENDPOINT_COLUMNS};
            let sql = format!(
                "UPDATE webhook_endpoints SET previous_secret = CASE WHEN $1 IS NULL THEN NULL ELSE secret END, \
                   previous_secret_expires_at = $1, secret = $2, updated_at = $3 \
                 WHERE id = $4 AND merchant_id = $5 AND livemode = $6 RETURNING {WEBHOOK_ENDPOINT_COLUMNS}"
            );
            let row = sqlx::query_as::<_, WebhookEndpointRow>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(previous_expires_at)
                .bind(secret.expose())
                .bind(now)
                .bind(id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .fetch_optional(self.write_pool())
                .await?
                .ok_or(StoreError::NotFound)?;
            WebhookEndpointRecord::try_from(row)
        }

        async fn delete_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<(), StoreError> {
            let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND livemode = $3")
                .bind(id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .execute(self.write_pool())
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }

        async fn claim_webhook_deliveries(
            &self,
            now: Millis,
            lease_until: Millis,
            limit: u32,
        ) -> Result<Vec<$crate::store::webhooks::ClaimedDelivery>, StoreError> {
            use $crate::store::rows::{EventRow, EVENT_COLUMNS};
            use $crate::store::webhooks::ClaimedDelivery;
            // PostgreSQL: replicas skip each other's locked rows instead of waiting on them.
            // SQLite: its single writer serializes passes; the lease column does the rest.
            let lock = if $engine == "postgres" { "FOR UPDATE OF d SKIP LOCKED" } else { "" };
            let token = random_base62(24);
            let sql = format!(
                "UPDATE webhook_deliveries SET lease_until = $1, lease_token = $2 \
                 WHERE (endpoint_id, event_id) IN ( \
                     SELECT d.endpoint_id, d.event_id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                     WHERE d.status = 'pending' AND d.next_attempt_at <= $3 AND (d.lease_until IS NULL OR d.lease_until <= $3) \
                       AND e.status = 'enabled' \
                     ORDER BY d.next_attempt_at LIMIT $4 {lock}) \
                   AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $3) \
                 RETURNING endpoint_id, event_id, attempts"
            );
            let claimed: Vec<(String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(lease_until)
                .bind(&token)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(self.write_pool())
                .await?;
            let mut out = Vec::with_capacity(claimed.len());
            let event_sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
            for (endpoint_id, event_id, attempts) in claimed {
                // Deleted since the claim: its delivery went with it.
                let endpoint = match self.webhook_endpoint_by_id(&endpoint_id).await {
                    Ok(endpoint) => endpoint,
                    Err(StoreError::NotFound) => continue,
                    Err(e) => return Err(e),
                };
                let event = sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(event_sql.as_str()))
                    .bind(&event_id)
                    .fetch_optional(self.read_pool())
                    .await?
                    .ok_or(StoreError::NotFound)?;
                out.push(ClaimedDelivery { endpoint, event: Event::try_from(event)?, attempts, lease_token: token.clone() });
            }
            Ok(out)
        }

        async fn record_webhook_attempt(
            &self,
            scope: &Scope,
            lease_token: &str,
            a: &$crate::domain::webhook::WebhookAttempt,
            update: &$crate::store::webhooks::DeliveryUpdate,
        ) -> Result<bool, StoreError> {
            let mut tx = self.begin_write().await?;
            let owned = sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, next_attempt_at = $2, \
                   lease_until = NULL, lease_token = NULL, updated_at = $3 \
                 WHERE endpoint_id = $4 AND event_id = $5 AND lease_token = $6",
            )
            .bind(update.status.as_str())
            .bind(update.next_attempt_at)
            .bind(a.attempted_at)
            .bind(&a.endpoint)
            .bind(&a.event)
            .bind(lease_token)
            .execute(&mut *tx)
            .await?;
            if owned.rows_affected() == 0 {
                // The lease ran out, or the endpoint was deleted: someone else owns this now.
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO webhook_attempts (id, endpoint_id, event_id, event_type, merchant_id, livemode, attempt, \
                 attempted_at, response_status, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&a.id)
            .bind(&a.endpoint)
            .bind(&a.event)
            .bind(&a.event_type)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(a.attempt)
            .bind(a.attempted_at)
            .bind(a.response_status)
            .bind(a.latency_ms)
            .bind(&a.error)
            .execute(&mut *tx)
            .await?;
            if let Some(reason) = update.disable_endpoint {
                sqlx::query(
                    "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $1, updated_at = $2 \
                     WHERE id = $3 AND status = 'enabled'",
                )
                .bind(reason)
                .bind(a.attempted_at)
                .bind(&a.endpoint)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        }

        async fn list_webhook_attempts(
            &self,
            scope: &Scope,
            endpoint_id: &str,
            page: &Page,
        ) -> Result<Vec<$crate::domain::webhook::WebhookAttempt>, StoreError> {
            use $crate::store::webhooks::{WebhookAttemptRow, WEBHOOK_ATTEMPT_COLUMNS};
            let (after_ts, after_id) = cursor_parts(page);
            let sql = format!(
                "SELECT {WEBHOOK_ATTEMPT_COLUMNS} FROM webhook_attempts \
                 WHERE endpoint_id = $1 AND merchant_id = $2 AND livemode = $3 \
                   AND ($4 IS NULL OR attempted_at < $4 OR (attempted_at = $4 AND id < $5)) \
                 ORDER BY attempted_at DESC, id DESC LIMIT $6"
            );
            let rows = sqlx::query_as::<_, WebhookAttemptRow>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(endpoint_id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .bind(after_ts)
                .bind(after_id)
                .bind(i64::from(page.limit))
                .fetch_all(self.read_pool())
                .await?;
            Ok(rows.into_iter().map(Into::into).collect())
        }

        async fn resend_webhook(
            &self,
            scope: &Scope,
            endpoint_id: &str,
            event_id: &str,
            now: Millis,
        ) -> Result<$crate::domain::webhook::WebhookDelivery, StoreError> {
            use $crate::domain::webhook::WebhookDelivery;
            use $crate::store::webhooks::{WebhookDeliveryRow, WEBHOOK_DELIVERY_COLUMNS};
            // Any event of this merchant and mode, whether the endpoint subscribed to it or not.
            let sql = format!(
                "INSERT INTO webhook_deliveries (endpoint_id, event_id, merchant_id, livemode, status, attempts, \
                 next_attempt_at, created_at, updated_at) \
                 SELECT $1, id, merchant_id, livemode, 'pending', 0, $2, $2, $2 FROM events \
                 WHERE id = $3 AND merchant_id = $4 AND livemode = $5 \
                 ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', attempts = 0, \
                   next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at \
                 RETURNING {WEBHOOK_DELIVERY_COLUMNS}"
            );
            let row = sqlx::query_as::<_, WebhookDeliveryRow>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(endpoint_id)
                .bind(now)
                .bind(event_id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .fetch_optional(self.write_pool())
                .await?
                .ok_or(StoreError::NotFound)?;
            WebhookDelivery::try_from(row)
        }

        async fn get_webhook_delivery(
            &self,
            scope: &Scope,
            endpoint_id: &str,
            event_id: &str,
        ) -> Result<$crate::domain::webhook::WebhookDelivery, StoreError> {
            use $crate::store::webhooks::{WebhookDeliveryRow, WEBHOOK_DELIVERY_COLUMNS};
            let sql = format!(
                "SELECT {WEBHOOK_DELIVERY_COLUMNS} FROM webhook_deliveries \
                 WHERE endpoint_id = $1 AND event_id = $2 AND merchant_id = $3 AND livemode = $4"
            );
            sqlx::query_as::<_, WebhookDeliveryRow>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(endpoint_id)
                .bind(event_id)
                .bind(&scope.merchant_id)
                .bind(scope.livemode)
                .fetch_optional(self.read_pool())
                .await?
                .ok_or(StoreError::NotFound)?
                .try_into()
        }

        async fn purge_webhook_history(&self, before: Millis) -> Result<u64, StoreError> {
            let attempts = sqlx::query("DELETE FROM webhook_attempts WHERE attempted_at < $1")
                .bind(before)
                .execute(self.write_pool())
                .await?
                .rows_affected();
            let deliveries = sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < $1")
                .bind(before)
                .execute(self.write_pool())
                .await?
                .rows_affected();
            Ok(attempts + deliveries)
        }
        }
    };
}

pub(crate) use webhook_helpers;
pub(crate) use webhook_store_methods;
