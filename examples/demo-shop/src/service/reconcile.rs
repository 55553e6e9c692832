//! Where the gateway says an order's intent stands, applied to the order: the one place that
//! moves an order on the gateway's word, used by webhooks and by page loads alike. The
//! approval's confirm happens here, with the order's own amount, after checking the intent's
//! amount and currency against the order's.

use super::{OrderDetails, Shop, ShopError};
use crate::domain::{OrderId, OrderStatus, OrderTransition};
use crate::gateway::Intent;
use crate::store::orders::{self, Order};
use paygate_wire::intent::IntentStatus;

impl Shop {
    /// The order, after asking the gateway about its current intent while it is pending (so a
    /// page shows the payment's outcome even before the webhook arrives). A gateway that does
    /// not answer leaves the order as the shop knew it.
    pub async fn refresh_order(&self, id: &OrderId) -> Result<OrderDetails, ShopError> {
        let details = self.order(id).await?;
        let order = &details.order;
        let Some(intent_id) = order
            .intent_id
            .as_deref()
            .filter(|_| order.status == OrderStatus::Pending)
        else {
            return Ok(details);
        };
        let applied = match self.gateway.get_intent(intent_id).await {
            Ok(intent) => self.apply_intent(order, &intent).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = applied {
            tracing::warn!(order = %id, error = %e, "could not bring the order up to date with the gateway");
        }
        self.order(id).await
    }

    /// Applies the intent's state (an intent made for `order`, current or earlier).
    pub(crate) async fn apply_intent(
        &self,
        order: &Order,
        intent: &Intent,
    ) -> Result<(), ShopError> {
        let current = order.intent_id.as_deref() == Some(intent.id.as_str());
        if current && order.status == OrderStatus::Pending {
            orders::note_intent_status(
                &mut *self.store.conn().await?,
                &order.id,
                &intent.id,
                intent.status.as_str(),
            )
            .await?;
        }
        match intent.status {
            // Still with the customer, or ended unpaid: a pending order stays pending and can
            // get a new code.
            IntentStatus::RequiresAction
            | IntentStatus::Processing
            | IntentStatus::Failed
            | IntentStatus::Expired
            | IntentStatus::Canceled => Ok(()),
            IntentStatus::RequiresConfirmation => self.confirm(order, intent, current).await,
            IntentStatus::Succeeded => self.record_capture(order, intent).await,
            IntentStatus::PartiallyRefunded => {
                self.record_capture(order, intent).await?;
                self.move_order(&order.id, OrderTransition::PartiallyRefund)
                    .await
                    .map(drop)
            }
            IntentStatus::Refunded => {
                self.record_capture(order, intent).await?;
                self.move_order(&order.id, OrderTransition::Refund)
                    .await
                    .map(drop)
            }
        }
    }

    /// The customer approved: capture with the amount the shop stored for the order, never one
    /// from the browser or the webhook. An intent that does not match the order is canceled.
    async fn confirm(
        &self,
        order: &Order,
        intent: &Intent,
        current: bool,
    ) -> Result<(), ShopError> {
        if !current || order.status != OrderStatus::Pending {
            tracing::warn!(order = %order.id, intent = %intent.id, "an approved intent the order no longer waits for: canceling it");
            return self
                .cancel_intent(&intent.id, "order_not_awaiting_payment")
                .await;
        }
        if !same_money(order, intent) {
            return self.reject_amount(order, intent).await;
        }
        let key = format!("demo-shop-{}-confirm-{}", order.id, intent.id);
        match self
            .gateway
            .confirm_intent(&intent.id, order.total, &key)
            .await
        {
            Ok(confirmed) => {
                orders::note_intent_status(
                    &mut *self.store.conn().await?,
                    &order.id,
                    &confirmed.id,
                    confirmed.status.as_str(),
                )
                .await?;
                match confirmed.status {
                    IntentStatus::Succeeded => self.record_capture(order, &confirmed).await,
                    _ => Ok(()), // processing: its webhook follows
                }
            }
            Err(e) => match e.code() {
                Some("amount_mismatch") => self.reject_amount(order, intent).await,
                Some("intent_expired") => Ok(()), // the window closed: the order may get a new code
                Some("intent_unexpected_state") => {
                    // Confirmed already (a redelivery, or a page load raced the webhook).
                    let now = self.gateway.get_intent(&intent.id).await?;
                    match now.status {
                        IntentStatus::Succeeded
                        | IntentStatus::PartiallyRefunded
                        | IntentStatus::Refunded => self.record_capture(order, &now).await,
                        _ => Ok(()),
                    }
                }
                _ => Err(e.into()),
            },
        }
    }

    async fn reject_amount(&self, order: &Order, intent: &Intent) -> Result<(), ShopError> {
        tracing::warn!(
            order = %order.id, intent = %intent.id, order_total = order.total, intent_amount = intent.amount,
            "the intent's amount or currency differs from the order's: canceling it"
        );
        self.cancel_intent(&intent.id, "amount_mismatch").await?;
        self.move_order(&order.id, OrderTransition::RejectAmount)
            .await
            .map(drop)
    }

    /// The gateway captured this intent: the pending order is paid.
    async fn record_capture(&self, order: &Order, intent: &Intent) -> Result<(), ShopError> {
        if !same_money(order, intent) {
            tracing::error!(order = %order.id, intent = %intent.id, "a captured intent differs from its order's amount: not marking it paid");
            return Ok(());
        }
        if !self.move_order(&order.id, OrderTransition::Pay).await? {
            let now = self.order(&order.id).await?.order.status;
            if matches!(now, OrderStatus::Canceled | OrderStatus::AmountMismatch) {
                tracing::error!(order = %order.id, intent = %intent.id, "an intent was captured for an order that ended unpaid: refund it");
            }
        }
        Ok(())
    }
}

fn same_money(order: &Order, intent: &Intent) -> bool {
    intent.amount == order.total && intent.currency == order.currency
}
