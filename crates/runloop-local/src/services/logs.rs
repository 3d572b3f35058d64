//! The devbox log returned by `GET /v1/devboxes/{id}/logs`: output and exit codes of launch
//! commands, suspend commands and the entrypoint, the start and exit of each execution, and
//! file writes. Entries are stored in the state database as they are made, at most 10,000
//! per devbox (the oldest are deleted first), so the log of a devbox survives a server
//! restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use runloop_types::DevboxLogEntry;

use crate::clock::now_ms;
use crate::store::{ExecutionRecord, Store};

/// Maximum length of one message in bytes. A longer output line is split into several
/// entries.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Origin of a log entry; [`LogSource::as_str`] gives the wire `source` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// Launch commands and suspend commands.
    SetupCommands,
    /// The devbox's main process.
    Entrypoint,
    /// Commands started through the execute endpoints.
    Exec,
    /// File writes and uploads through the API.
    Files,
}

impl LogSource {
    /// Returns the wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SetupCommands => "setup_commands",
            Self::Entrypoint => "entrypoint",
            Self::Exec => "exec",
            Self::Files => "files",
        }
    }
}

/// Severity of a log entry: `error` for stderr lines and failures, `info` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Normal output and events.
    Info,
    /// Standard error output and failures.
    Error,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Error => "error",
        }
    }
}

/// Creates an entry stamped with the current time and no command fields.
pub fn log_entry(source: LogSource, level: LogLevel, message: impl Into<String>) -> DevboxLogEntry {
    DevboxLogEntry {
        level: level.as_str().to_owned(),
        source: source.as_str().to_owned(),
        timestamp_ms: now_ms(),
        cmd: None,
        cmd_id: None,
        exit_code: None,
        message: Some(message.into()),
        shell_name: None,
    }
}

/// Builds the entry for the start of an execution.
pub fn start_entry(record: &ExecutionRecord) -> DevboxLogEntry {
    command_entry(record, "command started")
}

/// Builds the entry for an execution queued behind another command of its named shell. Its
/// [`start_entry`] follows once it starts.
pub fn queued_entry(record: &ExecutionRecord) -> DevboxLogEntry {
    command_entry(
        record,
        "command queued until the earlier commands of its shell complete",
    )
}

fn command_entry(record: &ExecutionRecord, message: &str) -> DevboxLogEntry {
    let mut entry = log_entry(LogSource::Exec, LogLevel::Info, message);
    entry.cmd = Some(record.command.clone());
    entry.cmd_id = Some(record.id.clone());
    entry.shell_name = record.shell_name.clone();
    entry
}

/// Builds the entry for the exit of a completed execution: level `error` unless the exit
/// status is 0.
pub fn exit_entry(record: &ExecutionRecord) -> DevboxLogEntry {
    let (level, outcome) = match record.exit_status {
        Some(0) => (LogLevel::Info, "0".to_owned()),
        Some(code) => (LogLevel::Error, code.to_string()),
        None => (LogLevel::Error, "unknown".to_owned()),
    };
    let mut entry = log_entry(
        LogSource::Exec,
        level,
        format!("command exited with status {outcome}"),
    );
    entry.exit_code = record.exit_status;
    entry.cmd = Some(record.command.clone());
    entry.cmd_id = Some(record.id.clone());
    entry.shell_name = record.shell_name.clone();
    entry
}

/// Writer of the log of one devbox.
#[derive(Debug)]
pub struct DevboxLog {
    store: Arc<Store>,
    devbox_id: String,
    /// Set after a failed write, so a broken database logs one error per outage rather
    /// than one per line of output.
    failing: AtomicBool,
}

impl DevboxLog {
    /// Creates the writer of the log of devbox `devbox_id`.
    pub fn new(store: Arc<Store>, devbox_id: String) -> Self {
        Self {
            store,
            devbox_id,
            failing: AtomicBool::new(false),
        }
    }

    /// Appends `entry`. A failed write drops the entry and is logged, because the action
    /// the entry describes has happened either way.
    pub fn push(&self, entry: DevboxLogEntry) {
        match self.store.append_devbox_log(&self.devbox_id, &entry) {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(devbox_id = %self.devbox_id, "devbox log entries are stored again");
                }
            }
            Err(error) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::error!(devbox_id = %self.devbox_id, error = %format!("{error:#}"), "failed to store a devbox log entry, so entries are dropped until a write succeeds");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use runloop_types::ExecutionStatus;

    use super::*;
    use crate::store::test_support::{insert_test_devbox, temp_store};
    use crate::store::StoredOutput;

    fn record(exit_status: Option<i32>) -> ExecutionRecord {
        ExecutionRecord {
            id: "exe_1".to_owned(),
            devbox_id: "dbx_1".to_owned(),
            command: "exit 4".to_owned(),
            shell_name: Some("s1".to_owned()),
            attach_stdin: false,
            status: ExecutionStatus::Completed,
            exit_status,
            stdout: StoredOutput::default(),
            stderr: StoredOutput::default(),
        }
    }

    #[test]
    fn exit_entry_carries_command_fields() {
        let entry = exit_entry(&record(Some(4)));
        assert_eq!(entry.exit_code, Some(4));
        assert_eq!(entry.level, "error");
        assert_eq!(entry.cmd.as_deref(), Some("exit 4"));
        assert_eq!(entry.cmd_id.as_deref(), Some("exe_1"));
        assert_eq!(entry.shell_name.as_deref(), Some("s1"));
        assert_eq!(
            entry.message.as_deref(),
            Some("command exited with status 4")
        );

        assert_eq!(exit_entry(&record(Some(0))).level, "info");
    }

    #[test]
    fn pushed_entries_are_stored_in_order() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        insert_test_devbox(&store, "dbx_1");
        let log = DevboxLog::new(store.clone(), "dbx_1".to_owned());

        log.push(start_entry(&record(None)));
        log.push(log_entry(LogSource::Files, LogLevel::Info, "wrote"));
        let entries = store.devbox_logs("dbx_1", None, None).expect("logs");
        let sources: Vec<_> = entries.iter().map(|entry| entry.source.as_str()).collect();
        assert_eq!(sources, ["exec", "files"]);
    }

    #[test]
    fn failed_push_is_dropped() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let log = DevboxLog::new(store.clone(), "dbx_missing".to_owned());

        log.push(log_entry(LogSource::Files, LogLevel::Info, "lost"));
        assert!(log.failing.load(Ordering::Relaxed));
        assert!(store
            .devbox_logs("dbx_missing", None, None)
            .expect("logs")
            .is_empty());
    }

    #[test]
    fn source_and_level_use_wire_strings() {
        let entry = log_entry(LogSource::SetupCommands, LogLevel::Error, "boom");
        assert_eq!(entry.source, "setup_commands");
        assert_eq!(entry.level, "error");
    }
}
