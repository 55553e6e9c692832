//! A local webhook receiver: records every request's headers and body, answers with a chosen
//! status (with a `Location` for redirects), and can go down (its listener dropped, so
//! connections are refused) and come back on the same port.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Received>>,
    answer: AtomicU16,
    location: Mutex<Option<String>>,
    /// Paths that answer only after a while.
    slow: Mutex<HashMap<String, std::time::Duration>>,
    /// Requests being answered now, and the most there ever were at once, per path.
    in_flight: Mutex<HashMap<String, (usize, usize)>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

async fn record(State(shared): State<Arc<Shared>>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    let headers = headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    let path = uri.path().to_owned();
    shared.requests.lock().unwrap().push(Received { path: path.clone(), headers, body: String::from_utf8_lossy(&body).into_owned() });
    let delay = shared.slow.lock().unwrap().get(&path).copied();
    if let Some(delay) = delay {
        {
            let mut in_flight = shared.in_flight.lock().unwrap();
            let entry = in_flight.entry(path.clone()).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(entry.0);
        }
        tokio::time::sleep(delay).await;
        shared.in_flight.lock().unwrap().entry(path).or_default().0 -= 1;
    }
    let status = StatusCode::from_u16(shared.answer.load(Ordering::SeqCst)).unwrap();
    match shared.location.lock().unwrap().clone() {
        Some(location) if status.is_redirection() => (status, [("location", location)]).into_response(),
        _ => status.into_response(),
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared { answer: AtomicU16::new(200), ..Default::default() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let receiver = Self { addr, shared, server: Mutex::new(None) };
        receiver.serve(listener);
        receiver
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new().fallback(record).with_state(self.shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.server.lock().unwrap() = Some(task);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn answer(&self, status: u16) {
        self.shared.answer.store(status, Ordering::SeqCst);
    }

    pub fn redirect_to(&self, status: u16, location: &str) {
        *self.shared.location.lock().unwrap() = Some(location.to_owned());
        self.answer(status);
    }

    /// Stops listening: connections are refused until [`Receiver::up`].
    pub async fn down(&self) {
        let task = self.server.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    pub async fn up(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("the port is free again");
        self.serve(listener);
    }

    /// Requests to `path` are answered only after `delay`.
    pub fn slow_down(&self, path: &str, delay: std::time::Duration) {
        self.shared.slow.lock().unwrap().insert(path.to_owned(), delay);
    }

    /// The most requests to a slowed-down `path` that were ever being answered at once.
    pub fn most_at_once(&self, path: &str) -> usize {
        self.shared.in_flight.lock().unwrap().get(path).map_or(0, |e| e.1)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Received> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(task) = self.server.lock().unwrap().take() {
            task.abort();
        }
    }
}
