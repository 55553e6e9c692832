//! Incoming webhooks: verified on the raw body first (an unverified one changes nothing),
//! skipped when their `webhook-id` was handled before, then applied through the same path as
//! a page's refresh. The id is recorded after the effect, so a webhook whose handling failed
//! (the gateway unreachable for the confirm) is retried by the gateway; every effect is a
//! compare-and-set or an idempotent gateway call, so a concurrent duplicate is harmless.

use super::{Shop, ShopError};
use crate::gateway::Intent;
use crate::signature::{self, SignatureError, SignedHeaders};
use crate::store::{orders, webhooks};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// About one of the shop's intents: applied.
    Applied,
    /// This `webhook-id` was handled before: nothing done.
    Duplicate,
    /// Not about one of the shop's intents (another client's, or a refund object): nothing to do.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Answered 400; nothing changed.
    #[error("unverified webhook: {0}")]
    Unverified(#[from] SignatureError),
    /// Verified, but not an event the shop can read. Answered 400.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// Answered 500, so the gateway tries again.
    #[error(transparent)]
    Failed(#[from] ShopError),
}

/// The event envelope; `data` is read per type.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
}

impl Shop {
    pub async fn receive_webhook(
        &self,
        headers: SignedHeaders<'_>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<WebhookOutcome, WebhookError> {
        signature::verify(&self.webhook_secret, headers, body, now_secs)?;
        let event: Event =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        if webhooks::seen(
            &mut *self.store.conn().await.map_err(ShopError::from)?,
            headers.id,
        )
        .await
        .map_err(ShopError::from)?
        {
            return Ok(WebhookOutcome::Duplicate);
        }
        let outcome = if event.kind.starts_with("payment_intent.") {
            let intent: Intent = serde_json::from_value(event.data)
                .map_err(|e| WebhookError::Malformed(format!("{}: {e}", event.kind)))?;
            self.apply_webhook(&intent).await?
        } else {
            WebhookOutcome::Ignored
        };
        if !webhooks::record(
            &mut *self.store.conn().await.map_err(ShopError::from)?,
            headers.id,
            &event.kind,
        )
        .await
        .map_err(ShopError::from)?
        {
            return Ok(WebhookOutcome::Duplicate); // a concurrent delivery of the same event finished first
        }
        tracing::info!(webhook = %headers.id, kind = %event.kind, ?outcome, "webhook handled");
        Ok(outcome)
    }

    async fn apply_webhook(&self, intent: &Intent) -> Result<WebhookOutcome, ShopError> {
        let mut conn = self.store.conn().await?;
        let Some(order_id) = orders::order_of_intent(&mut conn, &intent.id).await? else {
            return Ok(WebhookOutcome::Ignored);
        };
        if intent.merchant_order_id != order_id.as_str() {
            tracing::warn!(intent = %intent.id, order = %order_id, "a webhook's intent names another order: ignored");
            return Ok(WebhookOutcome::Ignored);
        }
        let Some(order) = orders::get(&mut conn, &order_id).await? else {
            return Ok(WebhookOutcome::Ignored);
        };
        drop(conn); // an in-memory database has one connection; the effects take it again
        self.apply_intent(&order, intent).await?;
        Ok(WebhookOutcome::Applied)
    }
}
