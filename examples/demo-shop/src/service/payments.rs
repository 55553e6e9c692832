//! An order's payment from the shop's side: asking for an intent (the first one, or a new code
//! after one failed or expired), canceling the order, refunding it. Every gateway write carries
//! an `Idempotency-Key` made from the order, so a retry never pays, cancels or refunds twice.

use super::{Shop, ShopError};
use crate::domain::{OrderId, OrderStatus, OrderTransition};
use crate::gateway::types::{NewIntent, NewRefund};
use crate::gateway::GatewayError;
use crate::store::orders::{Order, OrderLine};
use crate::store::{catalog, orders};
use paygate_wire::intent::IntentStatus;

impl Shop {
    /// Gets the pending order a payment intent to pay: a first one, or a fresh one when the
    /// current one failed, expired or was canceled. An intent that can still be paid is
    /// canceled first; one the customer already approved or paid is acted on instead, and
    /// then no new one is made (`NotAllowed`).
    pub async fn start_payment(&self, id: &OrderId) -> Result<(), ShopError> {
        let details = self.order(id).await?;
        let order = &details.order;
        if order.status != OrderStatus::Pending {
            return Err(ShopError::NotAllowed(format!(
                "This order is {}: it takes no new payment.",
                order.status.label().to_lowercase()
            )));
        }
        if let Some(current) = &order.intent_id {
            let intent = self.gateway.get_intent(current).await?;
            match intent.status {
                IntentStatus::Failed | IntentStatus::Canceled | IntentStatus::Expired => {}
                IntentStatus::RequiresAction => {
                    self.cancel_intent(&intent.id, "replaced_by_new_code")
                        .await?
                }
                IntentStatus::RequiresConfirmation
                | IntentStatus::Processing
                | IntentStatus::Succeeded
                | IntentStatus::PartiallyRefunded
                | IntentStatus::Refunded => {
                    self.apply_intent(order, &intent).await?;
                    return Err(ShopError::NotAllowed(
                        "This order's payment is already under way: see the order's status.".into(),
                    ));
                }
            }
        }
        let Some(attempt) = self.next_attempt(order).await? else {
            return Ok(()); // another request claimed the next attempt and is making its intent
        };
        let return_url = format!("{}/orders/{id}/return", self.settings.public_url);
        let order_name = order_name(&details.lines);
        let request = NewIntent {
            amount: order.total,
            currency: order.currency,
            merchant_order_id: id.as_str(),
            order_name: &order_name,
            customer_name: &order.customer_name,
            confirm_mode: "manual",
            return_url: &return_url,
        };
        let created = self
            .gateway
            .create_intent(&request, &format!("demo-shop-{id}-intent-{attempt}"))
            .await?;
        let intent = &created.intent;
        let mut tx = self.store.write().await?;
        orders::record_intent(&mut tx, id, attempt, &intent.id).await?;
        let attached = orders::attach_intent(
            &mut tx,
            id,
            attempt,
            &intent.id,
            &created.client_secret,
            intent.status.as_str(),
        )
        .await?;
        tx.commit().await?;
        if !attached {
            // The order was canceled while the intent was being made: nobody will pay it.
            self.cancel_intent(&intent.id, "order_canceled").await?;
            return Err(ShopError::NotAllowed("This order was canceled.".into()));
        }
        tracing::info!(order = %id, intent = %intent.id, attempt, "payment intent created");
        Ok(())
    }

    /// The attempt whose intent to create: the last one again if it never got its intent (its
    /// create may have happened with the answer lost: the same key finds it), else the next
    /// one, claimed by compare-and-set (`None`: another request claimed it first).
    async fn next_attempt(&self, order: &Order) -> Result<Option<i64>, ShopError> {
        let mut conn = self.store.conn().await?;
        let last = order.intent_attempt;
        if last > 0 && !orders::attempt_has_intent(&mut conn, &order.id, last).await? {
            return Ok(Some(last));
        }
        Ok(orders::claim_attempt(&mut conn, &order.id, last)
            .await?
            .then_some(last + 1))
    }

    /// Cancels a pending order: its intent first (so it can no longer be paid), then the order,
    /// whose stock goes back in the same transaction, once.
    pub async fn cancel_order(&self, id: &OrderId) -> Result<(), ShopError> {
        let order = self.order(id).await?.order;
        if order.status != OrderStatus::Pending {
            return Err(ShopError::NotAllowed(format!(
                "This order is {}: only an order awaiting payment can be canceled.",
                order.status.label().to_lowercase()
            )));
        }
        if let Some(intent_id) = &order.intent_id {
            let intent = self.gateway.get_intent(intent_id).await?;
            match intent.status {
                IntentStatus::Failed | IntentStatus::Canceled | IntentStatus::Expired => {}
                IntentStatus::RequiresAction | IntentStatus::RequiresConfirmation => {
                    self.cancel_intent(intent_id, "requested_by_customer")
                        .await?
                }
                IntentStatus::Processing
                | IntentStatus::Succeeded
                | IntentStatus::PartiallyRefunded
                | IntentStatus::Refunded => {
                    self.apply_intent(&order, &intent).await?;
                    return Err(ShopError::NotAllowed(
                        "The payment has already gone through: refund the order instead.".into(),
                    ));
                }
            }
        }
        self.move_order(id, OrderTransition::Cancel).await?;
        Ok(())
    }

    /// Refunds a paid order in full (or what is left of a partly refunded one). The order
    /// follows the refund's answer, or its webhook when the refund is still pending.
    pub async fn refund_order(&self, id: &OrderId) -> Result<(), ShopError> {
        let order = self.order(id).await?.order;
        let (amount, key) = match order.status {
            OrderStatus::Paid => (Some(order.total), "all"),
            OrderStatus::PartiallyRefunded => (None, "rest"),
            OrderStatus::Pending
            | OrderStatus::Refunded
            | OrderStatus::Canceled
            | OrderStatus::AmountMismatch => {
                return Err(ShopError::NotAllowed(format!(
                    "This order is {}: only a paid order can be refunded.",
                    order.status.label().to_lowercase()
                )));
            }
        };
        let intent_id = order
            .intent_id
            .as_deref()
            .ok_or_else(|| ShopError::Internal(format!("paid order {id} has no intent")))?;
        let request = NewRefund {
            payment_intent: intent_id,
            amount,
            reason: "requested_by_customer",
        };
        let refund = self
            .gateway
            .create_refund(
                &request,
                &format!("demo-shop-{id}-refund-{key}-{intent_id}"),
            )
            .await?;
        tracing::info!(order = %id, refund = %refund.id, status = %refund.status, amount = refund.amount, "refund asked");
        match refund.status.as_str() {
            "succeeded" => {
                self.move_order(id, OrderTransition::Refund).await?;
                Ok(())
            }
            "failed" => Err(ShopError::NotAllowed(
                "The gateway could not refund this payment.".into(),
            )),
            _ => Ok(()), // pending: the intent's webhook moves the order
        }
    }

    /// Cancels an intent at the gateway. An intent that has already ended, or is already being
    /// canceled, is no error: what matters is that it can no longer be paid.
    pub(crate) async fn cancel_intent(
        &self,
        intent_id: &str,
        reason: &str,
    ) -> Result<(), ShopError> {
        match self
            .gateway
            .cancel_intent(
                intent_id,
                reason,
                &format!("demo-shop-cancel-{intent_id}-{reason}"),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(GatewayError::Api {
                status: 409, code, ..
            }) => {
                let intent = self.gateway.get_intent(intent_id).await?;
                tracing::info!(intent = %intent_id, %code, status = intent.status.as_str(), "the intent was not cancelable");
                match intent.status {
                    IntentStatus::Canceled | IntentStatus::Expired | IntentStatus::Failed => Ok(()),
                    _ => Err(ShopError::NotAllowed("The payment has moved on and could not be canceled: see the order's status.".into())),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Applies one move of the order's table as a compare-and-set; a move that ends the order
    /// unpaid puts its stock back in the same transaction. `false`: the order was elsewhere.
    pub(crate) async fn move_order(
        &self,
        id: &OrderId,
        transition: OrderTransition,
    ) -> Result<bool, ShopError> {
        let mut tx = self.store.write().await?;
        let Some(from) = orders::transition(&mut tx, id, transition).await? else {
            return Ok(false);
        };
        if transition.releases_stock() {
            for line in orders::lines(&mut tx, id).await? {
                catalog::release(&mut tx, line.product_id, line.quantity).await?;
            }
        }
        tx.commit().await?;
        tracing::info!(order = %id, from = from.as_str(), to = transition.target().as_str(), "order moved");
        Ok(true)
    }
}

/// What the gateway shows the customer: `Coffee beans ×2, Stoneware mug`, at most 200 characters.
fn order_name(lines: &[OrderLine]) -> String {
    let name = lines
        .iter()
        .map(|l| {
            if l.quantity > 1 {
                format!("{} ×{}", l.name, l.quantity)
            } else {
                l.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    if name.chars().count() <= 200 {
        name
    } else {
        name.chars().take(199).chain(std::iter::once('…')).collect()
    }
}
