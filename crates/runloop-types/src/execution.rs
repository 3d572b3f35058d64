//! Command execution bodies, views and the output stream chunk.

use serde::{Deserialize, Serialize};

/// State of an execution. There is no failed or killed state: a finished command is
/// `completed` with its `exit_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    Queued,
    Running,
    Completed,
}

/// Body of `POST /v1/devboxes/{id}/execute`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ExecuteParams {
    pub command: String,
    /// Caller-chosen id (a UUIDv7) used for idempotency; the SDK fills one in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub command_id: Option<String>,
    /// Seconds to wait for completion before returning a running execution (max 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub optimistic_timeout: Option<f64>,
    /// Persistent shell to run in; its working directory and environment carry over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub shell_name: Option<String>,
}

/// Body of `POST /v1/devboxes/{id}/execute_async` and `execute_sync`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ExecuteAsyncParams {
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub shell_name: Option<String>,
    /// Keeps stdin open for `send_std_in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub attach_stdin: Option<bool>,
}

/// An execution as returned by `execute`, `execute_async`, retrieve and its long poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(missing_as_null))]
pub struct DevboxAsyncExecutionDetailView {
    pub devbox_id: String,
    pub execution_id: String,
    pub status: ExecutionStatus,
    /// Exit code, set once the status is `completed`.
    pub exit_status: Option<i32>,
    /// Last `last_n` lines of stdout (default 100), set once completed.
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// Whether `stdout` holds only the tail of the output.
    pub stdout_truncated: Option<bool>,
    pub stderr_truncated: Option<bool>,
    pub shell_name: Option<String>,
}

/// A finished execution, as returned by `execute_sync` and `write_file_contents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(missing_as_null))]
pub struct DevboxExecutionDetailView {
    pub devbox_id: String,
    pub exit_status: i32,
    pub stdout: String,
    pub stderr: String,
    #[serde(default)]
    pub shell_name: Option<String>,
}

/// Body of `POST .../executions/{execution_id}/wait_for_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ExecutionWaitParams {
    pub statuses: Vec<ExecutionStatus>,
    /// How long the server may hold the request, in seconds (at most 25, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub timeout_seconds: Option<f64>,
}

/// Body of `POST .../executions/{execution_id}/kill`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ExecutionKillParams {
    /// Kills every process in the command's process group, not only the shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub kill_process_group: Option<bool>,
}

/// Signal that `send_std_in` can deliver instead of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StdinSignal {
    Eof,
    Interrupt,
}

/// Body of `POST .../executions/{execution_id}/send_std_in`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct SendStdInParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub signal: Option<StdinSignal>,
}

/// Response of `send_std_in`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct SendStdInResult {
    pub devbox_id: String,
    pub execution_id: String,
    pub success: bool,
}

/// One server-sent event of `stream_stdout_updates` / `stream_stderr_updates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ExecutionUpdateChunk {
    pub output: String,
    /// Byte offset of the end of this chunk in the whole stream; a client that reconnects
    /// with this offset receives only what follows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub offset: Option<u64>,
}
