//! Request extractors whose rejections use the JSON error shape.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::http::StatusCode;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Maximum JSON body size of a route that sets no limit of its own, in bytes: 2 MiB, the
/// same as axum's default.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON request body of at most `LIMIT` bytes. An empty body reads as `{}`, because the
/// official clients send bodiless POSTs with `Content-Type: application/json`. Any other
/// body must be a JSON object. The content type is not checked.
///
/// The body is read here, not by axum's body extractors, so `DefaultBodyLimit` layers do
/// not apply. A larger body is rejected with a 413 that names the limit: at once when
/// `Content-Length` announces it, else as soon as the bytes read pass it.
pub struct JsonBody<T, const LIMIT: usize = DEFAULT_BODY_LIMIT>(pub T);

impl<S, T, const LIMIT: usize> FromRequest<S> for JsonBody<T, LIMIT>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, LIMIT).await?;

        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        // serde also reads a struct from an array of its fields in order, so without this
        // check `["ls"]` would run a command.
        let first = text.iter().find(|byte| !byte.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(ApiError::bad_request(
                "invalid JSON body: expected a JSON object such as {\"key\": \"value\"}",
            ));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(text);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                ApiError::bad_request(format!("invalid JSON body: {inner}"))
            } else {
                ApiError::bad_request(format!("invalid JSON body at {path}: {inner}"))
            }
        })?;
        deserializer
            .end()
            .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))?;
        Ok(Self(value))
    }
}

/// Reads the whole body of `request`, rejecting one of more than `limit` bytes.
async fn read_body(request: Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let route = format!("{} {}", request.method(), request.uri().path());
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(length) = announced {
        if length > limit as u64 {
            let detail = format!(" (Content-Length is {length})");
            return Err(too_large(&route, limit, &detail));
        }
    }

    let capacity = announced.map_or(0, |length| length as usize);
    let mut bytes = Vec::with_capacity(capacity);
    let mut chunks = request.into_body().into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_request(format!("failed to read the request body: {error}"))
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large(&route, limit, ""));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Builds the 413 for a body over `limit` bytes; `detail` follows the limit in the message.
fn too_large(route: &str, limit: usize, detail: &str) -> ApiError {
    let mib = limit as f64 / (1024.0 * 1024.0);
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body of {route} is larger than the limit of {limit} bytes \
             ({mib} MiB){detail}; send a smaller body"
        ),
    )
}

/// Query parameters.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        Ok(Self(value))
    }
}

/// Path parameters.
pub struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        Ok(Self(value))
    }
}

/// Parses an optional `last_n` query value, which the clients send as a string.
pub fn parse_last_n(value: Option<&str>) -> Result<Option<usize>, ApiError> {
    value
        .map(|text| {
            text.parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!(
                    "last_n must be a non-negative whole number of lines, got {text:?}"
                ))
            })
        })
        .transpose()
}

/// Parses an optional boolean query flag such as `force`, sent as `true` or `false`.
pub fn parse_flag(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("" | "false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name} must be true or false, got {other:?}"
        ))),
    }
}
