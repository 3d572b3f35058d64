//! Helpers for the execution tests: starting commands, waiting for them, and reading the
//! output streams as server-sent events.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::TestServer;

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` for plain data events.
    pub event: Option<String>,
    /// The `data:` lines joined with newlines.
    pub data: String,
}

impl SseEvent {
    /// Parses the data as an output chunk and returns its `output` and `offset`.
    pub fn chunk(&self) -> (String, u64) {
        assert_eq!(self.event, None, "expected a data event, got {self:?}");
        let chunk: Value = serde_json::from_str(&self.data).expect("chunk data is JSON");
        let output = chunk["output"]
            .as_str()
            .expect("chunk has output")
            .to_owned();
        let offset = chunk["offset"].as_u64().expect("chunk has an offset");
        (output, offset)
    }
}

/// An open output stream, read event by event.
pub struct SseReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl SseReader {
    /// Returns the next event, or `None` once the server closed the stream. Comment lines
    /// (keep-alives) are skipped.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = find_event_end(&self.buffer) {
                let block: Vec<u8> = self.buffer.drain(..end).collect();
                let text = String::from_utf8(block).expect("events are UTF-8");
                if let Some(event) = parse_event(&text) {
                    return Some(event);
                }
                continue;
            }
            let chunk = self
                .response
                .chunk()
                .await
                .expect("stream body can be read")?;
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// Reads every remaining event until the server closes the stream.
    pub async fn rest(mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        assert!(
            self.buffer.iter().all(u8::is_ascii_whitespace),
            "stream ended inside an event: {:?}",
            String::from_utf8_lossy(&self.buffer)
        );
        events
    }
}

/// Opens `stream` (`stdout` or `stderr`) of an execution at `offset`.
pub async fn open_stream(
    server: &TestServer,
    devbox_id: &str,
    execution_id: &str,
    stream: &str,
    offset: Option<u64>,
) -> SseReader {
    let (status, reader) = try_open_stream(server, devbox_id, execution_id, stream, offset).await;
    assert_eq!(status, StatusCode::OK, "stream did not open");
    reader.expect("an open stream")
}

/// Opens a stream and returns its status, with the reader when it is 200.
pub async fn try_open_stream(
    server: &TestServer,
    devbox_id: &str,
    execution_id: &str,
    stream: &str,
    offset: Option<u64>,
) -> (StatusCode, Option<SseReader>) {
    let query = offset
        .map(|offset| format!("?offset={offset}"))
        .unwrap_or_default();
    let response = server
        .client
        .get(format!(
            "{}/v1/devboxes/{devbox_id}/executions/{execution_id}/stream_{stream}_updates{query}",
            server.base_url
        ))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("request reaches the server");
    let status = response.status();
    if status != StatusCode::OK {
        return (status, None);
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/event-stream"),
        "content type is {content_type}"
    );
    let reader = SseReader {
        response,
        buffer: Vec::new(),
    };
    (status, Some(reader))
}

/// Reads a whole stream from `offset` and returns its chunks as (output, offset) pairs.
pub async fn read_chunks(
    server: &TestServer,
    devbox_id: &str,
    execution_id: &str,
    stream: &str,
    offset: Option<u64>,
) -> Vec<(String, u64)> {
    open_stream(server, devbox_id, execution_id, stream, offset)
        .await
        .rest()
        .await
        .iter()
        .map(SseEvent::chunk)
        .collect()
}

/// Starts `body` with execute_async and returns the view.
pub async fn start_async(server: &TestServer, devbox_id: &str, body: Value) -> Value {
    let (status, view) = server
        .post(&format!("/v1/devboxes/{devbox_id}/execute_async"), body)
        .await;
    assert_eq!(status, StatusCode::OK, "execute_async failed: {view}");
    view
}

/// Returns the `execution_id` of a view.
pub fn execution_id(view: &Value) -> String {
    view["execution_id"]
        .as_str()
        .expect("view has an execution id")
        .to_owned()
}

/// Waits, through wait_for_status, until the execution has completed; returns the view.
pub async fn wait_completed(server: &TestServer, devbox_id: &str, execution_id: &str) -> Value {
    loop {
        let (status, view) = server
            .post(
                &format!("/v1/devboxes/{devbox_id}/executions/{execution_id}/wait_for_status"),
                json!({ "statuses": ["completed"] }),
            )
            .await;
        match status {
            StatusCode::OK => return view,
            StatusCode::REQUEST_TIMEOUT => continue,
            other => panic!("wait_for_status failed with {other}: {view}"),
        }
    }
}

/// Sends `body` to send_std_in and returns the status and response.
pub async fn send_stdin(
    server: &TestServer,
    devbox_id: &str,
    execution_id: &str,
    body: Value,
) -> (StatusCode, Value) {
    server
        .post(
            &format!("/v1/devboxes/{devbox_id}/executions/{execution_id}/send_std_in"),
            body,
        )
        .await
}

/// Reads events from `reader` until the concatenated output contains `needle`; returns
/// the output read and the offset of the last chunk.
pub async fn read_until(reader: &mut SseReader, needle: &str) -> (String, u64) {
    let mut output = String::new();
    let mut offset = 0;
    while !output.contains(needle) {
        let event = reader
            .next()
            .await
            .unwrap_or_else(|| panic!("stream ended before {needle:?}; got {output:?}"));
        let (text, end) = event.chunk();
        output.push_str(&text);
        offset = end;
    }
    (output, offset)
}

fn find_event_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(2)
        .position(|pair| pair == b"\n\n")
        .map(|index| index + 2)
}

fn parse_event(block: &str) -> Option<SseEvent> {
    let mut event = None;
    let mut data = Vec::new();
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(SseEvent {
        event,
        data: data.join("\n"),
    })
}
