//! The devbox log returned by `GET /v1/devboxes/{id}/logs`: output and exit codes of launch
//! commands, suspend commands and the entrypoint, the start and exit of each execution, and
//! file writes. It is kept in memory, so a devbox of an earlier server run has no log.

use std::collections::VecDeque;

use runloop_types::DevboxLogEntry;

use crate::clock::now_ms;

/// Maximum number of entries kept per devbox; the oldest are dropped first.
const MAX_ENTRIES: usize = 10_000;

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

/// The entries of one devbox, oldest first.
#[derive(Debug, Default)]
pub struct DevboxLog {
    entries: VecDeque<DevboxLogEntry>,
}

impl DevboxLog {
    /// Appends `entry`, dropping the oldest entry when the log is full.
    pub fn push(&mut self, entry: DevboxLogEntry) {
        if self.entries.len() == MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Returns the entries whose `cmd_id` is `execution_id` and whose `shell_name` is
    /// `shell_name`; a filter that is `None` matches every entry.
    pub fn matching(
        &self,
        execution_id: Option<&str>,
        shell_name: Option<&str>,
    ) -> Vec<DevboxLogEntry> {
        self.entries
            .iter()
            .filter(|entry| execution_id.is_none_or(|id| entry.cmd_id.as_deref() == Some(id)))
            .filter(|entry| shell_name.is_none_or(|name| entry.shell_name.as_deref() == Some(name)))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec_entry(cmd_id: &str, shell_name: Option<&str>) -> DevboxLogEntry {
        let mut entry = log_entry(LogSource::Exec, LogLevel::Info, "started");
        entry.cmd_id = Some(cmd_id.to_owned());
        entry.shell_name = shell_name.map(str::to_owned);
        entry
    }

    #[test]
    fn filters_by_execution_and_shell() {
        let mut log = DevboxLog::default();
        log.push(exec_entry("exe_a", None));
        log.push(exec_entry("exe_b", Some("s1")));
        log.push(log_entry(LogSource::Files, LogLevel::Info, "wrote"));

        assert_eq!(log.matching(None, None).len(), 3);
        let by_execution = log.matching(Some("exe_a"), None);
        assert_eq!(by_execution.len(), 1);
        assert_eq!(by_execution[0].cmd_id.as_deref(), Some("exe_a"));
        let by_shell = log.matching(None, Some("s1"));
        assert_eq!(by_shell.len(), 1);
        assert_eq!(by_shell[0].cmd_id.as_deref(), Some("exe_b"));
        assert!(log.matching(Some("exe_a"), Some("s1")).is_empty());
    }

    #[test]
    fn drops_oldest_when_full() {
        let mut log = DevboxLog::default();
        for index in 0..MAX_ENTRIES + 5 {
            log.push(log_entry(
                LogSource::Files,
                LogLevel::Info,
                index.to_string(),
            ));
        }
        let entries = log.matching(None, None);
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert_eq!(entries[0].message.as_deref(), Some("5"));
    }

    #[test]
    fn source_and_level_use_wire_strings() {
        let entry = log_entry(LogSource::SetupCommands, LogLevel::Error, "boom");
        assert_eq!(entry.source, "setup_commands");
        assert_eq!(entry.level, "error");
    }
}
