//! An execution's stdout or stderr read as a sequence of chunks, for the server-sent event
//! streams.
//!
//! Each chunk's `offset` is the byte offset of its end in the whole stream, so a client that
//! reconnects with the last offset it received gets exactly the bytes after that chunk. A
//! chunk never ends inside a UTF-8 character: an incomplete character at the current end of
//! a running command's output waits for its remaining bytes. A requested offset inside a
//! character moves back to that character's first byte, so no character is ever sent
//! split. Once the command has completed, an incomplete or invalid sequence is sent as
//! U+FFFD.

use std::sync::Arc;

use runloop_types::{ExecutionStatus, ExecutionUpdateChunk};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::execution::{read_spilled, Execution, OutputStream};
use super::output::{complete_utf8_len, split_character_back, ReadPlan};
use super::Services;
use crate::error::{ServiceError, ServiceResult};

/// Largest number of output bytes in one chunk.
pub const MAX_CHUNK_BYTES: usize = 64 * 1024;

/// A failure in the middle of a stream, sent as an `error` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFailure {
    /// HTTP status that describes the failure.
    pub code: u16,
    /// Description of the failure and of what to do next.
    pub message: String,
}

/// A reader of one output stream of one execution, from a byte offset on.
pub struct OutputCursor {
    execution: Arc<Execution>,
    stream: OutputStream,
    offset: u64,
    changes: watch::Receiver<u64>,
    shutdown: CancellationToken,
}

impl Services {
    /// Opens `stream` of execution `execution_id` at byte `offset` (0 when not given).
    /// Fails when the offset is past the output written so far.
    pub async fn open_output_stream(
        &self,
        devbox_id: &str,
        execution_id: &str,
        stream: OutputStream,
        offset: Option<u64>,
    ) -> ServiceResult<OutputCursor> {
        let execution = self.find_execution(devbox_id, execution_id)?;
        let requested = offset.unwrap_or(0);
        let written = execution.output_len(stream);
        if requested > written {
            return Err(ServiceError::InvalidRequest(format!(
                "offset {requested} is past the end of the {} of execution {execution_id}, \
                 which has {written} bytes so far; pass the offset of the last chunk received",
                stream.name()
            )));
        }

        let mut cursor = OutputCursor {
            changes: execution.subscribe_output(),
            execution,
            stream,
            offset: requested,
            shutdown: self.shutdown.clone(),
        };
        cursor.offset = cursor.character_start(requested).await;
        Ok(cursor)
    }
}

impl OutputCursor {
    /// Returns the next chunk, waiting for output while the command runs, or `None` once
    /// the command has completed and every byte has been sent.
    pub async fn next_chunk(&mut self) -> Result<Option<ExecutionUpdateChunk>, StreamFailure> {
        loop {
            // Mark the current version seen before reading, so output that arrives after
            // the read wakes the wait below.
            self.changes.borrow_and_update();
            let completed = self.execution.status() == ExecutionStatus::Completed;
            let (plan, written) =
                self.execution
                    .plan_read(self.stream, self.offset, MAX_CHUNK_BYTES);
            let bytes = self.fetch(plan).await?;

            let at_end = self.offset + bytes.len() as u64 == written;
            let keep = if at_end && completed {
                bytes.len()
            } else {
                match complete_utf8_len(&bytes) {
                    // An incomplete character right before bytes that were not kept.
                    0 if !at_end => bytes.len(),
                    complete => complete,
                }
            };

            if keep > 0 {
                self.offset += keep as u64;
                return Ok(Some(ExecutionUpdateChunk {
                    output: String::from_utf8_lossy(&bytes[..keep]).into_owned(),
                    offset: Some(self.offset),
                }));
            }
            if completed && at_end {
                return Ok(None);
            }

            tokio::select! {
                changed = self.changes.changed() => {
                    if changed.is_err() {
                        return Ok(None);
                    }
                }
                () = self.shutdown.cancelled() => {
                    return Err(StreamFailure {
                        code: 503,
                        message: format!(
                            "the server is shutting down; reconnect with offset={} once it is back",
                            self.offset
                        ),
                    });
                }
            }
        }
    }

    /// Returns the offset of the first byte of the character that contains byte
    /// `requested`. Keeps `requested` when the bytes around it cannot be read.
    async fn character_start(&self, requested: u64) -> u64 {
        if requested == 0 {
            return 0;
        }
        let from = requested.saturating_sub(3);
        let (plan, _) = self.execution.plan_read(self.stream, from, 4);
        let Ok(bytes) = self.fetch(plan).await else {
            return requested;
        };

        let split = usize::try_from(requested - from)
            .unwrap_or(0)
            .min(bytes.len());
        let (before, after) = bytes.split_at(split);
        requested - split_character_back(before, after.first().copied()) as u64
    }

    /// Collects the bytes that `plan` locates.
    async fn fetch(&self, plan: ReadPlan) -> Result<Vec<u8>, StreamFailure> {
        let stream = self.stream.name();
        let execution_id = &self.execution.id;
        match plan {
            ReadPlan::Memory(bytes) => Ok(bytes),
            ReadPlan::Spilled {
                path,
                start,
                end,
                then,
                memory_start,
            } => {
                let mut bytes = read_spilled(&path, start, end).await.map_err(|error| {
                    let cause = if error.kind() == std::io::ErrorKind::NotFound {
                        format!(
                            "they were kept in a file that was deleted when devbox {} shut down",
                            self.execution.devbox_id
                        )
                    } else {
                        format!("reading them failed: {error}")
                    };
                    StreamFailure {
                        code: 410,
                        message: format!(
                            "bytes {start} to {memory_start} of the {stream} of execution \
                             {execution_id} are no longer available because {cause}; \
                             reconnect with offset={memory_start} for the rest"
                        ),
                    }
                })?;
                bytes.extend_from_slice(&then);
                Ok(bytes)
            }
            ReadPlan::Lost { resume_at } => Err(StreamFailure {
                code: 410,
                message: format!(
                    "bytes {} to {resume_at} of the {stream} of execution {execution_id} were \
                     not kept; reconnect with offset={resume_at} for the rest",
                    self.offset
                ),
            }),
        }
    }
}
