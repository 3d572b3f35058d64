//! Commands the server runs on a devbox's behalf (launch commands, suspend commands and the
//! entrypoint). Each output line and the exit code go to the devbox log instead of an
//! execution.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;

use anyhow::Context;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;

use super::logs::{log_entry, LogLevel, LogSource, MAX_MESSAGE_BYTES};
use super::pipe_readers::wait_for_readers;
use super::runtime::DevboxRuntime;
use crate::sandbox::CommandSpec;

/// Size of one read from a command's stdout or stderr.
const READ_CHUNK: usize = 16 * 1024;

/// A command whose output goes to the devbox log.
#[derive(Debug, Clone)]
pub struct LoggedCommand {
    /// Log source of its entries.
    pub source: LogSource,
    /// The shell command, logged as `cmd`.
    pub command: String,
}

impl LoggedCommand {
    /// Starts the command in the running sandbox of `runtime` with exactly `environment`.
    pub async fn start(
        &self,
        runtime: &DevboxRuntime,
        environment: &[(OsString, OsString)],
    ) -> anyhow::Result<Child> {
        let sandbox = runtime.sandbox.read().await;
        let running = sandbox
            .as_ref()
            .context("the devbox stopped before the command could start")?;
        running
            .spawn_command(&CommandSpec {
                script: OsStr::new(&self.command),
                environment,
                attach_stdin: false,
                state_file: None,
                group: None,
            })
            .with_context(|| format!("failed to start `{}` in the devbox", self.command))
    }

    /// Logs each line `child` writes, then its exit code, and returns the exit code (128 +
    /// the signal number for a command killed by a signal, as in bash).
    pub async fn follow(&self, runtime: Arc<DevboxRuntime>, mut child: Child) -> i32 {
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(self.clone().log_lines(
                runtime.clone(),
                stdout,
                LogLevel::Info,
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(self.clone().log_lines(
                runtime.clone(),
                stderr,
                LogLevel::Error,
            )));
        }

        let exit_code = match child.wait().await {
            Ok(status) => status
                .code()
                .or_else(|| status.signal().map(|signal| 128 + signal))
                .unwrap_or(-1),
            Err(error) => {
                runtime.log(self.entry(
                    LogLevel::Error,
                    format!("failed to wait for the command: {error}"),
                ));
                -1
            }
        };

        // A reader of a pipe that a daemon kept open goes on logging until the daemon
        // closes it.
        wait_for_readers(&mut readers).await;

        let level = if exit_code == 0 {
            LogLevel::Info
        } else {
            LogLevel::Error
        };
        let mut finished = self.entry(level, format!("command exited with status {exit_code}"));
        finished.exit_code = Some(exit_code);
        runtime.log(finished);
        exit_code
    }

    fn entry(&self, level: LogLevel, message: String) -> runloop_types::DevboxLogEntry {
        let mut entry = log_entry(self.source, level, message);
        entry.cmd = Some(self.command.clone());
        entry
    }

    async fn log_lines(
        self,
        runtime: Arc<DevboxRuntime>,
        mut pipe: impl AsyncRead + Unpin,
        level: LogLevel,
    ) {
        let mut lines = LineSplitter::default();
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) => break,
                Ok(count) => {
                    for line in lines.push(&chunk[..count]) {
                        runtime.log(self.entry(level, line));
                    }
                }
                Err(error) => {
                    tracing::warn!(command = %self.command, %error, "failed to read the output of a logged command");
                    break;
                }
            }
        }
        if let Some(line) = lines.finish() {
            runtime.log(self.entry(level, line));
        }
    }
}

/// Splits a byte stream into lines without their `\n`, decoded as UTF-8 with replacement
/// characters. A line longer than [`MAX_MESSAGE_BYTES`] is split into several.
#[derive(Debug, Default)]
struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Adds `bytes` and returns the lines they complete.
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &byte in bytes {
            if byte == b'\n' {
                lines.push(self.take());
                continue;
            }
            self.pending.push(byte);
            if self.pending.len() == MAX_MESSAGE_BYTES {
                lines.push(self.take());
            }
        }
        lines
    }

    /// Returns the last line if the stream did not end with `\n`.
    fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let line = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_chunks() {
        let mut splitter = LineSplitter::default();
        assert_eq!(splitter.push(b"one\ntw"), vec!["one"]);
        assert_eq!(splitter.push(b"o\n\nthree"), vec!["two", ""]);
        assert_eq!(splitter.finish().as_deref(), Some("three"));
        assert_eq!(splitter.finish(), None);
    }

    #[test]
    fn splits_overlong_lines() {
        let mut splitter = LineSplitter::default();
        let long = vec![b'x'; MAX_MESSAGE_BYTES + 3];
        let lines = splitter.push(&long);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), MAX_MESSAGE_BYTES);
        assert_eq!(splitter.finish().as_deref(), Some("xxx"));
    }

    #[test]
    fn replaces_invalid_utf8() {
        let mut splitter = LineSplitter::default();
        assert_eq!(splitter.push(b"a\xffb\n"), vec!["a\u{fffd}b"]);
    }
}
