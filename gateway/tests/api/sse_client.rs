//! A small Server-Sent Events client over a real socket, for the live-stream tests. It speaks
//! HTTP/1.0, so the server sends the body unframed until it closes the connection.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long a test waits for the next frame before it fails.
pub const FRAME_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
    pub comment: Option<String>,
}

impl Frame {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null)
    }
}

pub struct SseClient {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body of a refused request (an error JSON).
    pub body: String,
    reader: BufReader<TcpStream>,
}

impl SseClient {
    /// Opens `GET {base}{path}` with extra headers; a non-200 answer is returned with its body.
    pub async fn open(base: &str, path: &str, headers: &[(&str, &str)]) -> SseClient {
        let authority = base.trim_start_matches("http://").trim_end_matches('/');
        let stream = TcpStream::connect(authority).await.unwrap_or_else(|e| panic!("connect {authority}: {e}"));
        let mut reader = BufReader::new(stream);
        let mut request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: text/event-stream\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        reader.get_mut().write_all(request.as_bytes()).await.expect("send request");
        let mut status_line = String::new();
        reader.read_line(&mut status_line).await.expect("status line");
        let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.expect("header line") == 0 || line.trim_end().is_empty() {
                break;
            }
            if let Some((name, value)) = line.trim_end().split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let mut client = SseClient { status, headers, body: String::new(), reader };
        if status != 200 {
            let mut body = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut client.reader, &mut body).await;
            client.body = String::from_utf8_lossy(&body).into_owned();
        }
        client
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The next frame (events and comments), or `None` once the server closed the stream.
    pub async fn next_frame(&mut self) -> Option<Frame> {
        let mut frame = Frame::default();
        let mut seen = false;
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(FRAME_WAIT, self.reader.read_line(&mut line))
                .await
                .unwrap_or_else(|_| panic!("no frame within {FRAME_WAIT:?}"));
            match read {
                Ok(0) | Err(_) => return seen.then_some(frame),
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if seen {
                    return Some(frame);
                }
                continue;
            }
            seen = true;
            let (field, value) = line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
            match field {
                "" => frame.comment = Some(value.to_owned()),
                "id" => frame.id = Some(value.to_owned()),
                "event" => frame.event = Some(value.to_owned()),
                "data" => {
                    if !frame.data.is_empty() {
                        frame.data.push('\n');
                    }
                    frame.data.push_str(value);
                }
                _ => {}
            }
        }
    }

    /// The next event, skipping keep-alive comments; `None` once the stream ended.
    pub async fn next_event(&mut self) -> Option<Frame> {
        loop {
            let frame = self.next_frame().await?;
            if frame.event.is_some() || frame.id.is_some() {
                return Some(frame);
            }
        }
    }

    /// The types of the next `n` events.
    pub async fn event_types(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..n {
            let frame = self.next_event().await.expect("the stream ended early");
            out.push(frame.event.unwrap_or_default());
        }
        out
    }
}

/// The merchant-wide stream, opened with a secret key (resuming after `last_event_id` when given);
/// it must open.
pub async fn merchant_stream(base: &str, secret_key: &str, last_event_id: Option<&str>) -> SseClient {
    let auth = format!("Bearer {secret_key}");
    let mut headers = vec![("authorization", auth.as_str())];
    if let Some(id) = last_event_id {
        headers.push(("last-event-id", id));
    }
    let client = SseClient::open(base, "/v1/events/stream", &headers).await;
    assert_eq!(client.status, 200, "{}", client.body);
    client
}
