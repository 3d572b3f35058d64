//! Readers of an execution's output streams (`stream_stdout_updates`,
//! `stream_stderr_updates`) that reconnect without losing or repeating output.
//!
//! Each chunk carries `offset`, the byte offset in the whole output where it ends. A reader
//! remembers the last one and reopens the stream from there after:
//!
//! - a 408, as a status or as an `error` event (the server's hold ended);
//! - nothing arriving for the client's timeout (an idle connection, or one a proxy dropped);
//! - a network error, after a backoff, at most the client's `max_retries` times in a row;
//! - a clean end while the execution is still running (a server or proxy that limits how
//!   long a response stays open).
//!
//! A clean end is final only for a connection opened after the execution was seen
//! `completed`. After any other clean end, the reader checks the execution. Once it has
//! completed, the reader reads from the last offset once more, so output written just before
//! the end is not lost.

use std::collections::VecDeque;
use std::rc::Rc;

use runloop_types::{ExecutionStatus, ExecutionUpdateChunk};

use crate::client::{decode_json, ApiRequest, Client, RequestOptions};
use crate::error::{Error, Result};
use crate::platform::{Platform, ResponseBody, ResponseMode, TransportError};
use crate::resources::{execution_path, OutputStream};
use crate::sse::{event_error, LineSplitter, SseEvent, SseParser};
use crate::wait::poll_delay_ms;

/// Stage of a reader in the life of its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The execution may still be running: a clean end is checked.
    Live,
    /// The execution has completed: the next clean end is final.
    Draining,
    /// Everything was read.
    Done,
}

/// An open connection to an output stream.
struct Connection<P: Platform> {
    reader: P::Reader,
    parser: SseParser,
}

/// Reads one output stream of an execution as chunks, reconnecting as the module describes.
pub struct ChunkReader<P: Platform> {
    client: Rc<Client<P>>,
    devbox_id: String,
    execution_id: String,
    stream: OutputStream,
    signal: Option<P::Signal>,
    offset: u64,
    phase: Phase,
    connection: Option<Connection<P>>,
    events: VecDeque<SseEvent>,
    /// The last connection ended cleanly and its events have not all been delivered yet.
    ended: bool,
    /// Network failures since the last chunk.
    failures: u32,
    /// Clean ends seen while the execution was still running, for the pause before reopening.
    early_ends: u32,
}

impl<P: Platform> ChunkReader<P> {
    /// Creates a reader that starts at byte `offset` of the output (0 for all of it).
    /// `completed` means the execution is already known to have completed, which saves a
    /// status check at the end. `signal` aborts the reader.
    pub fn new(
        client: Rc<Client<P>>,
        devbox_id: String,
        execution_id: String,
        stream: OutputStream,
        offset: u64,
        completed: bool,
        signal: Option<P::Signal>,
    ) -> Self {
        Self {
            client,
            devbox_id,
            execution_id,
            stream,
            signal,
            offset,
            phase: if completed {
                Phase::Draining
            } else {
                Phase::Live
            },
            connection: None,
            events: VecDeque::new(),
            ended: false,
            failures: 0,
            early_ends: 0,
        }
    }

    /// Returns the offset where the last chunk delivered ends.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Returns the next chunk, or `None` once the execution has completed and all its output
    /// was read.
    pub async fn next_chunk(&mut self) -> Result<Option<ExecutionUpdateChunk>> {
        loop {
            if let Some(chunk) = self.take_event()? {
                return Ok(Some(chunk));
            }
            if self.ended {
                self.ended = false;
                self.after_clean_end().await?;
                continue;
            }
            if self.phase == Phase::Done {
                return Ok(None);
            }

            let Some(connection) = self.connection.as_mut() else {
                self.connection = self.open().await?;
                continue;
            };
            let idle_timeout_ms = self.client.config().timeout_ms;
            let read = self
                .client
                .platform()
                .read_chunk(
                    &mut connection.reader,
                    idle_timeout_ms,
                    self.signal.as_ref(),
                )
                .await;

            match read {
                Ok(Some(text)) => connection.parser.feed(&text, &mut self.events),
                Ok(None) => {
                    connection.parser.finish(&mut self.events);
                    self.connection = None;
                    self.ended = true;
                }
                Err(TransportError::Aborted) => return Err(Error::Aborted),
                // Silence for a whole timeout: reopen from the last offset.
                Err(TransportError::Timeout) => self.connection = None,
                Err(TransportError::Network { message, cause }) => {
                    self.connection = None;
                    self.back_off(Error::Connection { message, cause }).await?;
                }
            }
        }
    }

    /// Reads the rest of the stream and returns it as one string.
    pub async fn read_to_end(&mut self) -> Result<String> {
        let mut output = String::new();
        while let Some(chunk) = self.next_chunk().await? {
            output.push_str(&chunk.output);
        }
        Ok(output)
    }

    /// Delivers the next queued event: a chunk past the last offset, or the error of an
    /// `error` event. A 408 event drops the connection, so the stream reopens.
    fn take_event(&mut self) -> Result<Option<ExecutionUpdateChunk>> {
        while let Some(event) = self.events.pop_front() {
            if event.event == "error" {
                let error = event_error(&event.data);
                if error.status() != Some(408) {
                    return Err(error);
                }
                self.connection = None;
                self.events.clear();
                self.ended = false;
                return Ok(None);
            }

            let chunk: ExecutionUpdateChunk = decode_json(&event.data, &self.describe())?;
            let end = chunk
                .offset
                .unwrap_or(self.offset + chunk.output.len() as u64);
            // A server that resends what the requested offset covers has its repeats dropped.
            if chunk.offset.is_some() && end <= self.offset {
                continue;
            }
            self.offset = end;
            self.failures = 0;
            return Ok(Some(chunk));
        }
        Ok(None)
    }

    /// Decides what a clean end means. It ends the output when the connection was opened
    /// after completion. Otherwise the stream is read once more after the execution completes.
    async fn after_clean_end(&mut self) -> Result<()> {
        if self.phase != Phase::Live {
            self.phase = Phase::Done;
            return Ok(());
        }

        let options = RequestOptions {
            signal: self.signal.clone(),
            ..RequestOptions::default()
        };
        let view = self
            .client
            .executions()
            .retrieve(&self.devbox_id, &self.execution_id, Some(1), &options)
            .await?;
        if view.status == ExecutionStatus::Completed {
            self.phase = Phase::Draining;
            return Ok(());
        }
        self.pause_before_reopening().await
    }

    /// Opens the stream at the current offset. Returns `None` after a 408, so that the caller
    /// tries again.
    async fn open(&mut self) -> Result<Option<Connection<P>>> {
        let endpoint = match self.stream {
            OutputStream::Stdout => "/stream_stdout_updates",
            OutputStream::Stderr => "/stream_stderr_updates",
        };
        let request = ApiRequest::get(execution_path(
            &self.devbox_id,
            &self.execution_id,
            endpoint,
        ))
        .query([("offset".to_owned(), self.offset.to_string())])
        .accept("text/event-stream", ResponseMode::Stream)
        .long_poll(0);
        let options = RequestOptions {
            signal: self.signal.clone(),
            ..RequestOptions::default()
        };

        match self.client.send(&request, &options).await {
            Ok(response) => match response.body {
                ResponseBody::Stream(reader) => Ok(Some(Connection {
                    reader,
                    parser: SseParser::default(),
                })),
                ResponseBody::Text(text) => {
                    // A host that cannot stream hands over the whole body at once.
                    let mut parser = SseParser::default();
                    parser.feed(&text, &mut self.events);
                    parser.finish(&mut self.events);
                    self.ended = true;
                    Ok(None)
                }
                ResponseBody::Payload(_) => Err(Error::InvalidResponse {
                    context: self.describe(),
                    message: "the host did not return a readable stream".to_owned(),
                }),
            },
            Err(error) if error.status() == Some(408) => {
                self.pause_before_reopening().await?;
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Pauses before reopening a stream that ended early, from 10 ms up to 1 s, so that a
    /// server which keeps ending it at once is not called in a tight loop.
    async fn pause_before_reopening(&mut self) -> Result<()> {
        let delay_ms = poll_delay_ms(self.early_ends);
        self.early_ends += 1;
        self.client
            .platform()
            .sleep(delay_ms, self.signal.as_ref())
            .await
            .map_err(|_| Error::Aborted)
    }

    /// Waits before reopening after a network failure, or fails once the client's retries
    /// are used up.
    async fn back_off(&mut self, error: Error) -> Result<()> {
        if self.failures >= self.client.config().retry.max_retries {
            return Err(error);
        }
        let delay_ms = self.client.retry_delay_ms(self.failures, None);
        self.failures += 1;
        self.client
            .platform()
            .sleep(delay_ms, self.signal.as_ref())
            .await
            .map_err(|_| Error::Aborted)
    }

    fn describe(&self) -> String {
        let endpoint = match self.stream {
            OutputStream::Stdout => "stream_stdout_updates",
            OutputStream::Stderr => "stream_stderr_updates",
        };
        format!(
            "GET /v1/devboxes/{}/executions/{}/{endpoint}",
            self.devbox_id, self.execution_id
        )
    }
}

/// Reads one output stream of an execution line by line. Each line keeps its `\n`; the last
/// one has none when the output does not end with a newline.
pub struct LineReader<P: Platform> {
    chunks: ChunkReader<P>,
    splitter: LineSplitter,
    lines: VecDeque<String>,
    done: bool,
}

impl<P: Platform> LineReader<P> {
    /// Wraps a chunk reader.
    pub fn new(chunks: ChunkReader<P>) -> Self {
        Self {
            chunks,
            splitter: LineSplitter::default(),
            lines: VecDeque::new(),
            done: false,
        }
    }

    /// Returns the next line, or `None` after the last one.
    pub async fn next_line(&mut self) -> Result<Option<String>> {
        loop {
            if let Some(line) = self.lines.pop_front() {
                return Ok(Some(line));
            }
            if self.done {
                return Ok(None);
            }
            match self.chunks.next_chunk().await? {
                Some(chunk) => self.splitter.push(&chunk.output, &mut self.lines),
                None => {
                    self.done = true;
                    return Ok(self.splitter.finish());
                }
            }
        }
    }
}
