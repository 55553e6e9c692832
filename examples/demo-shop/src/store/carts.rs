//! Server-side carts: lines keyed by the cart cookie's id. A cart exists once it has a line.

use super::catalog::{product_of, Product};
use super::{corrupt, Conn};
use crate::domain::{CartId, ProductId, Quantity};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub product: Product,
    pub quantity: Quantity,
}

pub async fn lines(conn: &mut Conn, cart: &CartId) -> Result<Vec<CartLine>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.id, p.name, p.description, p.price, p.currency, p.stock, c.quantity \
         FROM cart_items c JOIN products p ON p.id = c.product_id WHERE c.cart_id = ? ORDER BY p.id",
    )
    .bind(cart.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let quantity: i64 = row.try_get("quantity")?;
            Ok(CartLine {
                product: product_of(row)?,
                quantity: Quantity::from_stored(quantity)
                    .ok_or_else(|| corrupt("quantity", quantity))?,
            })
        })
        .collect()
}

/// Adds `quantity` to the product's line; a line holds at most [`Quantity::MAX`].
pub async fn add(
    conn: &mut Conn,
    cart: &CartId,
    product: ProductId,
    quantity: Quantity,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cart_items (cart_id, product_id, quantity) VALUES (?, ?, ?) \
         ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = MIN(quantity + excluded.quantity, ?)",
    )
    .bind(cart.as_str())
    .bind(product.0)
    .bind(quantity.get())
    .bind(i64::from(Quantity::MAX))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn remove(conn: &mut Conn, cart: &CartId, product: ProductId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM cart_items WHERE cart_id = ? AND product_id = ?")
        .bind(cart.as_str())
        .bind(product.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn clear(conn: &mut Conn, cart: &CartId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM cart_items WHERE cart_id = ?")
        .bind(cart.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
