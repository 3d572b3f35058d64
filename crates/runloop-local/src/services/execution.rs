//! One command in a devbox: its status, output, stdin and the task that follows it.

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use runloop_types::{DevboxAsyncExecutionDetailView, DevboxExecutionDetailView, ExecutionStatus};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, watch};

use super::output::{OutputLog, ReadPlan};
use super::pipe_readers::wait_for_readers;
use crate::sandbox::{CommandGroup, CommandSignal, CommandSpec, RunningCommand, Sandbox};
use crate::store::{ExecutionRecord, Store};

/// Size of one read from a command's stdout or stderr.
const READ_CHUNK: usize = 64 * 1024;

/// Size of one read from a pipe that a background process kept open after the execution
/// completed. Those bytes are discarded, so a small buffer keeps idle readers cheap.
const DISCARD_CHUNK: usize = 4 * 1024;

/// Minimum time between two output checkpoints of a running execution with up to
/// [`CHECKPOINT_BYTES_PER_SECOND`] of stored output; see [`checkpoint_interval`].
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Stored output that a checkpoint may rewrite per second of interval. Each checkpoint
/// rewrites the whole stored output, so a larger one waits longer before the next.
pub const CHECKPOINT_BYTES_PER_SECOND: usize = 256 * 1024;

/// Maximum time between two output checkpoints, reached at 2.5 MiB of stored output. A
/// crash loses at most about this much of the latest output of a command.
pub const MAX_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(10);

/// Returns the time to wait after a checkpoint that wrote `stored_bytes` of output: one
/// second per started [`CHECKPOINT_BYTES_PER_SECOND`], between [`CHECKPOINT_INTERVAL`] and
/// [`MAX_CHECKPOINT_INTERVAL`]. This bounds the checkpoint writes of a command to about
/// 256 KiB a second up to 2.5 MiB of output, and to 800 KiB a second at the 8 MiB maximum.
pub fn checkpoint_interval(stored_bytes: usize) -> Duration {
    let seconds = stored_bytes.div_ceil(CHECKPOINT_BYTES_PER_SECOND);
    let interval = Duration::from_secs(u64::try_from(seconds).unwrap_or(u64::MAX));
    interval.clamp(CHECKPOINT_INTERVAL, MAX_CHECKPOINT_INTERVAL)
}

/// Bytes of stdin that may wait for the command to read them before `send_std_in`
/// rejects more.
pub const MAX_PENDING_STDIN: usize = 16 * 1024 * 1024;

/// Exit status of a command the server could not start or wait for; stderr explains why.
pub const EXIT_NOT_RUN: i32 = -1;

/// Exit status of a command killed by the API: 128 + SIGKILL, as bash reports it.
pub const EXIT_KILLED: i32 = 128 + 9;

/// Output stream of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

impl OutputStream {
    /// Name used in messages and file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// Fixed facts of an execution, given when it is created.
#[derive(Debug)]
pub struct ExecutionSpec {
    /// Execution id (`exe_…`).
    pub id: String,
    /// Devbox the command runs in.
    pub devbox_id: String,
    /// The command text.
    pub command: String,
    /// Named shell the command runs in, echoed back in views.
    pub shell_name: Option<String>,
    /// Whether `send_std_in` may write to the command's stdin.
    pub attach_stdin: bool,
    /// Directory for the spill files of its output; `None` keeps only the memory window.
    pub spill_dir: Option<std::path::PathBuf>,
    /// State database that receives output checkpoints while the execution runs and its
    /// final state when it completes.
    pub store: Option<Arc<Store>>,
}

/// A command started, or queued to start, in a devbox.
#[derive(Debug)]
pub struct Execution {
    /// Execution id (`exe_…`).
    pub id: String,
    /// Devbox the command runs in.
    pub devbox_id: String,
    /// The command text.
    pub command: String,
    /// Named shell the command runs in, echoed back in views.
    pub shell_name: Option<String>,
    state: Mutex<ExecutionState>,
    status: watch::Sender<ExecutionStatus>,
    /// Bumped after every append to stdout or stderr and on completion.
    output_changes: watch::Sender<u64>,
    store: Option<Arc<Store>>,
    /// Runs once the execution has completed and its final state is stored, before its
    /// status changes; see [`Execution::set_completion_hook`].
    completion_hook: OnceLock<CompletionHook>,
}

/// Callback that [`Execution::complete`] runs with the id of the completed execution.
struct CompletionHook(Box<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for CompletionHook {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("CompletionHook")
    }
}

#[derive(Debug)]
struct ExecutionState {
    exit_status: Option<i32>,
    stdout: OutputLog,
    stderr: OutputLog,
    progress: Progress,
    stdin: Option<StdinQueue>,
    /// Cgroup of the completed command, kept so that a kill with `kill_process_group` can
    /// reach the processes the command left running. `None` while the command runs and for
    /// a command that never started.
    leftover_group: Option<Arc<CommandGroup>>,
}

/// Stage of an execution, for kill and signal bookkeeping.
#[derive(Debug, Clone)]
enum Progress {
    /// Not started; a kill completes it at once.
    Waiting,
    /// Being spawned; a signal is kept and sent once the process exists.
    Starting { pending: Option<CommandSignal> },
    /// Running as `command`. `stdin_pipe` is the inode of its stdin pipe when it has one.
    Running {
        command: RunningCommand,
        stdin_pipe: Option<u64>,
    },
    /// Exited, or never ran.
    Done,
}

/// Action that the caller of [`Execution::request_signal`] must take.
#[derive(Debug, Clone)]
pub enum SignalDelivery {
    /// Send the signal to this running command.
    Send(RunningCommand),
    /// Nothing: the signal was recorded, or the execution never started and was completed.
    Handled,
    /// The execution has completed already.
    Completed,
    /// The command has not started, so there is no process to interrupt.
    NotStarted,
}

/// Outcome of queueing stdin for the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdinOutcome {
    /// Queued; it reaches the command in order.
    Queued,
    /// The command's stdin is closed: the command closed it, a write to it failed, or the
    /// command never started. Nothing was queued.
    Closed,
    /// The execution was not started with `attach_stdin`.
    NotAttached,
    /// An EOF was sent earlier.
    AfterEof,
    /// The command has completed.
    Completed,
    /// Too many bytes are waiting for the command to read them.
    Full,
}

#[derive(Debug)]
struct StdinQueue {
    /// `None` after EOF or completion; dropping it ends the writer task.
    sender: Option<mpsc::UnboundedSender<StdinMessage>>,
    /// Taken by the writer task when the command starts.
    receiver: Option<mpsc::UnboundedReceiver<StdinMessage>>,
    pending: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
    eof_sent: bool,
}

#[derive(Debug)]
enum StdinMessage {
    Text(Vec<u8>),
    Eof,
}

impl Execution {
    /// Creates an execution that has not started yet, as `running`.
    pub fn new(spec: ExecutionSpec) -> Arc<Self> {
        let spill_path = |stream: OutputStream| {
            spec.spill_dir
                .as_deref()
                .map(|dir| dir.join(format!("{}.{}", spec.id, stream.name())))
        };
        let stdin = spec.attach_stdin.then(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            StdinQueue {
                sender: Some(sender),
                receiver: Some(receiver),
                pending: Arc::default(),
                broken: Arc::default(),
                eof_sent: false,
            }
        });
        let state = ExecutionState {
            exit_status: None,
            stdout: OutputLog::new(spill_path(OutputStream::Stdout)),
            stderr: OutputLog::new(spill_path(OutputStream::Stderr)),
            progress: Progress::Waiting,
            stdin,
            leftover_group: None,
        };
        Arc::new(Self {
            id: spec.id,
            devbox_id: spec.devbox_id,
            command: spec.command,
            shell_name: spec.shell_name,
            state: Mutex::new(state),
            status: watch::channel(ExecutionStatus::Running).0,
            output_changes: watch::channel(0).0,
            store: spec.store,
            completion_hook: OnceLock::new(),
        })
    }

    /// Recreates an execution of an earlier server run from its stored record. It has no
    /// process and no stdin, and its output streams start at the kept bytes.
    pub fn restore(record: ExecutionRecord) -> Arc<Self> {
        let stdin = record.attach_stdin.then(|| StdinQueue {
            sender: None,
            receiver: None,
            pending: Arc::default(),
            broken: Arc::default(),
            eof_sent: false,
        });
        let state = ExecutionState {
            exit_status: record.exit_status,
            stdout: OutputLog::restored(record.stdout),
            stderr: OutputLog::restored(record.stderr),
            progress: Progress::Done,
            stdin,
            leftover_group: None,
        };
        Arc::new(Self {
            id: record.id,
            devbox_id: record.devbox_id,
            command: record.command,
            shell_name: record.shell_name,
            state: Mutex::new(state),
            status: watch::channel(record.status).0,
            output_changes: watch::channel(0).0,
            store: None,
            completion_hook: OnceLock::new(),
        })
    }

    /// Builds the record the state database keeps, with the memory window as output.
    pub fn record(&self) -> ExecutionRecord {
        let state = self.lock();
        let status = match state.exit_status {
            Some(_) => ExecutionStatus::Completed,
            None => self.status(),
        };
        ExecutionRecord {
            id: self.id.clone(),
            devbox_id: self.devbox_id.clone(),
            command: self.command.clone(),
            shell_name: self.shell_name.clone(),
            attach_stdin: state.stdin.is_some(),
            status,
            exit_status: state.exit_status,
            stdout: state.stdout.stored_output(),
            stderr: state.stderr.stored_output(),
        }
    }

    /// Builds the record an output checkpoint stores: the current status and the newest
    /// 4 MiB of each stream, the most a completed record keeps.
    fn checkpoint_record(&self) -> ExecutionRecord {
        let state = self.lock();
        ExecutionRecord {
            id: self.id.clone(),
            devbox_id: self.devbox_id.clone(),
            command: self.command.clone(),
            shell_name: self.shell_name.clone(),
            attach_stdin: state.stdin.is_some(),
            status: self.status(),
            exit_status: None,
            stdout: state.stdout.checkpoint_output(),
            stderr: state.stderr.checkpoint_output(),
        }
    }

    /// Current status.
    pub fn status(&self) -> ExecutionStatus {
        *self.status.borrow()
    }

    /// Sets `hook` to run with the execution id when the execution completes, after its
    /// final state is stored and before its status changes to completed, so no client that
    /// waits for the completion runs before it. Later calls change nothing. The hook must
    /// not lock the execution's state.
    pub fn set_completion_hook(&self, hook: impl Fn(&str) + Send + Sync + 'static) {
        let _ = self.completion_hook.set(CompletionHook(Box::new(hook)));
    }

    /// Returns a receiver of every status change.
    pub fn subscribe(&self) -> watch::Receiver<ExecutionStatus> {
        self.status.subscribe()
    }

    /// Returns a receiver that changes after new output and on completion.
    pub fn subscribe_output(&self) -> watch::Receiver<u64> {
        self.output_changes.subscribe()
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

    /// Builds the view of a finished command with the output kept in memory, or `None`
    /// while it runs.
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

    /// Locates up to `max` bytes of `stream` from `offset`, and returns the stream's length
    /// at that moment. `offset` must not exceed that length.
    pub fn plan_read(&self, stream: OutputStream, offset: u64, max: usize) -> (ReadPlan, u64) {
        let state = self.lock();
        let log = state.log(stream);
        (log.plan_read(offset.min(log.len()), max), log.len())
    }

    /// Returns the number of bytes written to `stream` so far.
    pub fn output_len(&self, stream: OutputStream) -> u64 {
        self.lock().log(stream).len()
    }

    /// Shows the execution as `queued` until [`Self::begin`], for a command that waits for
    /// the one before it in its named shell.
    pub fn mark_queued(&self) {
        let state = self.lock();
        if matches!(state.progress, Progress::Waiting) {
            self.status.send_replace(ExecutionStatus::Queued);
        }
    }

    /// Marks the execution as starting. Returns false, and starts nothing, when it was
    /// killed or completed while it waited.
    pub fn begin(&self) -> bool {
        let mut state = self.lock();
        if !matches!(state.progress, Progress::Waiting) {
            return false;
        }
        state.progress = Progress::Starting { pending: None };
        drop(state);
        self.status.send_replace(ExecutionStatus::Running);
        true
    }

    /// Starts the command in `sandbox` after [`Self::begin`], in a cgroup of its own named
    /// after the execution. `spec.group` is replaced by that cgroup, and `startup` works as
    /// in [`Sandbox::spawn_command_with_startup`]. Returns `None`, with the execution
    /// completed, when the command could not start.
    pub async fn start_in(
        &self,
        sandbox: &Sandbox,
        spec: &CommandSpec<'_>,
        startup: Option<&OsStr>,
    ) -> Option<Child> {
        let group = match sandbox.create_command_group(&self.id) {
            Ok(group) => Arc::new(group),
            Err(error) => {
                self.fail_to_start(&format!("{error:#}"));
                return None;
            }
        };

        let spec = CommandSpec {
            group: Some(&group),
            ..*spec
        };
        let spawned = match startup {
            Some(startup) => sandbox.spawn_command_with_startup(&spec, startup),
            None => sandbox.spawn_command(&spec),
        };
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                // No process joined the group, so it is removed at once.
                group.remove_when_empty().await;
                self.fail_to_start(&format!("failed to start the command: {error}"));
                return None;
            }
        };

        if let Some((signal, command)) = self.attach(&mut child, group) {
            if let Err(error) = sandbox.signal_command(&command, signal).await {
                tracing::error!(devbox_id = %self.devbox_id, execution_id = %self.id, error = %format!("{error:#}"), "failed to signal a command that was killed while it started");
            }
        }
        Some(child)
    }

    /// Records the started process and its cgroup, and hands its stdin to a writer task.
    /// Returns a signal that arrived while the process was being spawned, which the caller
    /// must send now.
    fn attach(
        &self,
        child: &mut Child,
        group: Arc<CommandGroup>,
    ) -> Option<(CommandSignal, RunningCommand)> {
        let launcher = child.id();
        let stdin = child.stdin.take();
        let stdin_pipe = stdin
            .as_ref()
            .and_then(|pipe| rustix::fs::fstat(pipe).ok())
            .map(|stat| stat.st_ino);
        let mut state = self.lock();

        if let (Some(queue), Some(pipe)) = (state.stdin.as_mut(), stdin) {
            if let Some(receiver) = queue.receiver.take() {
                tokio::spawn(write_stdin(
                    pipe,
                    receiver,
                    queue.pending.clone(),
                    queue.broken.clone(),
                ));
            }
        }

        let pending = match state.progress {
            Progress::Starting { pending } => pending,
            _ => None,
        };
        let command = RunningCommand {
            launcher: launcher?,
            group,
        };
        state.progress = Progress::Running {
            command: command.clone(),
            stdin_pipe,
        };
        pending.map(|signal| (signal, command))
    }

    /// Decides how `signal` reaches the command. A kill of a command that has not started
    /// completes it at once with [`EXIT_KILLED`], so it never runs.
    pub fn request_signal(&self, signal: CommandSignal) -> SignalDelivery {
        let mut state = self.lock();
        match state.progress {
            Progress::Running { ref command, .. } => SignalDelivery::Send(command.clone()),
            Progress::Done => SignalDelivery::Completed,
            Progress::Starting { .. } if signal == CommandSignal::Interrupt => {
                SignalDelivery::NotStarted
            }
            Progress::Starting { ref mut pending } => {
                *pending = Some(signal);
                SignalDelivery::Handled
            }
            Progress::Waiting if signal == CommandSignal::Interrupt => SignalDelivery::NotStarted,
            Progress::Waiting => {
                // Done before the lock is released, so a concurrent `begin` cannot start it.
                state.progress = Progress::Done;
                drop(state);
                self.complete(EXIT_KILLED);
                SignalDelivery::Handled
            }
        }
    }

    /// Queues `text` for the command's stdin, unless the command can no longer read it.
    pub fn queue_stdin(&self, text: &str) -> StdinOutcome {
        if let Some(rejection) = self.lock().stdin_rejection() {
            return rejection;
        }
        if self.stdin_closed_by_command() {
            return StdinOutcome::Closed;
        }

        let mut state = self.lock();
        if let Some(rejection) = state.stdin_rejection() {
            return rejection;
        }
        let Some(queue) = state.stdin.as_mut() else {
            return StdinOutcome::NotAttached;
        };
        if queue.pending.load(Ordering::Acquire) + text.len() > MAX_PENDING_STDIN {
            return StdinOutcome::Full;
        }

        let Some(sender) = &queue.sender else {
            return StdinOutcome::Closed;
        };
        queue.pending.fetch_add(text.len(), Ordering::AcqRel);
        if sender
            .send(StdinMessage::Text(text.as_bytes().to_vec()))
            .is_err()
        {
            queue.pending.fetch_sub(text.len(), Ordering::AcqRel);
            return StdinOutcome::Closed;
        }
        StdinOutcome::Queued
    }

    /// Queues an end of file: the command's stdin closes after the text queued before it.
    pub fn queue_stdin_eof(&self) -> StdinOutcome {
        let mut state = self.lock();
        let completed = state.exit_status.is_some();
        let Some(queue) = state.stdin.as_mut() else {
            return StdinOutcome::NotAttached;
        };
        if completed {
            return StdinOutcome::Completed;
        }
        if queue.eof_sent {
            return StdinOutcome::AfterEof;
        }
        queue.eof_sent = true;
        match queue.sender.take() {
            Some(sender) if sender.send(StdinMessage::Eof).is_ok() => StdinOutcome::Queued,
            _ => StdinOutcome::Closed,
        }
    }

    /// Returns whether the running command has closed its stdin, so that no process of it
    /// but `nsenter` has the pipe open. `nsenter` keeps its copy until the command exits,
    /// so writes to the pipe go on succeeding. This reads `/proc`, so it runs without the
    /// lock.
    fn stdin_closed_by_command(&self) -> bool {
        let (command, pipe) = match &self.lock().progress {
            Progress::Running {
                command,
                stdin_pipe: Some(pipe),
            } => (command.clone(), *pipe),
            _ => return false,
        };
        // NOTE: text queued just before the command closes its stdin still lands in the
        // pipe that `nsenter` keeps open, so that call returns success and the text is lost.
        match command.group.pipe_has_reader(pipe, command.launcher) {
            Ok(reader) => reader == Some(false),
            Err(error) => {
                tracing::warn!(
                    devbox_id = %self.devbox_id,
                    execution_id = %self.id,
                    error = %format!("{error:#}"),
                    "failed to check whether a command still reads its stdin; sending the input"
                );
                false
            }
        }
    }

    /// Returns the cgroup of the completed command, which may still contain processes the
    /// command started. `None` before completion and for a command that never started.
    pub fn leftover_group(&self) -> Option<Arc<CommandGroup>> {
        self.lock().leftover_group.clone()
    }

    /// Returns whether the execution was started with `attach_stdin`.
    pub fn has_stdin(&self) -> bool {
        self.lock().stdin.is_some()
    }

    /// Collects the output of `child` until its shell exits and returns the exit status:
    /// the exit code, or 128 + the signal number for a command killed by a signal, as bash
    /// reports it. The caller completes the execution with it.
    pub async fn follow(self: &Arc<Self>, mut child: Child) -> i32 {
        if let Some(store) = &self.store {
            tokio::spawn(self.clone().checkpoint_output(store.clone()));
        }
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(
                self.clone().pump(stdout, OutputStream::Stdout),
            ));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(
                self.clone().pump(stderr, OutputStream::Stderr),
            ));
        }

        let exit_status = match child.wait().await {
            Ok(status) => status
                .code()
                .or_else(|| status.signal().map(|signal| 128 + signal))
                .unwrap_or(EXIT_NOT_RUN),
            Err(error) => {
                tracing::error!(devbox_id = %self.devbox_id, execution_id = %self.id, %error, "failed to wait for a command");
                self.append(
                    OutputStream::Stderr,
                    format!("runloop-local: failed to wait for the command: {error}\n").as_bytes(),
                );
                EXIT_NOT_RUN
            }
        };

        // Output that arrives later is read and discarded, as `pump` describes.
        wait_for_readers(&mut readers).await;
        exit_status
    }

    /// Stores the output of the running command whenever it has changed, waiting
    /// [`checkpoint_interval`] of the written size after each checkpoint, until the
    /// execution completes. The completion stores the
    /// final output itself. The writes run on the blocking pool, away from the pipe readers.
    async fn checkpoint_output(self: Arc<Self>, store: Arc<Store>) {
        let mut changes = self.subscribe_output();
        let mut status = self.subscribe();
        let mut failure_logged = false;
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = status.wait_for(|status| *status == ExecutionStatus::Completed) => return,
            }

            let record = self.checkpoint_record();
            let interval =
                checkpoint_interval(record.stdout.bytes.len() + record.stderr.bytes.len());
            let target = store.clone();
            let stored = tokio::task::spawn_blocking(move || target.checkpoint_execution(&record))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|stored| stored);
            if let Err(error) = stored {
                // Logged once per execution, because the next checkpoint likely fails too.
                if !failure_logged {
                    tracing::error!(devbox_id = %self.devbox_id, execution_id = %self.id, error = %format!("{error:#}"), "failed to checkpoint the output of a running command; a crash would lose it");
                    failure_logged = true;
                }
            }

            // Output that arrives meanwhile marks `changes`, so it is stored next round.
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = status.wait_for(|status| *status == ExecutionStatus::Completed) => return,
            }
        }
    }

    /// Completes an execution that could not start, with `message` on stderr and exit
    /// status [`EXIT_NOT_RUN`].
    pub fn fail_to_start(&self, message: &str) {
        tracing::warn!(devbox_id = %self.devbox_id, execution_id = %self.id, message, "a command could not start");
        self.append(
            OutputStream::Stderr,
            format!("runloop-local: {message}\n").as_bytes(),
        );
        self.complete(EXIT_NOT_RUN);
    }

    /// Marks the execution completed with `exit_status`, unless it already is.
    pub fn complete(&self, exit_status: i32) {
        let mut state = self.lock();
        if state.exit_status.is_some() {
            return;
        }
        state.exit_status = Some(exit_status);
        let progress = std::mem::replace(&mut state.progress, Progress::Done);
        if let Progress::Running { command, .. } = progress {
            // Background processes of the command may keep the group busy for a while.
            let group = command.group.clone();
            tokio::spawn(async move { group.remove_when_empty().await });
            state.leftover_group = Some(command.group);
        }
        state.stdout.finish();
        state.stderr.finish();
        if let Some(queue) = state.stdin.as_mut() {
            queue.sender = None;
        }
        drop(state);

        // Stored before the status changes, so no client sees a completion a restart loses.
        if let Some(store) = &self.store {
            super::executions::store_completion(store, &self.record());
        }
        if let Some(hook) = self.completion_hook.get() {
            (hook.0)(&self.id);
        }
        self.status.send_replace(ExecutionStatus::Completed);
        self.output_changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    /// Appends what `pipe` delivers to `stream` until the pipe closes. After completion
    /// the bytes are discarded but still read, because a background process that kept the
    /// pipe would get SIGPIPE at its next write if the pipe closed.
    async fn pump(self: Arc<Self>, mut pipe: impl AsyncRead + Unpin, stream: OutputStream) {
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) => return,
                Ok(count) => {
                    let kept = self.append(stream, &chunk[..count]);
                    if !kept && chunk.len() > DISCARD_CHUNK {
                        chunk = vec![0u8; DISCARD_CHUNK];
                    }
                }
                Err(error) => {
                    tracing::warn!(devbox_id = %self.devbox_id, execution_id = %self.id, %error, "failed to read command output");
                    return;
                }
            }
        }
    }

    /// Appends `bytes` to `stream` and returns true, or returns false and drops them once
    /// the execution has completed.
    fn append(&self, stream: OutputStream, bytes: &[u8]) -> bool {
        {
            let mut state = self.lock();
            if state.exit_status.is_some() {
                return false;
            }
            state.log_mut(stream).append(bytes);
        }
        self.output_changes
            .send_modify(|version| *version = version.wrapping_add(1));
        true
    }

    /// Deletes the spill files of both streams, once the execution is pruned.
    pub fn remove_spill_files(&self) {
        let mut state = self.lock();
        state.stdout.remove_spill();
        state.stderr.remove_spill();
    }

    fn lock(&self) -> MutexGuard<'_, ExecutionState> {
        // The state contains plain buffers that no panic can leave half-updated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ExecutionState {
    /// Returns why the command's stdin takes no more text, or `None` when it may.
    fn stdin_rejection(&self) -> Option<StdinOutcome> {
        let Some(queue) = &self.stdin else {
            return Some(StdinOutcome::NotAttached);
        };
        if self.exit_status.is_some() {
            return Some(StdinOutcome::Completed);
        }
        if queue.eof_sent {
            return Some(StdinOutcome::AfterEof);
        }
        if queue.broken.load(Ordering::Acquire) {
            return Some(StdinOutcome::Closed);
        }
        None
    }

    fn log(&self, stream: OutputStream) -> &OutputLog {
        match stream {
            OutputStream::Stdout => &self.stdout,
            OutputStream::Stderr => &self.stderr,
        }
    }

    fn log_mut(&mut self, stream: OutputStream) -> &mut OutputLog {
        match stream {
            OutputStream::Stdout => &mut self.stdout,
            OutputStream::Stderr => &mut self.stderr,
        }
    }
}

/// Writes queued stdin to the command in order until an EOF, the end of the queue, or a
/// failed write (the command closed its stdin), which marks the queue broken.
async fn write_stdin(
    mut pipe: ChildStdin,
    mut receiver: mpsc::UnboundedReceiver<StdinMessage>,
    pending: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
) {
    while let Some(message) = receiver.recv().await {
        let StdinMessage::Text(bytes) = message else {
            return;
        };
        let written = async {
            pipe.write_all(&bytes).await?;
            pipe.flush().await
        }
        .await;
        pending.fetch_sub(bytes.len(), Ordering::AcqRel);
        if written.is_err() {
            broken.store(true, Ordering::Release);
            return;
        }
    }
}

/// Reads bytes `[start, end)` of a spill file.
pub async fn read_spilled(path: &Path, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    let path = path.to_path_buf();
    let length = usize::try_from(end.saturating_sub(start)).unwrap_or(usize::MAX);
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt;

        let file = std::fs::File::open(&path)?;
        let mut bytes = vec![0u8; length];
        file.read_exact_at(&mut bytes, start)?;
        Ok(bytes)
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_interval_grows_with_output() {
        const KIB: usize = 1024;
        let cases = [
            (0, 1),
            (100 * KIB, 1),
            (256 * KIB, 1),
            (256 * KIB + 1, 2),
            (KIB * KIB, 4),
            (2 * KIB * KIB, 8),
            (3 * KIB * KIB, 10),
            (8 * KIB * KIB, 10),
            (usize::MAX, 10),
        ];
        for (stored_bytes, seconds) in cases {
            assert_eq!(
                checkpoint_interval(stored_bytes),
                Duration::from_secs(seconds),
                "interval after {stored_bytes} bytes"
            );
        }
    }
}
