//! What the shop keeps about webhooks: the ids already handled, and the endpoint registered on
//! the gateway with its signing secret (shown by the gateway once, so kept here).

use super::{now_ms, Conn};
use crate::secret::Secret;
use sqlx::Row;

pub async fn seen(conn: &mut Conn, webhook_id: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM webhook_events WHERE webhook_id = ?")
            .bind(webhook_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Marks `webhook_id` handled: `false` if it already was.
pub async fn record(
    conn: &mut Conn,
    webhook_id: &str,
    event_type: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("INSERT INTO webhook_events (webhook_id, event_type, received_at) VALUES (?, ?, ?) ON CONFLICT (webhook_id) DO NOTHING")
        .bind(webhook_id)
        .bind(event_type)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone)]
pub struct StoredEndpoint {
    pub gateway_url: String,
    pub endpoint_id: String,
    pub secret: Secret,
}

pub async fn endpoint(conn: &mut Conn) -> Result<Option<StoredEndpoint>, sqlx::Error> {
    let row =
        sqlx::query("SELECT gateway_url, endpoint_id, secret FROM webhook_endpoint WHERE slot = 1")
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|row| {
        Ok(StoredEndpoint {
            gateway_url: row.try_get("gateway_url")?,
            endpoint_id: row.try_get("endpoint_id")?,
            secret: Secret::new(row.try_get::<String, _>("secret")?),
        })
    })
    .transpose()
}

pub async fn save_endpoint(conn: &mut Conn, endpoint: &StoredEndpoint) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_endpoint (slot, gateway_url, endpoint_id, secret) VALUES (1, ?, ?, ?) \
         ON CONFLICT (slot) DO UPDATE SET gateway_url = excluded.gateway_url, endpoint_id = excluded.endpoint_id, secret = excluded.secret",
    )
    .bind(&endpoint.gateway_url)
    .bind(&endpoint.endpoint_id)
    .bind(endpoint.secret.expose())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
