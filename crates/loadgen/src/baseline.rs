//! The baseline: the least an SSE fan-out can do in axum. One tokio broadcast channel; each
//! `GET /events` subscribes and streams what `POST /publish` sends. Every gateway figure is
//! reported as a ratio to this server's, measured in the same run.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::Router;
use futures::stream::Stream;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Clone)]
struct Channel {
    tx: broadcast::Sender<Arc<(u64, String)>>,
    next_id: Arc<AtomicU64>,
}

pub async fn serve(bind: SocketAddr) -> anyhow::Result<()> {
    let (tx, _) = broadcast::channel(1024);
    let channel = Channel { tx, next_id: Arc::new(AtomicU64::new(1)) };
    let app = Router::new()
        .route("/events", get(events))
        .route("/publish", post(publish))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(channel);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("baseline listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service()).await?;
    Ok(())
}

async fn events(State(channel): State<Channel>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = channel.tx.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(message) => {
                    let (id, data) = &*message;
                    let event = Event::default().id(format!("evt_{id}")).event("message").data(data.as_str());
                    return Some((Ok(event), rx));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Sends the body (text) to every open stream; answers with the number of receivers.
async fn publish(State(channel): State<Channel>, body: Bytes) -> (StatusCode, String) {
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return (StatusCode::BAD_REQUEST, "body must be UTF-8".into());
    };
    let id = channel.next_id.fetch_add(1, Ordering::Relaxed);
    let receivers = channel.tx.send(Arc::new((id, text))).unwrap_or(0);
    (StatusCode::ACCEPTED, receivers.to_string())
}
