//! The one error type of the SDK, from a failed HTTP exchange up to a wait that ran out of time.

use runloop_types::{DevboxAsyncExecutionDetailView, DevboxSnapshotAsyncStatusView, DevboxView};
use serde::Serialize;

use crate::platform::ErrorCause;

/// Result of every fallible SDK call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in an SDK call.
///
/// The wasm bindings turn each variant into an instance of the JS class that
/// [`Error::class_name`] names.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server responded with a status outside 2xx (after any retries).
    #[error("{}", .0.message)]
    Api(Box<ApiError>),

    /// No response arrived: DNS, refused connection, TLS, CORS or a reset.
    #[error("Connection error: {message}")]
    Connection {
        /// Description of the failure, from the host.
        message: String,
        /// The host's own error, such as the `TypeError` that `fetch` rejected with.
        cause: Option<ErrorCause>,
    },

    /// A request attempt took longer than its timeout.
    #[error("Request timed out after {timeout_ms} ms")]
    Timeout {
        /// The attempt's timeout in milliseconds; 0 when a wait's deadline had already passed.
        timeout_ms: u64,
    },

    /// The caller's abort signal fired.
    #[error("Request was aborted")]
    Aborted,

    /// A wait reached its overall timeout before the awaited state.
    #[error("{}", .0.message)]
    PollingTimeout(Box<PollingTimeout>),

    /// A 2xx response body did not match the expected type.
    #[error("Invalid response to {context}: cannot decode {type_name} at `{path}`: {message}")]
    Decode {
        /// Request that returned the body, such as `GET /v1/devboxes/dbx_1`.
        context: String,
        /// Name of the type that was expected, such as `DevboxView`.
        type_name: &'static str,
        /// Path of the offending field, such as `devboxes[0].status`; `.` for the root.
        path: String,
        /// Serde's description of the mismatch.
        message: String,
    },

    /// A 2xx response broke the API's rules in a way decoding cannot see.
    #[error("Invalid response to {context}: {message}")]
    InvalidResponse {
        /// Request that returned the response.
        context: String,
        /// Description of the rule the response broke.
        message: String,
    },

    /// An argument from the caller is invalid; the message names it.
    #[error("{0}")]
    InvalidArgument(String),

    /// No bearer token was given and none was found in the environment.
    #[error(
        "Missing API key: pass `bearerToken` to the RunloopSDK constructor or set the \
         RUNLOOP_API_KEY environment variable"
    )]
    MissingBearerToken,

    /// A devbox that was awaited as running reached a state it cannot leave for `running`.
    #[error("Devbox {id} is in non-running state {status}")]
    DevboxNotRunning {
        /// Devbox id.
        id: String,
        /// The status it reached, as the wire string.
        status: String,
    },

    /// A devbox that was awaited as suspended reached a state it cannot leave for
    /// `suspended` on its own.
    #[error("Devbox {id} is in non-suspended state {status}")]
    DevboxNotSuspended {
        /// Devbox id.
        id: String,
        /// The status it reached, as the wire string.
        status: String,
    },

    /// The server reported that a snapshot capture failed.
    #[error("Snapshot {id} failed: {message}")]
    SnapshotFailed {
        /// Snapshot id.
        id: String,
        /// The server's `error_message`, or `unknown error` when it sent none.
        message: String,
    },

    /// A value thrown by the caller's code, such as an output line callback, or an error the
    /// bindings already converted for JS. The wasm bindings rethrow it unchanged.
    #[error("a callback threw")]
    Thrown(ErrorCause),

    /// A snapshot that was awaited was deleted before it completed.
    #[error("Snapshot {id} was deleted before it completed")]
    SnapshotDeleted {
        /// Snapshot id.
        id: String,
    },

    /// A helper (fan-out, fork, checkpoint) could not shut down or delete what it created.
    /// The message names every devbox or snapshot left behind.
    #[error("{message}: {cause}")]
    CleanupFailed {
        /// What was left behind and how to remove it.
        message: String,
        /// The first failure.
        cause: Box<Error>,
    },
}

impl Error {
    /// Name of the error class of the official TypeScript SDK that matches this error:
    /// `APIError` and its per-status subclasses, `APIConnectionError`,
    /// `APIConnectionTimeoutError`, `APIUserAbortError`, `PollingTimeoutError`, or
    /// `RunloopError` for everything else.
    pub fn class_name(&self) -> &'static str {
        match self {
            Self::Api(error) => error.class_name(),
            Self::Connection { .. } => "APIConnectionError",
            Self::Timeout { .. } => "APIConnectionTimeoutError",
            Self::Aborted => "APIUserAbortError",
            Self::PollingTimeout(_) => "PollingTimeoutError",
            Self::Decode { .. }
            | Self::InvalidResponse { .. }
            | Self::InvalidArgument(_)
            | Self::MissingBearerToken
            | Self::DevboxNotRunning { .. }
            | Self::DevboxNotSuspended { .. }
            | Self::SnapshotFailed { .. }
            | Self::SnapshotDeleted { .. }
            | Self::CleanupFailed { .. }
            | Self::Thrown(_) => "RunloopError",
        }
    }

    /// Returns the HTTP status when the server responded.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(error) => Some(error.status),
            _ => None,
        }
    }
}

/// A response with a status outside 2xx.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// `"<status> <server message>"`, the format of the official SDKs.
    pub message: String,
    /// The response's `x-request-id` header, else the idempotency key this SDK sent.
    pub request_id: Option<String>,
    /// Response headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or as a JSON string when it is not JSON; `None` when empty.
    pub body: Option<serde_json::Value>,
}

impl ApiError {
    /// Builds the error for a response, taking the message from a JSON `message` field when
    /// there is one.
    pub fn from_response(
        status: u16,
        headers: Vec<(String, String)>,
        text: &str,
        sent_request_id: Option<&str>,
    ) -> Self {
        let body = if text.trim().is_empty() {
            None
        } else {
            Some(
                serde_json::from_str(text)
                    .unwrap_or_else(|_| serde_json::Value::String(text.to_owned())),
            )
        };

        let message = match &body {
            None => format!("{status} status code (no body)"),
            Some(serde_json::Value::Object(fields)) => match fields.get("message") {
                Some(serde_json::Value::String(message)) => format!("{status} {message}"),
                _ => format!("{status} {}", serde_json::Value::Object(fields.clone())),
            },
            Some(serde_json::Value::String(text)) => format!("{status} {text}"),
            Some(other) => format!("{status} {other}"),
        };

        let request_id = headers
            .iter()
            .find(|(name, _)| name == "x-request-id")
            .map(|(_, value)| value.clone())
            .or_else(|| sent_request_id.map(str::to_owned));

        Self {
            status,
            message,
            request_id,
            headers,
            body,
        }
    }

    /// Name of the matching error class of the official TypeScript SDK.
    pub fn class_name(&self) -> &'static str {
        match self.status {
            400 => "BadRequestError",
            401 => "AuthenticationError",
            403 => "PermissionDeniedError",
            404 => "NotFoundError",
            409 => "ConflictError",
            422 => "UnprocessableEntityError",
            429 => "RateLimitError",
            500.. => "InternalServerError",
            _ => "APIError",
        }
    }
}

/// A wait that ran out of time, with the last state it saw.
#[derive(Debug, Clone, PartialEq)]
pub struct PollingTimeout {
    /// Message naming the awaited state, the timeout and the last status seen.
    pub message: String,
    /// Last state the server returned during the wait; `None` when it returned none.
    pub last: Option<PollState>,
}

/// A state returned by one of the awaited endpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PollState {
    /// From a devbox `wait_for_status` or create call.
    Devbox(Box<DevboxView>),
    /// From an execution `execute` or `wait_for_status` call.
    Execution(Box<DevboxAsyncExecutionDetailView>),
    /// From a snapshot status call.
    Snapshot(Box<DevboxSnapshotAsyncStatusView>),
}
