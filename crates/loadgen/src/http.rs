//! A small HTTP/1.1 client over one keep-alive connection, for the requests that cause events
//! (publishing, creating and approving intents) and for readiness checks.

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;

pub struct HttpClient {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> Self {
        HttpClient { addr, sender: None }
    }

    /// Sends one request (reconnecting when the previous connection closed) and reads the whole
    /// answer. JSON bodies get their content type.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let addr = self.addr;
        let sender = self.ready_sender().await?;
        let mut request = Request::builder().method(method).uri(path).header("host", addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request.header("content-type", "application/json").body(Full::new(body))?,
            None => request.body(Full::new(Bytes::new()))?,
        };
        let response = sender.send_request(request).await.with_context(|| format!("{path} on {addr}"))?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    async fn ready_sender(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        if let Some(sender) = &mut self.sender {
            if sender.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let stream = tokio::net::TcpStream::connect(self.addr).await.with_context(|| format!("connecting to {}", self.addr))?;
            stream.set_nodelay(true)?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        self.sender.as_mut().context("no connection")
    }
}

/// Waits until `GET /healthz` answers 200, polling; fails after `limit`.
pub async fn wait_healthy(addr: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last_error = String::new();
    while tokio::time::Instant::now() < deadline {
        match HttpClient::new(addr).send(Method::GET, "/healthz", &[], None).await {
            Ok((StatusCode::OK, _)) => return Ok(()),
            Ok((status, _)) => last_error = format!("status {status}"),
            Err(e) => last_error = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{addr} did not become healthy within {limit:?}: {last_error}")
}
