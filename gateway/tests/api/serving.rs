//! The server over a real socket: slow or silent clients are disconnected, one client cannot
//! hold every connection, event streams outlive those limits, and clients that go away
//! mid-request cut nothing short: every later write succeeds and nothing acknowledged is lost.

use crate::helpers::TestApp;
use crate::sse_client::merchant_stream;
use gateway::server::ServeSettings;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

crate::on_both_engines!(
    a_client_that_sends_its_headers_too_slowly_is_disconnected_but_an_event_stream_stays_open,
    one_client_cannot_hold_more_connections_than_its_share,
    clients_that_go_away_mid_request_cut_nothing_short,
    a_request_framed_by_both_content_length_and_transfer_encoding_is_refused_over_the_wire,
);

fn authority(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Waits (up to `limit`) for the server to close `stream`; whether it did.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

async fn a_client_that_sends_its_headers_too_slowly_is_disconnected_but_an_event_stream_stays_open(app: TestApp) {
    let base = app.serve_with(ServeSettings { header_read_timeout: Duration::from_millis(500), ..ServeSettings::default() }).await;
    let m = app.merchant().await;
    let mut stream = merchant_stream(&base, &m.sk, None).await;
    assert_eq!(stream.status, 200);
    let mut slow = TcpStream::connect(authority(&base)).await.unwrap();
    slow.write_all(b"POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(10)).await, "a half-sent request is cut off");
    let mut silent = TcpStream::connect(authority(&base)).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(10)).await, "so is a connection that sends nothing");
    // Well past the header limit, the stream still delivers.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    app.create_intent(&m.sk, json!({})).await;
    assert_eq!(stream.event_types(1).await, ["payment_intent.created"]);
}

async fn one_client_cannot_hold_more_connections_than_its_share(app: TestApp) {
    let base = app.serve_with(ServeSettings { max_connections_per_client: 4, ..ServeSettings::default() }).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(authority(&base)).await.unwrap());
    }
    let mut fifth = TcpStream::connect(authority(&base)).await.unwrap();
    assert!(closed_within(&mut fifth, Duration::from_secs(5)).await, "the connection over the cap is closed at once");
    drop(held.pop());
    // The slot comes back once the server has seen the close.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = reqwest_get(&base, "/healthz").await;
        if reply == Some(200) {
            break;
        }
        assert!(Instant::now() < deadline, "a freed slot is usable again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One `GET` on a fresh connection; its status, or `None` if the server closed it.
async fn reqwest_get(base: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(authority(base)).await.ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.ok()?;
    String::from_utf8_lossy(&out).split_whitespace().nth(1)?.parse().ok()
}

/// Creates an intent over a real socket; with `hang_up`, the client closes the connection that
/// long after the request is sent. Returns the id the server acknowledged, if it did.
async fn create_over_socket(base: &str, sk: &str, order: &str, hang_up: Option<Duration>) -> Option<String> {
    let body = json!({ "amount": 1000, "currency": "KRW", "merchant_order_id": order, "order_name": "n", "customer_name": "c" }).to_string();
    let mut s = TcpStream::connect(authority(base)).await.ok()?;
    let request = format!(
        "POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sk}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.ok()?;
    if let Some(after) = hang_up {
        // Gone while the server works on it: at once, or a moment later.
        tokio::time::sleep(after).await;
        drop(s);
        return None;
    }
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.ok()?;
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 201").then(|| serde_json::from_str::<serde_json::Value>(body).ok())??["id"].as_str().map(str::to_owned)
}

async fn clients_that_go_away_mid_request_cut_nothing_short(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let mut acknowledged = Vec::new();
    // Rounds of 32 concurrent creates, most of whose clients hang up mid-request.
    for round in 0..20 {
        let tasks: Vec<_> = (0..32u64)
            .map(|i| {
                let (base, sk) = (base.clone(), m.sk.clone());
                let hang_up = (i % 4 != 0).then(|| Duration::from_micros((i * 97 + round * 31) % 3000));
                tokio::spawn(async move { create_over_socket(&base, &sk, &format!("r{round}-{i}"), hang_up).await })
            })
            .collect();
        for t in tasks {
            acknowledged.extend(t.await.unwrap());
        }
    }
    // Every write after that succeeds.
    for i in 0..20 {
        let id = create_over_socket(&base, &m.sk, &format!("after-{i}"), None).await;
        assert!(id.is_some(), "write {i} after the hang-ups failed");
        acknowledged.extend(id);
    }
    // And nothing acknowledged is missing.
    for id in &acknowledged {
        let reply = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
        assert_eq!(reply.status, axum::http::StatusCode::OK, "acknowledged {id} is missing: {}", reply.raw);
    }
    app.assert_ledger_balanced().await;
}

/// One raw request; the whole answer the server sent before closing.
async fn raw(base: &str, request: &str) -> String {
    let mut s = TcpStream::connect(authority(base)).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn a_request_framed_by_both_content_length_and_transfer_encoding_is_refused_over_the_wire(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let body = json!({ "amount": 1000, "currency": "KRW", "merchant_order_id": "o", "order_name": "n", "customer_name": "c" }).to_string();
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let head = format!("POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n", m.sk);
    // The parser alone would take the chunked body and drop Content-Length; a proxy may not.
    let twice = raw(&base, &format!("{head}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}")).await;
    assert!(twice.starts_with("HTTP/1.1 400"), "{twice}");
    assert!(twice.contains("request_framing_invalid"), "{twice}");
    // The same body framed one way is fine, chunked or not.
    let once = raw(&base, &format!("{head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunked}")).await;
    assert!(once.starts_with("HTTP/1.1 201"), "{once}");
    let plain = raw(&base, &format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())).await;
    assert!(plain.starts_with("HTTP/1.1 201"), "{plain}");
    assert_eq!(app.get(&m.sk, "/v1/payment_intents").await.body["data"].as_array().unwrap().len(), 2, "the refused one made nothing");
}
