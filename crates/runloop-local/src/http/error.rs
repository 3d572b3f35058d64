//! The one error shape of every failed response: `{"message": "...", "status": N}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use runloop_types::ErrorBody;

use crate::error::ServiceError;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Value of the `x-should-retry` header, which overrides the official clients' choice
    /// to retry by status; `None` sends no header.
    should_retry: Option<bool>,
}

impl ApiError {
    /// Creates an error with `status` and a message for the client.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            should_retry: None,
        }
    }

    /// Creates a 400 error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let status = match &error {
            ServiceError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ServiceError::Conflict(_) | ServiceError::InvalidState(_) => StatusCode::CONFLICT,
            ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal(cause) => {
                // The request span around this event carries the method and path, and so
                // the ids of the devbox, execution or snapshot involved.
                tracing::error!(error = %format!("{cause:#}"), "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let should_retry = matches!(error, ServiceError::InvalidState(_)).then_some(false);
        let message = match error {
            ServiceError::Internal(cause) => format!("internal error: {cause:#}"),
            other => other.to_string(),
        };
        Self {
            should_retry,
            ..Self::new(status, message)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            message: self.message,
            status: Some(self.status.as_u16()),
        };
        let mut response = (self.status, Json(body)).into_response();
        let should_retry = match self.should_retry {
            Some(value) => Some(value),
            // The official clients retry a long poll that ends in 408. The header makes
            // that explicit for clients that consult it.
            None => (self.status == StatusCode::REQUEST_TIMEOUT).then_some(true),
        };
        if let Some(value) = should_retry {
            let header = HeaderValue::from_static(if value { "true" } else { "false" });
            response.headers_mut().insert("x-should-retry", header);
        }
        response
    }
}
