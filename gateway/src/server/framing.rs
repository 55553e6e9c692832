//! Notes, for each request on a connection, whether its header block carries both
//! `Content-Length` and `Transfer-Encoding`. hyper follows RFC 9112 there (the transfer coding
//! wins and `Content-Length` is dropped before anyone sees it), but a proxy in front may have
//! framed the body by the other header: the request is refused instead (request smuggling).
//!
//! The bytes hyper reads pass through [`Scanned`], which follows the HTTP/1.1 framing on a copy
//! (header blocks, then `Content-Length` bodies or chunks) and queues one verdict per request
//! head, in order; the service takes them in the same order (HTTP/1.1 answers requests one at a
//! time, in order).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The verdicts of the connection's requests, oldest first: `true` when framed twice.
#[derive(Clone, Default)]
pub(super) struct Verdicts(Arc<Mutex<VecDeque<bool>>>);

impl Verdicts {
    /// The next request's verdict (`false` when the scanner gave up on the connection).
    pub(super) fn next(&self) -> bool {
        self.0.lock().ok().and_then(|mut v| v.pop_front()).unwrap_or(false)
    }

    fn push(&self, framed_twice: bool) {
        if let Ok(mut v) = self.0.lock() {
            v.push_back(framed_twice);
        }
    }
}

enum Mode {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
    /// Not HTTP/1.1 framing we can follow (an upgrade, garbage): hyper decides alone.
    Off,
}

/// Header blocks larger than this are hyper's to refuse; the scanner stops following.
const MAX_HEAD: usize = 64 * 1024;

pub(super) struct Scanned<S> {
    inner: S,
    verdicts: Verdicts,
    mode: Mode,
    pending: Vec<u8>,
}

impl<S> Scanned<S> {
    pub(super) fn new(inner: S, verdicts: Verdicts) -> Self {
        Self { inner, verdicts, mode: Mode::Head, pending: Vec::new() }
    }

    fn observe(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        // Body bytes are skipped where they lie; only what may hold a head or a chunk size is kept.
        if self.pending.is_empty() {
            if let Mode::Body(left) | Mode::ChunkData(left) = self.mode {
                let skip = left.min(bytes.len() as u64);
                let rest = left - skip;
                self.mode = match (&self.mode, rest) {
                    (Mode::Body(_), 0) => Mode::Head,
                    (Mode::Body(_), _) => Mode::Body(rest),
                    (_, 0) => Mode::ChunkSize,
                    _ => Mode::ChunkData(rest),
                };
                bytes = &bytes[skip as usize..];
            }
        }
        if matches!(self.mode, Mode::Off) || bytes.is_empty() {
            return;
        }
        self.pending.extend_from_slice(bytes);
        loop {
            let used = match self.mode {
                Mode::Off => {
                    self.pending.clear();
                    return;
                }
                Mode::Head => match self.head() {
                    Some(used) => used,
                    None => return,
                },
                Mode::Body(left) => {
                    let used = left.min(self.pending.len() as u64);
                    self.mode = if used == left { Mode::Head } else { Mode::Body(left - used) };
                    if used == 0 && left > 0 {
                        return;
                    }
                    used as usize
                }
                Mode::ChunkSize => match httparse::parse_chunk_size(&self.pending) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        self.mode = Mode::Trailers;
                        used
                    }
                    // The chunk and its closing CRLF.
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.mode = Mode::ChunkData(size.saturating_add(2));
                        used
                    }
                    Ok(httparse::Status::Partial) => return,
                    Err(_) => {
                        self.mode = Mode::Off;
                        continue;
                    }
                },
                Mode::ChunkData(left) => {
                    let used = left.min(self.pending.len() as u64);
                    self.mode = if used == left { Mode::ChunkSize } else { Mode::ChunkData(left - used) };
                    if used == 0 && left > 0 {
                        return;
                    }
                    used as usize
                }
                Mode::Trailers => match self.pending.windows(2).position(|w| w == b"\r\n") {
                    // An empty line ends the message.
                    Some(0) => {
                        self.mode = Mode::Head;
                        2
                    }
                    Some(at) => at + 2,
                    None => return,
                },
            };
            self.pending.drain(..used);
        }
    }

    /// Reads one request head; how many bytes it took, or `None` until more arrive.
    fn head(&mut self) -> Option<usize> {
        // Blank lines between requests are allowed (RFC 9112 §2.2).
        let skip = self.pending.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
        if skip > 0 {
            self.pending.drain(..skip);
        }
        if self.pending.is_empty() {
            return None;
        }
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&self.pending) {
            Ok(httparse::Status::Complete(used)) => {
                let lengths: Vec<&[u8]> = request.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("content-length")).map(|h| h.value).collect();
                let encodings: Vec<&[u8]> = request.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("transfer-encoding")).map(|h| h.value).collect();
                let length = lengths.first().and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
                let framed_twice = !lengths.is_empty() && !encodings.is_empty();
                self.verdicts.push(framed_twice);
                let chunked = encodings.last().is_some_and(|v| v.to_ascii_lowercase().ends_with(b"chunked"));
                let upgrade = request.headers.iter().any(|h| h.name.eq_ignore_ascii_case("upgrade"));
                self.mode = if upgrade {
                    Mode::Off
                } else if chunked {
                    Mode::ChunkSize
                } else if !encodings.is_empty() {
                    // Not chunked last: hyper refuses the request; nothing more to follow.
                    Mode::Off
                } else {
                    Mode::Body(length.unwrap_or(0))
                };
                Some(used)
            }
            Ok(httparse::Status::Partial) if self.pending.len() <= MAX_HEAD => None,
            _ => {
                self.mode = Mode::Off;
                Some(self.pending.len())
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Scanned<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            self.observe(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Scanned<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts_of(chunks: &[&[u8]]) -> Vec<bool> {
        let verdicts = Verdicts::default();
        let mut scanned = Scanned::new((), verdicts.clone());
        for chunk in chunks {
            scanned.observe(chunk);
        }
        let v = verdicts.0.lock().unwrap().iter().copied().collect();
        v
    }

    #[test]
    fn each_request_head_gets_its_verdict_however_the_bytes_arrive() {
        let body = r#"{"a":"content-length: 5\r\ntransfer-encoding: chunked"}"#;
        let plain = format!("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let chunked = "POST /y HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
        let twice = "POST /z HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        let all = format!("{plain}{chunked}GET /h HTTP/1.1\r\nHost: h\r\n\r\n{twice}");
        assert_eq!(verdicts_of(&[all.as_bytes()]), [false, false, false, true], "a body that looks like headers is not a head");
        let bytes = all.as_bytes();
        let split: Vec<&[u8]> = bytes.chunks(7).collect();
        assert_eq!(verdicts_of(&split), [false, false, false, true], "the same, a few bytes at a time");
    }
}
