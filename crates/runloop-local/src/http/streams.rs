//! Output stream routes: an execution's stdout or stderr as server-sent events.
//!
//! Each event is `data: {"output": "...", "offset": N}`, where `offset` is the byte offset of
//! the end of the chunk; a client reconnects with `?offset=N` to continue after it. The
//! response ends once the execution has completed and all output was sent. A failure
//! mid-stream is sent as `event: error` with `data: {"code": "410", "message": "..."}` and
//! ends the response. A comment line is sent every 15 s while no output arrives.

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{PathParams, QueryParams};
use super::AppState;
use crate::services::{OutputCursor, OutputStream, StreamFailure};

/// Query carrying the byte offset to start from, which the clients send as a string.
#[derive(Deserialize)]
pub struct OffsetQuery {
    offset: Option<String>,
}

/// Body of an `error` event.
#[derive(Serialize)]
struct ErrorEventBody<'a> {
    code: String,
    message: &'a str,
}

/// `GET /v1/devboxes/{id}/executions/{execution_id}/stream_stdout_updates`
pub async fn stdout(
    State(state): State<AppState>,
    PathParams((id, execution_id)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<OffsetQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, axum::Error>>>, ApiError> {
    open(&state, &id, &execution_id, OutputStream::Stdout, &query).await
}

/// `GET /v1/devboxes/{id}/executions/{execution_id}/stream_stderr_updates`
pub async fn stderr(
    State(state): State<AppState>,
    PathParams((id, execution_id)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<OffsetQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, axum::Error>>>, ApiError> {
    open(&state, &id, &execution_id, OutputStream::Stderr, &query).await
}

async fn open(
    state: &AppState,
    devbox_id: &str,
    execution_id: &str,
    stream: OutputStream,
    query: &OffsetQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, axum::Error>>>, ApiError> {
    let offset = parse_offset(query.offset.as_deref())?;
    let cursor = state
        .services
        .open_output_stream(devbox_id, execution_id, stream, offset)
        .await?;

    let events = stream::unfold(Some(cursor), |cursor: Option<OutputCursor>| async move {
        let mut cursor = cursor?;
        match cursor.next_chunk().await {
            Ok(Some(chunk)) => Some((Event::default().json_data(chunk), Some(cursor))),
            Ok(None) => None,
            Err(failure) => Some((error_event(&failure), None)),
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

fn error_event(failure: &StreamFailure) -> Result<Event, axum::Error> {
    if failure.code != 503 {
        tracing::warn!(
            code = failure.code,
            message = %failure.message,
            "an output stream ended with an error event"
        );
    }
    Event::default().event("error").json_data(ErrorEventBody {
        code: failure.code.to_string(),
        message: &failure.message,
    })
}

/// Parses the optional `offset` query value; an empty value counts as absent.
fn parse_offset(value: Option<&str>) -> Result<Option<u64>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(text) => text.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "offset must be a non-negative whole number of bytes, got {text:?}"
            ))
        }),
    }
}
