//! Serving the routers over HTTP/1.1 with the limits a public server needs, which `axum::serve`
//! cannot set: a time limit on reading each request's headers (also the idle limit of a kept-alive
//! connection: a slow or silent client cannot hold a connection open), and a cap on the
//! connections one client address may hold at once. Event streams are unaffected: once a
//! request is read, its response may stream for as long as it likes.
//!
//! Request bodies have their own read limit (`api::body_read_timeout`, in the router), and every
//! change runs to its end even when its client goes away (`api::run_to_completion`).

mod framing;

use crate::api::hardening::FramedTwice;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// A request's headers must arrive within this, and a kept-alive connection is closed after
    /// this long without a new request.
    pub header_read_timeout: Duration,
    /// Connections one client address may hold at once; the next one is closed at once. Behind
    /// a proxy every connection comes from the proxy: set its own per-client limit (nginx
    /// `limit_conn`), and this one above the proxy's connection count.
    pub max_connections_per_client: usize,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self { header_read_timeout: Duration::from_secs(10), max_connections_per_client: 256 }
    }
}

/// Open connections per client address.
#[derive(Default, Clone)]
struct Connections(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One counted connection; dropping it gives the slot back.
struct Slot {
    connections: Connections,
    ip: IpAddr,
}

impl Connections {
    fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut open = self.0.lock().ok()?;
        let count = open.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot { connections: self.clone(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.connections.0.lock() {
            if let Some(count) = open.get_mut(&self.ip) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits for the
/// connections in flight to end (the caller bounds that wait). Each request carries the peer's
/// address as `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: TcpListener, app: Router, settings: ServeSettings, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let connections = Connections::default();
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(settings.header_read_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, or the like: keep serving what is open, try again soon.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = connections.take(peer.ip(), settings.max_connections_per_client) else {
            tracing::warn!(client = %peer.ip(), "too many connections from one client; closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let verdicts = framing::Verdicts::default();
        let heads = verdicts.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            if heads.next() {
                req.extensions_mut().insert(FramedTwice);
            }
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let io = TokioIo::new(framing::Scanned::new(stream, verdicts));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves with the default settings; used by tests that serve a router on a real socket.
pub async fn serve_default(listener: TcpListener, app: Router) -> std::io::Result<()> {
    serve(listener, app, ServeSettings::default(), std::future::pending()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_slots_back_as_its_connections_close() {
        let connections = Connections::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let first = connections.take(ip, 2).unwrap();
        let _second = connections.take(ip, 2).unwrap();
        assert!(connections.take(ip, 2).is_none(), "the third is refused");
        assert!(connections.take("10.0.0.1".parse().unwrap(), 2).is_some(), "another client is not");
        drop(first);
        assert!(connections.take(ip, 2).is_some());
    }
}
