//! One command running in a devbox: its output, its status and the task that follows it.

use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use runloop_types::{DevboxAsyncExecutionDetailView, DevboxExecutionDetailView, ExecutionStatus};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::watch;

use super::output::OutputBuffer;

/// Time output is still read after the command's shell exited. A background process that
/// inherited the pipes can keep them open forever, so the execution completes when the
/// shell exits and not when the pipes close.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);

/// Size of one read from a command's stdout or stderr.
const READ_CHUNK: usize = 64 * 1024;

/// Output stream a chunk came from.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// A command started in a devbox.
#[derive(Debug)]
pub struct Execution {
    /// Execution id (`exe_…`).
    pub id: String,
    /// Devbox the command runs in.
    pub devbox_id: String,
    /// Shell name the caller gave, echoed back in views.
    pub shell_name: Option<String>,
    state: Mutex<ExecutionState>,
    status: watch::Sender<ExecutionStatus>,
}

#[derive(Debug, Default)]
struct ExecutionState {
    exit_status: Option<i32>,
    stdout: OutputBuffer,
    stderr: OutputBuffer,
}

impl Execution {
    /// Creates a running execution.
    pub fn new(id: String, devbox_id: String, shell_name: Option<String>) -> Arc<Self> {
        let (status, _) = watch::channel(ExecutionStatus::Running);
        Arc::new(Self {
            id,
            devbox_id,
            shell_name,
            state: Mutex::new(ExecutionState::default()),
            status,
        })
    }

    /// Current status.
    pub fn status(&self) -> ExecutionStatus {
        *self.status.borrow()
    }

    /// Returns a receiver of every status change.
    pub fn subscribe(&self) -> watch::Receiver<ExecutionStatus> {
        self.status.subscribe()
    }

    /// Builds the API view with the last `last_n` lines of each stream.
    pub fn view(&self, last_n: usize) -> DevboxAsyncExecutionDetailView {
        let state = self.lock();
        let finished = state.exit_status.is_some();
        let stdout = state.stdout.tail(last_n, finished);
        let stderr = state.stderr.tail(last_n, finished);
        DevboxAsyncExecutionDetailView {
            devbox_id: self.devbox_id.clone(),
            execution_id: self.id.clone(),
            status: self.status(),
            exit_status: state.exit_status,
            stdout: Some(stdout.text),
            stderr: Some(stderr.text),
            stdout_truncated: Some(stdout.truncated),
            stderr_truncated: Some(stderr.truncated),
            shell_name: self.shell_name.clone(),
        }
    }

    /// Builds the view of a finished command with all retained output, or `None` while it
    /// runs.
    pub fn finished_view(&self) -> Option<DevboxExecutionDetailView> {
        let state = self.lock();
        Some(DevboxExecutionDetailView {
            devbox_id: self.devbox_id.clone(),
            exit_status: state.exit_status?,
            stdout: state.stdout.text(),
            stderr: state.stderr.text(),
            shell_name: self.shell_name.clone(),
        })
    }

    /// Collects the output of `child` until its shell exits, then marks the execution
    /// completed with the exit code (128 + signal number for a killed command, as in bash).
    pub async fn follow(self: Arc<Self>, mut child: Child) {
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(self.clone().pump(stdout, Stream::Stdout)));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(self.clone().pump(stderr, Stream::Stderr)));
        }

        let exit_status = match child.wait().await {
            Ok(status) => status
                .code()
                .or_else(|| status.signal().map(|signal| 128 + signal))
                .unwrap_or(-1),
            Err(error) => {
                tracing::error!(devbox_id = %self.devbox_id, execution_id = %self.id, %error, "failed to wait for a command");
                self.append(
                    Stream::Stderr,
                    format!("runloop-local: failed to wait for the command: {error}\n").as_bytes(),
                );
                -1
            }
        };

        let drain = tokio::time::sleep(DRAIN_AFTER_EXIT);
        tokio::pin!(drain);
        for reader in &mut readers {
            tokio::select! {
                _ = &mut *reader => {}
                () = &mut drain => break,
            }
        }
        for reader in &readers {
            reader.abort();
        }

        self.lock().exit_status = Some(exit_status);
        self.status.send_replace(ExecutionStatus::Completed);
    }

    async fn pump(self: Arc<Self>, mut pipe: impl AsyncRead + Unpin, stream: Stream) {
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) => return,
                Ok(count) => self.append(stream, &chunk[..count]),
                Err(error) => {
                    tracing::warn!(devbox_id = %self.devbox_id, execution_id = %self.id, %error, "failed to read command output");
                    return;
                }
            }
        }
    }

    fn append(&self, stream: Stream, bytes: &[u8]) {
        let mut state = self.lock();
        match stream {
            Stream::Stdout => state.stdout.append(bytes),
            Stream::Stderr => state.stderr.append(bytes),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ExecutionState> {
        // The state contains plain buffers that no panic can leave half-updated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
