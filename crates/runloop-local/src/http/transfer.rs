//! File transfer routes: `upload_file` (multipart/form-data) and `download_file` (raw
//! bytes). Both stream, so neither keeps a whole file in memory.

use axum::body::{Body, Bytes};
use axum::extract::multipart::{Field, Multipart, MultipartError, MultipartRejection};
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use runloop_types::DownloadFileParams;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::AppState;
use crate::services::{ReceivedUpload, UploadBody};

/// Largest `path` field of an upload, in bytes.
const MAX_PATH_FIELD_BYTES: usize = 4096;

/// Size of the reads that feed a download's response body.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

/// `POST /v1/devboxes/{id}/upload_file`: a multipart/form-data body with a text field
/// `path` and a file part `file`, which must come after `path` (the official clients send
/// them in that order). Returns `{}`, because the hosted API documents no response shape.
/// The file appears at `path` only once the whole form has been read and found valid.
pub async fn upload(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut multipart = multipart.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            format!(
                "upload_file needs a multipart/form-data body with the fields path and file: {}",
                rejection.body_text()
            ),
        )
    })?;

    let mut received = None;
    if let Err(error) = read_upload_form(&state, &id, &mut multipart, &mut received).await {
        if let Some(upload) = received {
            upload.discard().await;
        }
        return Err(error);
    }
    let Some(upload) = received else {
        return Err(ApiError::bad_request(
            "the form has no file part; add the file to upload as the part named file",
        ));
    };
    upload.commit().await?;
    Ok(Json(serde_json::json!({})))
}

/// Reads every field of an upload form, writing the file part into `received`. On an
/// error the caller discards whatever `received` holds.
async fn read_upload_form(
    state: &AppState,
    id: &str,
    multipart: &mut Multipart,
    received: &mut Option<ReceivedUpload>,
) -> Result<(), ApiError> {
    let mut path: Option<String> = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "path" => {
                if path.is_some() {
                    return Err(ApiError::bad_request(
                        "the form has more than one path field; send exactly one",
                    ));
                }
                path = Some(read_path_field(field).await?);
            }
            "file" => {
                if received.is_some() {
                    return Err(ApiError::bad_request(
                        "the form has more than one file part; upload one file per request",
                    ));
                }
                let Some(path) = path.as_deref() else {
                    return Err(ApiError::bad_request(
                        "the form has no path field before the file part; send path first, \
                         then file",
                    ));
                };
                let mut body = FieldBody(field);
                *received = Some(state.services.receive_upload(id, path, &mut body).await?);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field {other:?}; upload_file takes the fields path and file"
                )));
            }
        }
    }

    if path.is_none() {
        return Err(ApiError::bad_request(
            "the form has neither a path field nor a file part",
        ));
    }
    Ok(())
}

/// `POST /v1/devboxes/{id}/download_file`: the file's exact bytes as
/// `application/octet-stream`, read from disk while they are sent.
pub async fn download(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<DownloadFileParams>,
) -> Result<Response, ApiError> {
    let download = state.services.download_file(&id, &params.path).await?;
    // Reading stops at the size that Content-Length announces, even if the file grows.
    let reader = download.file.take(download.size);
    let body = Body::from_stream(ReaderStream::with_capacity(reader, DOWNLOAD_CHUNK));
    let headers = [
        (CONTENT_TYPE, "application/octet-stream".to_owned()),
        (CONTENT_LENGTH, download.size.to_string()),
    ];
    Ok((headers, body).into_response())
}

/// A multipart file part as the source of an upload.
struct FieldBody<'a>(Field<'a>);

impl UploadBody for FieldBody<'_> {
    type Chunk = Bytes;

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, String> {
        self.0.chunk().await.map_err(|error| error.body_text())
    }
}

async fn read_path_field(mut field: Field<'_>) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_PATH_FIELD_BYTES {
            return Err(ApiError::bad_request(format!(
                "the path field is longer than {MAX_PATH_FIELD_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| ApiError::bad_request("the path field is not valid UTF-8"))
}

fn multipart_error(error: MultipartError) -> ApiError {
    ApiError::new(
        error.status(),
        format!("invalid multipart/form-data body: {}", error.body_text()),
    )
}
