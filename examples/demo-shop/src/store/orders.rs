//! Orders, their lines and the intents made for them. Every status change is one
//! compare-and-set ([`transition`]); the intent attached to an order changes only through the
//! attempt counter, so two "new code" clicks cannot both attach one.

use super::{corrupt, now_ms, Conn};
use crate::domain::{CartId, OrderId, OrderStatus, OrderTransition, ProductId};
use crate::secret::Secret;
use paygate_wire::money::Currency;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Order {
    pub id: OrderId,
    pub customer_name: String,
    pub currency: Currency,
    /// Minor units; what the shop confirms and refunds, whatever anyone else says.
    pub total: i64,
    pub status: OrderStatus,
    pub intent_attempt: i64,
    pub intent_id: Option<String>,
    /// The current intent's credential for the checkout page.
    pub client_secret: Option<Secret>,
    pub intent_status: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price: i64,
    pub quantity: i64,
}

const COLUMNS: &str = "id, customer_name, currency, total, status, intent_attempt, intent_id, client_secret, intent_status, created_at";

fn order_of(row: &SqliteRow) -> Result<Order, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let currency: String = row.try_get("currency")?;
    let status: String = row.try_get("status")?;
    Ok(Order {
        id: OrderId::parse(&id).ok_or_else(|| corrupt("order id", &id))?,
        customer_name: row.try_get("customer_name")?,
        currency: currency
            .parse()
            .map_err(|()| corrupt("currency", &currency))?,
        total: row.try_get("total")?,
        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("order status", &status))?,
        intent_attempt: row.try_get("intent_attempt")?,
        intent_id: row.try_get("intent_id")?,
        client_secret: row
            .try_get::<Option<String>, _>("client_secret")?
            .map(Secret::new),
        intent_status: row.try_get("intent_status")?,
        created_at: row.try_get("created_at")?,
    })
}

pub struct NewOrder<'a> {
    pub id: &'a OrderId,
    pub cart: &'a CartId,
    pub customer_name: &'a str,
    pub currency: Currency,
    pub total: i64,
    pub lines: &'a [OrderLine],
}

/// A `pending` order and its lines (the caller has reserved their stock in this transaction).
pub async fn insert(conn: &mut Conn, order: NewOrder<'_>) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO orders (id, cart_id, customer_name, currency, total, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(order.id.as_str())
    .bind(order.cart.as_str())
    .bind(order.customer_name)
    .bind(order.currency.code())
    .bind(order.total)
    .bind(OrderStatus::Pending.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for line in order.lines {
        sqlx::query("INSERT INTO order_lines (order_id, product_id, name, unit_price, quantity) VALUES (?, ?, ?, ?, ?)")
            .bind(order.id.as_str())
            .bind(line.product_id.0)
            .bind(&line.name)
            .bind(line.unit_price)
            .bind(line.quantity)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &OrderId) -> Result<Option<Order>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM orders WHERE id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(order_of).transpose()
}

/// The cart's orders, newest first.
pub async fn list_for_cart(conn: &mut Conn, cart: &CartId) -> Result<Vec<Order>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM orders WHERE cart_id = ? ORDER BY created_at DESC, id LIMIT 100"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(cart.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(order_of).collect()
}

pub async fn lines(conn: &mut Conn, id: &OrderId) -> Result<Vec<OrderLine>, sqlx::Error> {
    let rows = sqlx::query("SELECT product_id, name, unit_price, quantity FROM order_lines WHERE order_id = ? ORDER BY product_id")
        .bind(id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(OrderLine {
                product_id: ProductId(row.try_get("product_id")?),
                name: row.try_get("name")?,
                unit_price: row.try_get("unit_price")?,
                quantity: row.try_get("quantity")?,
            })
        })
        .collect()
}

/// Applies `transition` if the order is in one of its `allowed_from` statuses: `Some(from)` when
/// this call moved it, `None` when it was elsewhere (already moved by someone else).
pub async fn transition(
    conn: &mut Conn,
    id: &OrderId,
    transition: OrderTransition,
) -> Result<Option<OrderStatus>, sqlx::Error> {
    for from in transition.allowed_from() {
        let done =
            sqlx::query("UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status = ?")
                .bind(transition.target().as_str())
                .bind(now_ms())
                .bind(id.as_str())
                .bind(from.as_str())
                .execute(&mut *conn)
                .await?;
        if done.rows_affected() == 1 {
            return Ok(Some(*from));
        }
    }
    Ok(None)
}

/// Claims the next intent attempt of a pending order whose attempt counter is still `seen`.
pub async fn claim_attempt(conn: &mut Conn, id: &OrderId, seen: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE orders SET intent_attempt = ?, updated_at = ? WHERE id = ? AND intent_attempt = ? AND status = ?")
        .bind(seen + 1)
        .bind(now_ms())
        .bind(id.as_str())
        .bind(seen)
        .bind(OrderStatus::Pending.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records an intent made for the order (whatever happens next, its webhooks find the order).
pub async fn record_intent(
    conn: &mut Conn,
    id: &OrderId,
    attempt: i64,
    intent_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO order_intents (intent_id, order_id, attempt) VALUES (?, ?, ?) ON CONFLICT (intent_id) DO NOTHING")
        .bind(intent_id)
        .bind(id.as_str())
        .bind(attempt)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Makes `intent_id` the order's current intent if the order is still pending at `attempt`.
pub async fn attach_intent(
    conn: &mut Conn,
    id: &OrderId,
    attempt: i64,
    intent_id: &str,
    client_secret: &Secret,
    intent_status: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE orders SET intent_id = ?, client_secret = ?, intent_status = ?, updated_at = ? WHERE id = ? AND intent_attempt = ? AND status = ?",
    )
    .bind(intent_id)
    .bind(client_secret.expose())
    .bind(intent_status)
    .bind(now_ms())
    .bind(id.as_str())
    .bind(attempt)
    .bind(OrderStatus::Pending.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The order an intent was made for (current or earlier).
pub async fn order_of_intent(
    conn: &mut Conn,
    intent_id: &str,
) -> Result<Option<OrderId>, sqlx::Error> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT order_id FROM order_intents WHERE intent_id = ?")
            .bind(intent_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(id.and_then(|id| OrderId::parse(&id)))
}

/// Notes the current intent's status for the pages (ignored for an earlier intent).
pub async fn note_intent_status(
    conn: &mut Conn,
    id: &OrderId,
    intent_id: &str,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET intent_status = ?, updated_at = ? WHERE id = ? AND intent_id = ?",
    )
    .bind(status)
    .bind(now_ms())
    .bind(id.as_str())
    .bind(intent_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether attempt `attempt` of the order got its intent recorded.
pub async fn attempt_has_intent(
    conn: &mut Conn,
    id: &OrderId,
    attempt: i64,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM order_intents WHERE order_id = ? AND attempt = ?")
            .bind(id.as_str())
            .bind(attempt)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}
