//! An incremental parser of server-sent events (`text/event-stream`), fed with the body text
//! as it arrives, and the line splitter that turns output chunks into lines.

use std::collections::VecDeque;

use crate::error::{ApiError, Error};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; empty for the default `message` event.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Parser state between two pieces of a stream.
#[derive(Debug, Default)]
pub struct SseParser {
    line: String,
    event: String,
    data: String,
    has_data: bool,
    /// The previous piece ended with `\r`, so a `\n` starting this one ends no line.
    after_cr: bool,
}

impl SseParser {
    /// Parses the next piece of the stream and appends each event it completes to `events`.
    /// Lines end with `\n`, `\r\n` or `\r`, and may be split between pieces.
    pub fn feed(&mut self, text: &str, events: &mut VecDeque<SseEvent>) {
        let mut rest = text;
        if self.after_cr {
            rest = rest.strip_prefix('\n').unwrap_or(rest);
            self.after_cr = false;
        }

        while let Some(end) = rest.find(['\n', '\r']) {
            self.line.push_str(&rest[..end]);
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, events);

            let is_cr = rest.as_bytes()[end] == b'\r';
            rest = &rest[end + 1..];
            if is_cr {
                match rest.strip_prefix('\n') {
                    Some(after) => rest = after,
                    None if rest.is_empty() => self.after_cr = true,
                    None => {}
                }
            }
        }
        self.line.push_str(rest);
    }

    /// Ends the stream: a last line or event that the stream did not terminate is still
    /// parsed and dispatched.
    pub fn finish(&mut self, events: &mut VecDeque<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, events);
        }
        self.dispatch(events);
    }

    fn process_line(&mut self, line: &str, events: &mut VecDeque<SseEvent>) {
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        if line.starts_with(':') {
            return;
        }

        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut VecDeque<SseEvent>) {
        if self.has_data {
            events.push_back(SseEvent {
                event: std::mem::take(&mut self.event),
                data: std::mem::take(&mut self.data),
            });
        }
        self.event.clear();
        self.data.clear();
        self.has_data = false;
    }
}

/// Builds the error of an `error` event, whose JSON `code` is an HTTP status given as a
/// string or a number; 500 when it has none.
pub fn event_error(data: &str) -> Error {
    let parsed: Option<serde_json::Value> = serde_json::from_str(data).ok();
    let code = parsed.as_ref().and_then(|value| match value.get("code") {
        Some(serde_json::Value::String(code)) => code.parse::<u16>().ok(),
        Some(serde_json::Value::Number(code)) => code.as_u64().and_then(|c| u16::try_from(c).ok()),
        _ => None,
    });
    let status = code.unwrap_or(500);
    Error::Api(Box::new(ApiError::from_response(
        status,
        Vec::new(),
        data,
        None,
    )))
}

/// Splits output chunks into lines. Each line keeps its `\n`, so the lines concatenate to the
/// exact output; the last line has none when the output does not end with one.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: String,
}

impl LineSplitter {
    /// Appends a chunk and moves every line it completes to `lines`.
    pub fn push(&mut self, chunk: &str, lines: &mut VecDeque<String>) {
        let mut rest = chunk;
        while let Some(end) = rest.find('\n') {
            let mut line = std::mem::take(&mut self.partial);
            line.push_str(&rest[..=end]);
            lines.push_back(line);
            rest = &rest[end + 1..];
        }
        self.partial.push_str(rest);
    }

    /// Ends the output: returns the unterminated last line, if it is not empty.
    pub fn finish(&mut self) -> Option<String> {
        let partial = std::mem::take(&mut self.partial);
        (!partial.is_empty()).then_some(partial)
    }
}
