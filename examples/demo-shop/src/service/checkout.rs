//! Checkout: the cart becomes a `pending` order, its stock reserved in one transaction (one
//! conditional decrement per line; the first line short of stock rolls back them all), then the
//! gateway is asked for the order's payment intent.

use super::{Shop, ShopError};
use crate::domain::{CartId, CustomerName, OrderId};
use crate::store::orders::{NewOrder, OrderLine};
use crate::store::{carts, catalog, orders};
use paygate_wire::money::Amount;

impl Shop {
    /// Places the cart's order and starts its payment. A gateway failure leaves the order
    /// pending without an intent: the pay page offers to try again, and the stock stays
    /// reserved until the customer cancels.
    pub async fn checkout(
        &self,
        cart: &CartId,
        customer: &CustomerName,
    ) -> Result<OrderId, ShopError> {
        let id = self.reserve_order(cart, customer).await?;
        if let Err(e) = self.start_payment(&id).await {
            tracing::warn!(order = %id, error = %e, "the order's payment intent could not be created");
        }
        Ok(id)
    }

    /// Reserves the cart's stock and records the order, all or nothing: `SoldOut` names the
    /// first product short of stock, and then nothing is reserved and the cart is kept.
    pub async fn reserve_order(
        &self,
        cart: &CartId,
        customer: &CustomerName,
    ) -> Result<OrderId, ShopError> {
        let id = OrderId::generate()?;
        let mut tx = self.store.write().await?;
        let cart_lines = carts::lines(&mut tx, cart).await?;
        let Some(first) = cart_lines.first() else {
            return Err(ShopError::CartEmpty);
        };
        let currency = first.product.currency;
        let mut total: i64 = 0;
        let mut lines = Vec::with_capacity(cart_lines.len());
        for line in &cart_lines {
            if line.product.currency != currency {
                return Err(ShopError::NotAllowed(
                    "An order takes one currency: check out these products separately.".into(),
                ));
            }
            let subtotal = line.product.price.checked_mul(line.quantity.get());
            total = subtotal.and_then(|s| total.checked_add(s)).ok_or_else(|| {
                ShopError::NotAllowed("This order is too large to pay at once.".into())
            })?;
            lines.push(OrderLine {
                product_id: line.product.id,
                name: line.product.name.clone(),
                unit_price: line.product.price,
                quantity: line.quantity.get(),
            });
        }
        let total = Amount::parse(total)
            .map_err(|_| ShopError::NotAllowed("This order is too large to pay at once.".into()))?;
        for line in &cart_lines {
            if !catalog::reserve(&mut tx, line.product.id, line.quantity).await? {
                tx.rollback().await?;
                return Err(ShopError::SoldOut(line.product.name.clone()));
            }
        }
        let order = NewOrder {
            id: &id,
            cart,
            customer_name: customer.as_str(),
            currency,
            total: total.minor_units(),
            lines: &lines,
        };
        orders::insert(&mut tx, order).await?;
        carts::clear(&mut tx, cart).await?;
        tx.commit().await?;
        tracing::info!(order = %id, total = total.minor_units(), %currency, "order placed, stock reserved");
        Ok(id)
    }
}
