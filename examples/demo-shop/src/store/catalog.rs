//! Products and their stock. Stock only moves through [`reserve`] (a conditional decrement that
//! cannot go below zero) and [`release`] (giving back what an ended order had reserved).

use super::{corrupt, Conn};
use crate::domain::{ProductId, Quantity};
use paygate_wire::money::Currency;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub description: String,
    /// Minor units of `currency`.
    pub price: i64,
    pub currency: Currency,
    pub stock: i64,
}

/// The first start's catalogue (sku, name, description, price in KRW, stock).
const SEED: [(&str, &str, &str, i64, i64); 4] = [
    (
        "coffee-beans",
        "Coffee beans",
        "Single-origin beans from Jeju, 500 g.",
        12_000,
        10,
    ),
    ("mug", "Stoneware mug", "Hand-thrown, 350 ml.", 18_000, 5),
    (
        "drip-bags",
        "Drip bags",
        "Ten single-cup drip bags.",
        9_500,
        20,
    ),
    (
        "limited-print",
        "Last one: limited print",
        "A signed risograph print, edition of one.",
        45_000,
        1,
    ),
];

/// Adds the catalogue's products that are missing (by sku): a restart resets no stock.
pub async fn seed(conn: &mut Conn) -> Result<(), sqlx::Error> {
    for (sku, name, description, price, stock) in SEED {
        sqlx::query(
            "INSERT INTO products (sku, name, description, price, currency, stock) VALUES (?, ?, ?, ?, 'KRW', ?) \
             ON CONFLICT (sku) DO NOTHING",
        )
        .bind(sku)
        .bind(name)
        .bind(description)
        .bind(price)
        .bind(stock)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) fn product_of(row: &SqliteRow) -> Result<Product, sqlx::Error> {
    let currency: String = row.try_get("currency")?;
    Ok(Product {
        id: ProductId(row.try_get("id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        price: row.try_get("price")?,
        currency: currency
            .parse()
            .map_err(|()| corrupt("currency", &currency))?,
        stock: row.try_get("stock")?,
    })
}

pub async fn list(conn: &mut Conn) -> Result<Vec<Product>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, description, price, currency, stock FROM products ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(product_of).collect()
}

pub async fn get(conn: &mut Conn, id: ProductId) -> Result<Option<Product>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, name, description, price, currency, stock FROM products WHERE id = ?",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(product_of).transpose()
}

/// Takes `quantity` out of stock if that much is left; `false` (and nothing changed) otherwise.
pub async fn reserve(
    conn: &mut Conn,
    id: ProductId,
    quantity: Quantity,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?")
        .bind(quantity.get())
        .bind(id.0)
        .bind(quantity.get())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts `quantity` back. Only called in the transaction of the order move that ends the order.
pub async fn release(conn: &mut Conn, id: ProductId, quantity: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE products SET stock = stock + ? WHERE id = ?")
        .bind(quantity)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn stock(conn: &mut Conn, id: ProductId) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT stock FROM products WHERE id = ?")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}
