//! Running commands in devboxes: starting them, waiting for them, killing them and writing
//! to their stdin.
//!
//! An execution lives in memory, in the runtime of its devbox, while this server process
//! runs. Its record is also written to the state database when it is created and again,
//! with its final output, when it completes. After a restart the stored record serves
//! every read; executions that a previous run left unfinished are completed at startup by
//! [`finish_interrupted_executions`].

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runloop_types::{
    DevboxAsyncExecutionDetailView, DevboxExecutionDetailView, DevboxStatus, ExecuteAsyncParams,
    ExecuteParams, ExecutionKillParams, ExecutionStatus, ExecutionWaitParams, SendStdInParams,
    SendStdInResult, StdinSignal,
};
use tokio::process::Child;
use tokio::time::Instant;

use super::devboxes::not_running;
use super::environment::devbox_environment;
use super::execution::{Execution, ExecutionSpec, SignalDelivery, StdinOutcome, EXIT_NOT_RUN};
use super::logs::{exit_entry, queued_entry, start_entry};
use super::runtime::DevboxRuntime;
use super::shells::{parse_state, shell_startup};
use super::{hold_duration, Services};
use crate::clock::now_ms;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_id, EXECUTION_PREFIX};
use crate::sandbox::{CommandSignal, CommandSpec, RunningCommand};
use crate::store::{ExecutionRecord, Store};

/// Number of trailing output lines in a view when the request gives no `last_n`.
pub const DEFAULT_LAST_N: usize = 100;

/// Maximum and default `optimistic_timeout` of `execute`.
const MAX_OPTIMISTIC_TIMEOUT: Duration = Duration::from_secs(25);

/// Maximum and default hold of an execution's `wait_for_status`.
const MAX_EXECUTION_HOLD: Duration = Duration::from_secs(25);

/// Time `kill` waits for the killed command to complete before it returns the execution
/// as it is.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// A command to start, as received by any of the execute endpoints.
struct CommandRequest {
    command: String,
    shell_name: Option<String>,
    command_id: Option<String>,
    attach_stdin: bool,
}

impl Services {
    /// Starts `params.command` and waits up to `optimistic_timeout` seconds (25 by default
    /// and at most) for it to finish. Returns the execution as `completed`, or as `queued`
    /// or `running` while the command goes on. A repeated `command_id` returns the earlier
    /// execution.
    pub async fn execute(
        &self,
        devbox_id: &str,
        params: ExecuteParams,
        last_n: Option<usize>,
    ) -> ServiceResult<DevboxAsyncExecutionDetailView> {
        let optimistic =
            hold_duration(params.optimistic_timeout, MAX_OPTIMISTIC_TIMEOUT).map_err(|_| {
                ServiceError::InvalidRequest(format!(
                    "optimistic_timeout must be between 0 and {} seconds",
                    MAX_OPTIMISTIC_TIMEOUT.as_secs()
                ))
            })?;
        let execution = self
            .start_command(
                devbox_id,
                CommandRequest {
                    command: params.command,
                    shell_name: params.shell_name,
                    command_id: params.command_id,
                    attach_stdin: false,
                },
            )
            .await?;

        self.wait_until_completed(&execution, optimistic).await;
        Ok(execution.view(last_n.unwrap_or(DEFAULT_LAST_N)))
    }

    /// Starts `params.command` and returns at once, with the execution `running`, or
    /// `queued` behind the commands of its named shell. With `attach_stdin`, the command
    /// reads what `send_std_in` sends.
    pub async fn execute_async(
        &self,
        devbox_id: &str,
        params: ExecuteAsyncParams,
    ) -> ServiceResult<DevboxAsyncExecutionDetailView> {
        let execution = self
            .start_command(
                devbox_id,
                CommandRequest {
                    command: params.command,
                    shell_name: params.shell_name,
                    command_id: None,
                    attach_stdin: params.attach_stdin == Some(true),
                },
            )
            .await?;
        Ok(execution.view(DEFAULT_LAST_N))
    }

    /// Runs `params.command` to completion and returns its exit status and the output kept
    /// in memory (all of it up to 4 MiB per stream). Has no time limit of its own; it stops
    /// waiting when the server shuts down.
    pub async fn execute_sync(
        &self,
        devbox_id: &str,
        params: ExecuteAsyncParams,
    ) -> ServiceResult<DevboxExecutionDetailView> {
        if params.attach_stdin == Some(true) {
            return Err(ServiceError::InvalidRequest(
                "execute_sync does not support attach_stdin; use execute_async with \
                 attach_stdin: true and send input with send_std_in"
                    .to_owned(),
            ));
        }
        let execution = self
            .start_command(
                devbox_id,
                CommandRequest {
                    command: params.command,
                    shell_name: params.shell_name,
                    command_id: None,
                    attach_stdin: false,
                },
            )
            .await?;

        let mut status = execution.subscribe();
        tokio::select! {
            _ = status.wait_for(|status| *status == ExecutionStatus::Completed) => {}
            () = self.shutdown.cancelled() => return Err(ServiceError::shutting_down()),
        }
        execution
            .finished_view()
            .context("a completed execution has no exit status")
            .map_err(ServiceError::from)
    }

    /// Returns the execution `execution_id` of devbox `devbox_id`.
    pub fn execution(
        &self,
        devbox_id: &str,
        execution_id: &str,
        last_n: Option<usize>,
    ) -> ServiceResult<DevboxAsyncExecutionDetailView> {
        let execution = self.find_execution(devbox_id, execution_id)?;
        Ok(execution.view(last_n.unwrap_or(DEFAULT_LAST_N)))
    }

    /// Waits until the execution is in one of `params.statuses`, for at most
    /// `params.timeout_seconds` (25 s by default and at most). Returns at once if it already
    /// is, and fails with [`ServiceError::Timeout`] when the hold expires. An execution that
    /// is or becomes `completed`, which is final, fails at once with
    /// [`ServiceError::InvalidState`] unless `completed` was requested.
    pub async fn wait_for_execution_status(
        &self,
        devbox_id: &str,
        execution_id: &str,
        params: ExecutionWaitParams,
        last_n: Option<usize>,
    ) -> ServiceResult<DevboxAsyncExecutionDetailView> {
        if params.statuses.is_empty() {
            return Err(ServiceError::InvalidRequest(
                "statuses must name at least one execution status".to_owned(),
            ));
        }
        let hold = hold_duration(params.timeout_seconds, MAX_EXECUTION_HOLD)?;
        let execution = self.find_execution(devbox_id, execution_id)?;

        let mut status = execution.subscribe();
        let ends_wait =
            |status: &ExecutionStatus| params.statuses.contains(status) || is_final(*status);
        let reached = tokio::time::timeout(hold, async {
            tokio::select! {
                reached = status.wait_for(ends_wait) => reached.ok().map(|status| *status),
                () = self.shutdown.cancelled() => None,
            }
        })
        .await;

        match reached {
            Ok(Some(status)) if params.statuses.contains(&status) => {
                Ok(execution.view(last_n.unwrap_or(DEFAULT_LAST_N)))
            }
            Ok(Some(status)) => Err(unreachable_status(execution_id, status, &params.statuses)),
            Ok(None) => Err(ServiceError::shutting_down()),
            Err(_) => Err(ServiceError::Timeout(format!(
                "execution {execution_id} is still {} after {:.1} s; call wait_for_status again",
                status_name(execution.status()),
                hold.as_secs_f64()
            ))),
        }
    }

    /// Kills the command with SIGKILL: its shell only, or with `kill_process_group` every
    /// process in its process group and below it. Waits up to 5 s for it to complete, with
    /// exit status 137 (128 + SIGKILL), and returns the execution. A queued command is
    /// completed without running. A completed one is returned unchanged, but with
    /// `kill_process_group` the processes it left in its cgroup, such as daemons, are
    /// killed first. Rejected with 409 while the devbox is suspending, suspended or
    /// resuming, because its frozen processes cannot exit until it is running again.
    pub async fn kill_execution(
        &self,
        devbox_id: &str,
        execution_id: &str,
        params: ExecutionKillParams,
    ) -> ServiceResult<DevboxAsyncExecutionDetailView> {
        let devbox_status = self.devbox_record(devbox_id)?.view.status;
        if devbox_status != DevboxStatus::Running && !devbox_status.is_terminal() {
            return Err(not_running(devbox_id, devbox_status, "kill a command"));
        }
        let execution = self.find_execution(devbox_id, execution_id)?;
        let signal = if params.kill_process_group == Some(true) {
            CommandSignal::KillAll
        } else {
            CommandSignal::KillShell
        };

        match execution.request_signal(signal) {
            SignalDelivery::Send(command) => {
                self.signal_command(devbox_id, &command, signal).await?;
            }
            SignalDelivery::Completed if signal == CommandSignal::KillAll => {
                self.kill_leftover_processes(devbox_id, &execution).await?;
            }
            _ => {}
        }
        self.wait_until_completed(&execution, KILL_WAIT).await;
        Ok(execution.view(DEFAULT_LAST_N))
    }

    /// Writes `params.text` to the command's stdin, then delivers `params.signal`: `EOF`
    /// closes stdin, `INTERRUPT` sends SIGINT to the command's process group as Ctrl-C
    /// would. Text reaches the command in the order it was sent; input sent while the
    /// command is queued waits for it to start. `success` is always true: input that the
    /// command can no longer read, because it has completed or closed its stdin, or
    /// because an EOF was sent, is rejected with a 400 error that names the cause.
    pub async fn send_std_in(
        &self,
        devbox_id: &str,
        execution_id: &str,
        params: SendStdInParams,
    ) -> ServiceResult<SendStdInResult> {
        if params.text.is_none() && params.signal.is_none() {
            return Err(ServiceError::InvalidRequest(
                "send_std_in needs text, a signal (EOF or INTERRUPT), or both".to_owned(),
            ));
        }
        let execution = self.find_execution(devbox_id, execution_id)?;
        if !execution.has_stdin() {
            return Err(ServiceError::InvalidRequest(format!(
                "execution {execution_id} was not started with attach_stdin: true; start the \
                 command with execute_async and attach_stdin: true to send it input"
            )));
        }

        if let Some(text) = &params.text {
            stdin_accepted(execution_id, execution.queue_stdin(text))?;
        }
        match params.signal {
            Some(StdinSignal::Eof) => {
                stdin_accepted(execution_id, execution.queue_stdin_eof())?;
            }
            Some(StdinSignal::Interrupt) => {
                match execution.request_signal(CommandSignal::Interrupt) {
                    SignalDelivery::Send(command) => {
                        self.signal_command(devbox_id, &command, CommandSignal::Interrupt)
                            .await?;
                    }
                    SignalDelivery::Completed => {
                        return Err(completed_error(execution_id));
                    }
                    SignalDelivery::NotStarted | SignalDelivery::Handled => {
                        return Err(ServiceError::Conflict(format!(
                            "execution {execution_id} has not started yet; send INTERRUPT once \
                             its status is running"
                        )));
                    }
                }
            }
            None => {}
        }

        Ok(SendStdInResult {
            devbox_id: devbox_id.to_owned(),
            execution_id: execution_id.to_owned(),
            success: true,
        })
    }

    /// Returns the execution `execution_id` of devbox `devbox_id`: the live one of this
    /// server run, else one restored from the state database, else a 404 error.
    pub(super) fn find_execution(
        &self,
        devbox_id: &str,
        execution_id: &str,
    ) -> ServiceResult<Arc<Execution>> {
        self.devbox_record(devbox_id)?;
        let live = self
            .runtime(devbox_id)
            .and_then(|runtime| runtime.execution(execution_id));
        if let Some(execution) = live {
            return Ok(execution);
        }

        match self.store.get_execution(devbox_id, execution_id)? {
            Some(record) => Ok(Execution::restore(record)),
            None => Err(ServiceError::NotFound(format!(
                "execution {execution_id} not found in devbox {devbox_id}"
            ))),
        }
    }

    async fn start_command(
        &self,
        devbox_id: &str,
        request: CommandRequest,
    ) -> ServiceResult<Arc<Execution>> {
        if request.command.contains('\0') {
            return Err(ServiceError::InvalidRequest(
                "command contains a NUL byte".to_owned(),
            ));
        }
        if request.shell_name.as_deref() == Some("") {
            return Err(ServiceError::InvalidRequest(
                "shell_name must not be empty; omit it to run in a fresh shell".to_owned(),
            ));
        }
        let runtime = self.running_devbox(devbox_id, "run commands")?;
        let environment = devbox_environment(&self.devbox_record(devbox_id)?.environment_variables);
        let spill_dir = {
            let sandbox = runtime.sandbox.read().await;
            let Some(running) = sandbox.as_ref() else {
                return Err(ServiceError::Conflict(format!(
                    "devbox {devbox_id} stopped before the command could start"
                )));
            };
            running.server_dir().join("executions")
        };

        let execution = Execution::new(ExecutionSpec {
            id: new_id(EXECUTION_PREFIX)?,
            devbox_id: devbox_id.to_owned(),
            command: request.command,
            shell_name: request.shell_name,
            attach_stdin: request.attach_stdin,
            spill_dir: Some(spill_dir),
            store: Some(self.store.clone()),
        });
        if let Err(existing) = runtime.add_execution(execution.clone(), request.command_id.clone())
        {
            return reuse_for_command_id(existing, &execution, request.command_id);
        }

        let previous = execution
            .shell_name
            .as_deref()
            .and_then(|name| runtime.shells.enqueue(name, execution.clone()));
        if previous.is_some() {
            execution.mark_queued();
        }

        // A queued command gets its start entry from `launch` once it starts.
        let record = execution.record();
        let first_entry = match previous {
            Some(_) => queued_entry(&record),
            None => start_entry(&record),
        };
        if let Err(error) = self.store.insert_execution(&record, now_ms(), &first_entry) {
            execution.fail_to_start("the execution could not be stored in the state database");
            return Err(ServiceError::Internal(error.context(format!(
                "failed to store execution {} of devbox {devbox_id}; the command did not run",
                execution.id
            ))));
        }
        tokio::spawn(run_command(
            runtime.clone(),
            execution.clone(),
            environment,
            previous,
        ));
        Ok(execution)
    }

    /// Sends `signal` to `command`, running in devbox `devbox_id`.
    async fn signal_command(
        &self,
        devbox_id: &str,
        command: &RunningCommand,
        signal: CommandSignal,
    ) -> ServiceResult<()> {
        let Some(runtime) = self.runtime(devbox_id) else {
            return Ok(());
        };
        let sandbox = runtime.sandbox.read().await;
        if let Some(running) = sandbox.as_ref() {
            running
                .signal_command(command, signal)
                .await
                .with_context(|| format!("failed to signal a command in devbox {devbox_id}"))?;
        }
        Ok(())
    }

    /// Kills the processes that the command of the completed `execution` left in its
    /// cgroup. Does nothing when the group is gone, or when the devbox has stopped, because
    /// its teardown killed them.
    async fn kill_leftover_processes(
        &self,
        devbox_id: &str,
        execution: &Execution,
    ) -> ServiceResult<()> {
        let (Some(group), Some(runtime)) = (execution.leftover_group(), self.runtime(devbox_id))
        else {
            return Ok(());
        };
        // Held so the devbox's teardown does not remove the group while this kills in it.
        let sandbox = runtime.sandbox.read().await;
        if sandbox.is_some() {
            group.kill_all().await.with_context(|| {
                format!(
                    "failed to kill the processes left by execution {} in devbox {devbox_id}",
                    execution.id
                )
            })?;
        }
        Ok(())
    }

    /// Waits up to `limit` for `execution` to complete, or until the server shuts down.
    async fn wait_until_completed(&self, execution: &Execution, limit: Duration) {
        let mut status = execution.subscribe();
        let _ = tokio::time::timeout_at(Instant::now() + limit, async {
            tokio::select! {
                _ = status.wait_for(|status| *status == ExecutionStatus::Completed) => {}
                () = self.shutdown.cancelled() => {}
            }
        })
        .await;
    }
}

/// Writes the final state of a completed execution and its exit entry in the devbox log. A
/// failure is logged and not returned, because the command has completed either way. The
/// stored record then stays unfinished, and the next server start completes it as
/// [`finish_interrupted_executions`] describes.
pub(super) fn store_completion(store: &Store, record: &ExecutionRecord) {
    if let Err(error) = store.complete_execution(record, &exit_entry(record)) {
        tracing::error!(devbox_id = %record.devbox_id, execution_id = %record.id, error = %format!("{error:#}"), "failed to store a completed execution");
    }
}

/// Completes every execution that a previous server run left `queued` or `running`, and
/// returns their ids. Their processes ended with the previous run, so each one becomes
/// `completed` with exit status -1 and a last stderr line that explains the server stopped.
/// Call once at startup, before serving. Their output is that of the last checkpoint, so
/// up to about [`checkpoint_interval`](super::execution::checkpoint_interval) of the
/// newest output is missing.
pub fn finish_interrupted_executions(store: &Store) -> anyhow::Result<Vec<String>> {
    store.finish_unfinished_executions(now_ms(), |record| {
        let note = match record.status {
            ExecutionStatus::Queued => "the server stopped before the command started",
            _ => "the server stopped while the command ran, so its exit status is unknown",
        };
        record.status = ExecutionStatus::Completed;
        record.exit_status = Some(EXIT_NOT_RUN);
        let stderr = &mut record.stderr.bytes;
        if !stderr.is_empty() && !stderr.ends_with(b"\n") {
            stderr.push(b'\n');
        }
        stderr.extend_from_slice(format!("runloop-local: {note}\n").as_bytes());

        let mut entry = exit_entry(record);
        entry.message = Some(format!("{note}; exit status {EXIT_NOT_RUN} recorded"));
        entry
    })
}

/// Returns the earlier execution of a repeated `command_id`, or a conflict when the new
/// request differs from it.
fn reuse_for_command_id(
    existing: Arc<Execution>,
    request: &Execution,
    command_id: Option<String>,
) -> ServiceResult<Arc<Execution>> {
    if existing.command == request.command && existing.shell_name == request.shell_name {
        return Ok(existing);
    }
    Err(ServiceError::Conflict(format!(
        "command_id {} was already used for a different command (execution {}); send a new \
         command_id",
        command_id.unwrap_or_default(),
        existing.id
    )))
}

/// Runs `execution` once the execution before it in its named shell has completed, and
/// completes it with the command's exit status.
async fn run_command(
    runtime: Arc<DevboxRuntime>,
    execution: Arc<Execution>,
    base_environment: Vec<(OsString, OsString)>,
    previous: Option<Arc<Execution>>,
) {
    if let Some(previous) = previous {
        let mut status = previous.subscribe();
        let _ = status
            .wait_for(|status| *status == ExecutionStatus::Completed)
            .await;
    }

    let shell_name = execution.shell_name.clone();
    let (startup, environment) = match shell_name.as_deref() {
        None => (None, base_environment),
        Some(name) => match runtime.shells.state(name) {
            Some(state) => (Some(shell_startup(Some(&state))), state.environment),
            None => (Some(shell_startup(None)), base_environment),
        },
    };

    let Some((child, state_file)) =
        launch(&runtime, &execution, startup.as_deref(), &environment).await
    else {
        return;
    };
    let exit_status = execution.follow(child).await;

    if let (Some(name), Some(path)) = (shell_name.as_deref(), state_file) {
        if let Ok(bytes) = tokio::fs::read(&path).await {
            if let Some(state) = parse_state(&bytes) {
                runtime.shells.save(name, state);
            }
        }
        let _ = tokio::fs::remove_file(&path).await;
    }
    execution.complete(exit_status);
}

/// Spawns the command of `execution` in the devbox's sandbox. Returns the child and, for
/// a named shell, the host file its state is written to. Returns `None`, with the
/// execution completed, when the devbox stopped or the spawn failed, and also when the
/// execution was killed before it started.
async fn launch(
    runtime: &DevboxRuntime,
    execution: &Execution,
    startup: Option<&OsStr>,
    environment: &[(OsString, OsString)],
) -> Option<(Child, Option<PathBuf>)> {
    let sandbox = runtime.sandbox.read().await;
    let Some(running) = sandbox.as_ref() else {
        execution.fail_to_start(&format!(
            "devbox {} stopped before the command could start",
            execution.devbox_id
        ));
        return None;
    };
    let was_queued = execution.status() == ExecutionStatus::Queued;
    if !execution.begin() {
        return None;
    }
    if was_queued {
        runtime.log(start_entry(&execution.record()));
    }

    let state_file = match &execution.shell_name {
        None => None,
        Some(_) => {
            let dir = running.server_dir().join("shells");
            if let Err(error) = std::fs::create_dir_all(&dir) {
                execution.fail_to_start(&format!(
                    "failed to create the shell state directory {}: {error}",
                    dir.display()
                ));
                return None;
            }
            Some(dir.join(format!("{}.state", execution.id)))
        }
    };

    let spec = CommandSpec {
        script: OsStr::new(&execution.command),
        environment,
        attach_stdin: execution.has_stdin(),
        state_file: state_file.as_deref(),
        group: None,
    };
    let child = execution.start_in(running, &spec, startup).await?;
    Some((child, state_file))
}

/// Maps the outcome of queueing stdin to the error for input the command cannot read. A
/// full queue is a 409, which the official clients retry; the other rejections are final.
fn stdin_accepted(execution_id: &str, outcome: StdinOutcome) -> ServiceResult<()> {
    match outcome {
        StdinOutcome::Queued => Ok(()),
        StdinOutcome::Closed => Err(ServiceError::InvalidRequest(format!(
            "execution {execution_id} has closed its stdin; it reads no more input"
        ))),
        StdinOutcome::NotAttached => Err(ServiceError::InvalidRequest(format!(
            "execution {execution_id} was not started with attach_stdin: true"
        ))),
        StdinOutcome::AfterEof => Err(ServiceError::InvalidRequest(format!(
            "the stdin of execution {execution_id} was closed by an EOF signal; it accepts no \
             more input"
        ))),
        StdinOutcome::Completed => Err(completed_error(execution_id)),
        StdinOutcome::Full => Err(ServiceError::Conflict(format!(
            "execution {execution_id} has not read {} MiB of earlier input yet; send more once \
             it has read some",
            super::execution::MAX_PENDING_STDIN / (1024 * 1024)
        ))),
    }
}

fn completed_error(execution_id: &str) -> ServiceError {
    ServiceError::InvalidRequest(format!(
        "execution {execution_id} has completed; it reads no more input"
    ))
}

/// Returns whether an execution in `status` can never change status again.
fn is_final(status: ExecutionStatus) -> bool {
    status == ExecutionStatus::Completed
}

/// Builds the error for a wait on an execution in the final status `status`, which can
/// never reach any of `requested`.
fn unreachable_status(
    execution_id: &str,
    status: ExecutionStatus,
    requested: &[ExecutionStatus],
) -> ServiceError {
    let requested: Vec<&str> = requested
        .iter()
        .map(|status| status_name(*status))
        .collect();
    ServiceError::InvalidState(format!(
        "execution {execution_id} is {}, a final status, so it cannot reach the requested \
         status {}; retrieve it to read its result",
        status_name(status),
        requested.join(" or ")
    ))
}

fn status_name(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Queued => "queued",
        ExecutionStatus::Running => "running",
        ExecutionStatus::Completed => "completed",
    }
}
