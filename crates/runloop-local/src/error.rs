//! The error type that services return to the HTTP layer.

use thiserror::Error;

/// Failure of a service call, classified by the HTTP status it maps to.
///
/// The message of every variant but `Internal` is sent to the client as is, so it names the
/// value that failed and what to do next.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The request is malformed or names an unsupported option (400).
    #[error("{0}")]
    InvalidRequest(String),
    /// A devbox, execution, snapshot or file does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// A long poll reached its hold time before the awaited state (408).
    #[error("{0}")]
    Timeout(String),
    /// The resource is in a state that does not allow the operation (409).
    #[error("{0}")]
    Conflict(String),
    /// Like `Conflict`, but waiting will not change the state, for example for a devbox
    /// that has shut down (409, sent with `x-should-retry: false` so clients do not retry).
    #[error("{0}")]
    InvalidState(String),
    /// The request or the file it names is larger than a limit the message names (413).
    #[error("{0}")]
    TooLarge(String),
    /// The server is shutting down and will not finish the request (503).
    #[error("{0}")]
    Unavailable(String),
    /// An unexpected failure; the cause is logged and also returned (500).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// Builds the error that a long poll returns when the server begins to shut down.
    pub fn shutting_down() -> Self {
        Self::Unavailable("the server is shutting down; retry once it is back".to_owned())
    }
}

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;
