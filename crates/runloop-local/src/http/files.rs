//! File routes.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use runloop_types::{DevboxExecutionDetailView, ReadFileParams, WriteFileParams};

use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::AppState;

/// Largest body of write_file_contents: 100 MiB of contents plus room for JSON escapes.
const WRITE_BODY_LIMIT: usize = 256 * 1024 * 1024;

/// `POST /v1/devboxes/{id}/read_file_contents`: the file as `text/plain; charset=utf-8`.
pub async fn read(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<ReadFileParams>,
) -> Result<impl IntoResponse, ApiError> {
    let text = state.services.read_file(&id, &params.file_path).await?;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// `POST /v1/devboxes/{id}/write_file_contents`; the body may be up to 256 MiB.
pub async fn write(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<WriteFileParams, WRITE_BODY_LIMIT>,
) -> Result<Json<DevboxExecutionDetailView>, ApiError> {
    Ok(Json(
        state
            .services
            .write_file(&id, &params.file_path, params.contents)
            .await?,
    ))
}
