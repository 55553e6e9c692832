//! SSE subscribers: one task per open stream, timestamping each frame as its bytes arrive and
//! reporting which published message it carried. The driver process holds every subscriber, so
//! the servers' memory is theirs alone.

use crate::sse::{Frame, FrameParser};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// What a subscriber connects to.
pub struct Target {
    pub addr: SocketAddr,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
}

/// How a subscriber recognises the message a frame carries.
#[derive(Clone)]
pub enum Matcher {
    /// The data holds `<marker><index>` (a merchant order id the driver chose).
    Marker(Arc<str>),
    /// A frame of this event type is message `index` (one subscriber per intent).
    EventType { index: u32, event_type: Arc<str> },
}

pub struct Delivery {
    pub message: u32,
    pub at: Instant,
    pub data_bytes: u32,
}

/// Counters for what should not happen, summed over every subscriber.
#[derive(Default)]
pub struct Anomalies {
    /// The same message twice on one stream.
    pub duplicates: AtomicU64,
    /// A `sequence` not above the previous one on the same stream.
    pub out_of_order: AtomicU64,
    /// Frames that matched no published message.
    pub unmatched: AtomicU64,
    /// Streams that ended or failed while the benchmark still listened.
    pub ended: AtomicU64,
}

#[derive(Clone)]
pub struct Sink {
    pub deliveries: mpsc::UnboundedSender<Delivery>,
    pub anomalies: Arc<Anomalies>,
}

/// Starts a subscriber; the receiver resolves once the stream's response headers arrived
/// (`Ok`) or the connection failed (`Err` with the reason).
pub fn spawn(set: &mut JoinSet<()>, target: Arc<Target>, matcher: Matcher, sink: Sink) -> oneshot::Receiver<Result<(), String>> {
    let (opened_tx, opened_rx) = oneshot::channel();
    set.spawn(async move {
        // Failures before the headers reach the driver through the oneshot (dropped unsent
        // here, it reads as a failure too).
        if subscribe(&target, matcher, &sink, opened_tx).await.is_err() {
            sink.anomalies.ended.fetch_add(1, Ordering::Relaxed);
        }
    });
    opened_rx
}

async fn subscribe(
    target: &Target,
    matcher: Matcher,
    sink: &Sink,
    opened: oneshot::Sender<Result<(), String>>,
) -> anyhow::Result<()> {
    let stream = match tokio::net::TcpStream::connect(target.addr).await {
        Ok(stream) => stream,
        Err(e) => {
            let _ = opened.send(Err(format!("connect: {e}")));
            return Ok(());
        }
    };
    stream.set_nodelay(true)?;
    let (mut sender, connection) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
        Ok(pair) => pair,
        Err(e) => {
            let _ = opened.send(Err(format!("handshake: {e}")));
            return Ok(());
        }
    };
    let mut request = Request::get(target.path_and_query.as_str())
        .header("host", target.addr.to_string())
        .header("accept", "text/event-stream");
    for (name, value) in &target.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request.body(Empty::<Bytes>::new())?;
    let read = async {
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(e) => {
                let _ = opened.send(Err(format!("request: {e}")));
                return;
            }
        };
        if !response.status().is_success() {
            let status = response.status();
            let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let _ = opened.send(Err(format!("status {status}: {}", String::from_utf8_lossy(&body))));
            return;
        }
        let _ = opened.send(Ok(()));
        let mut body = response.into_body();
        let mut state = StreamState::new(matcher);
        let mut parser = FrameParser::default();
        let mut frames = Vec::new();
        while let Some(next) = body.frame().await {
            let Ok(frame) = next else { break };
            let at = Instant::now();
            if let Some(chunk) = frame.data_ref() {
                parser.push(chunk, &mut frames);
                for frame in frames.drain(..) {
                    state.on_frame(&frame, at, sink);
                }
            }
        }
        sink.anomalies.ended.fetch_add(1, Ordering::Relaxed);
    };
    // The connection future drives the socket; the body is read beside it on the same task.
    tokio::select! {
        _ = connection => { sink.anomalies.ended.fetch_add(1, Ordering::Relaxed); }
        () = read => {}
    }
    Ok(())
}

struct StreamState {
    matcher: Matcher,
    seen: Vec<bool>,
    last_sequence: Option<i64>,
}

impl StreamState {
    fn new(matcher: Matcher) -> Self {
        StreamState { matcher, seen: Vec::new(), last_sequence: None }
    }

    fn on_frame(&mut self, frame: &Frame, at: Instant, sink: &Sink) {
        let anomalies = &sink.anomalies;
        if let Some(sequence) = number_after(&frame.data, "\"sequence\":") {
            if self.last_sequence.is_some_and(|last| sequence <= last) {
                anomalies.out_of_order.fetch_add(1, Ordering::Relaxed);
            }
            self.last_sequence = Some(sequence);
        }
        let message = match &self.matcher {
            Matcher::Marker(marker) => number_after(&frame.data, marker).and_then(|n| u32::try_from(n).ok()),
            Matcher::EventType { index, event_type } => {
                (frame.event.as_deref() == Some(&**event_type)).then_some(*index)
            }
        };
        let Some(message) = message else {
            if matches!(self.matcher, Matcher::Marker(_)) {
                anomalies.unmatched.fetch_add(1, Ordering::Relaxed);
            }
            return;
        };
        let slot = message as usize;
        if self.seen.len() <= slot {
            self.seen.resize(slot + 1, false);
        }
        if std::mem::replace(&mut self.seen[slot], true) {
            anomalies.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let data_bytes = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
        let _ = sink.deliveries.send(Delivery { message, at, data_bytes });
    }
}

/// The integer right after `needle` in `text` (a cheap scan: no JSON parse per frame).
fn number_after(text: &str, needle: &str) -> Option<i64> {
    let start = text.find(needle)? + needle.len();
    let rest = text[start..].trim_start();
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::number_after;

    #[test]
    fn numbers_follow_their_needle() {
        let data = r#"{"id":"evt_1","sequence": 42,"data":{"merchant_order_id":"lgab12-7"}}"#;
        assert_eq!(number_after(data, "\"sequence\":"), Some(42));
        assert_eq!(number_after(data, "lgab12-"), Some(7));
        assert_eq!(number_after(data, "lgzz-"), None);
    }
}
