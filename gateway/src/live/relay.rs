//! The Redis carrier: every replica publishes its notices on one channel and hands the other
//! replicas' notices to its own subscribers. Redis is never in the money path: a notice that
//! cannot be published is dropped (the database has the event), and every stream re-reads the
//! database when the connection comes back.

use super::EventBus;
use crate::domain::event::EventNotice;
use crate::ids::random_base62;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const CHANNEL: &str = "paygate:events";
const RETRY_EVERY: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Wire {
    Notice { origin: String, notice: Box<EventNotice> },
    /// The sender dropped notices while disconnected: everyone re-reads the database.
    Resync { origin: String },
}

pub(super) fn spawn(bus: Arc<EventBus>, client: redis::Client, outbound: mpsc::Receiver<Arc<EventNotice>>) {
    let origin = random_base62(16);
    tokio::spawn(publish_loop(client.clone(), outbound, origin.clone()));
    tokio::spawn(subscribe_loop(bus, client, origin));
}

async fn connect(client: &redis::Client) -> Option<redis::aio::MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    match client.get_multiplexed_async_connection_with_config(&config).await {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::debug!(error = %e, "redis publish connection failed");
            None
        }
    }
}

async fn send(conn: &mut redis::aio::MultiplexedConnection, wire: &Wire) -> bool {
    let Ok(payload) = serde_json::to_string(wire) else { return true };
    redis::cmd("PUBLISH").arg(CHANNEL).arg(payload).query_async::<i64>(conn).await.is_ok()
}

async fn publish_loop(client: redis::Client, mut outbound: mpsc::Receiver<Arc<EventNotice>>, origin: String) {
    let mut conn = connect(&client).await;
    // Notices were dropped since the last successful publish.
    let mut dropped = conn.is_none();
    let mut retry = tokio::time::interval(RETRY_EVERY);
    loop {
        tokio::select! {
            notice = outbound.recv() => {
                let Some(notice) = notice else { return };
                let sent = match conn.as_mut() {
                    Some(c) => send(c, &Wire::Notice { origin: origin.clone(), notice: Box::new((*notice).clone()) }).await,
                    None => false,
                };
                if !sent {
                    if !dropped {
                        tracing::warn!("redis unavailable: live events reach other replicas once it is back");
                    }
                    conn = None;
                    dropped = true;
                }
            }
            _ = retry.tick(), if dropped => {
                if conn.is_none() {
                    conn = connect(&client).await;
                }
                if let Some(c) = conn.as_mut() {
                    if send(c, &Wire::Resync { origin: origin.clone() }).await {
                        tracing::info!("redis reachable again: replicas resync their streams");
                        dropped = false;
                    } else {
                        conn = None;
                    }
                }
            }
        }
    }
}

async fn subscribe_loop(bus: Arc<EventBus>, client: redis::Client, origin: String) {
    let mut shutdown = bus.shutdown.subscribe();
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(CHANNEL).await {
                Ok(()) => {
                    // Whatever other replicas published while we were not listening is in the database.
                    bus.resync_all();
                    let mut messages = pubsub.into_on_message();
                    loop {
                        tokio::select! {
                            _ = shutdown.changed() => return,
                            message = messages.next() => {
                                let Some(message) = message else { break };
                                match serde_json::from_slice::<Wire>(message.get_payload_bytes()) {
                                    Ok(Wire::Notice { origin: from, notice }) if from != origin => bus.deliver_local(&Arc::new(*notice)),
                                    Ok(Wire::Resync { origin: from }) if from != origin => bus.resync_all(),
                                    Ok(_) => {}
                                    Err(e) => tracing::warn!(error = %e, "unreadable message on the live events channel"),
                                }
                            }
                        }
                    }
                    tracing::warn!("redis subscription lost; reconnecting");
                }
                Err(e) => tracing::debug!(error = %e, "redis subscribe failed"),
            },
            Err(e) => tracing::debug!(error = %e, "redis connection failed"),
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(RETRY_EVERY) => {}
        }
    }
}
