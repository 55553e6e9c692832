//! A Server-Sent Events frame parser: bytes in, dispatched events out. Enough of the spec for
//! the benchmark: `id`, `event` and (multi-line) `data` fields, comments, LF or CRLF line ends.

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

#[derive(Default)]
pub struct FrameParser {
    pending: Vec<u8>,
    current: Frame,
    has_data: bool,
}

impl FrameParser {
    /// Feeds a chunk of the body; appends every frame it completes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Frame>) {
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(offset) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + offset;
            let line = &self.pending[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = String::from_utf8_lossy(line).into_owned();
            self.line(&line, out);
            start = end + 1;
        }
        self.pending.drain(..start);
    }

    fn line(&mut self, line: &str, out: &mut Vec<Frame>) {
        if line.is_empty() {
            // A blank line dispatches; a frame without data (a keep-alive comment) is dropped.
            let frame = std::mem::take(&mut self.current);
            if std::mem::take(&mut self.has_data) {
                out.push(frame);
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "id" => self.current.id = Some(value.to_owned()),
            "event" => self.current.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&str]) -> Vec<Frame> {
        let mut parser = FrameParser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.push(chunk.as_bytes(), &mut out);
        }
        out
    }

    #[test]
    fn frames_split_across_chunks_are_reassembled() {
        let frames = parse(&["id: evt_1\nev", "ent: payment_intent.created\r\ndata: {\"a\":", "1}\n", "\n"]);
        assert_eq!(
            frames,
            vec![Frame { id: Some("evt_1".into()), event: Some("payment_intent.created".into()), data: "{\"a\":1}".into() }]
        );
    }

    #[test]
    fn comments_and_keep_alives_dispatch_nothing() {
        assert!(parse(&[": keep-alive\n\n", ":\n\n"]).is_empty());
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let frames = parse(&["data: one\ndata:two\n\nid: 2\ndata: three\n\n"]);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data, "one\ntwo");
        assert_eq!(frames[1].id.as_deref(), Some("2"));
    }
}
