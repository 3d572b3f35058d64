//! Running commands in devboxes and reading their results.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runloop_types::{
    DevboxAsyncExecutionDetailView, DevboxExecutionDetailView, ExecuteAsyncParams, ExecuteParams,
    ExecutionStatus, ExecutionWaitParams,
};
use tokio::time::Instant;

use super::execution::Execution;
use super::{hold_duration, Services};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_id, EXECUTION_PREFIX};
use crate::sandbox::{HOME_DIR, SANE_PATH};

/// Number of trailing output lines in a view when the request gives no `last_n`.
pub const DEFAULT_LAST_N: usize = 100;

/// Maximum and default `optimistic_timeout` of `execute`.
const MAX_OPTIMISTIC_TIMEOUT: Duration = Duration::from_secs(25);

/// Maximum and default hold of an execution's `wait_for_status`.
const MAX_EXECUTION_HOLD: Duration = Duration::from_secs(25);

/// A command to start, as received by any of the execute endpoints.
struct CommandRequest {
    command: String,
    shell_name: Option<String>,
    command_id: Option<String>,
}

impl Services {
    /// Starts `params.command` and waits up to `optimistic_timeout` seconds (25 by default
    /// and at most) for it to finish. Returns the execution as `completed`, or as `running`
    /// while the command goes on. A repeated `command_id` returns the earlier execution.
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
                },
            )
            .await?;

        let mut status = execution.subscribe();
        let deadline = Instant::now() + optimistic;
        let _ = tokio::time::timeout_at(deadline, async {
            tokio::select! {
                _ = status.wait_for(|status| *status == ExecutionStatus::Completed) => {}
                () = self.shutdown.cancelled() => {}
            }
        })
        .await;

        Ok(execution.view(last_n.unwrap_or(DEFAULT_LAST_N)))
    }

    /// Starts `params.command` and returns at once with the execution `running`.
    pub async fn execute_async(
        &self,
        devbox_id: &str,
        params: ExecuteAsyncParams,
    ) -> ServiceResult<DevboxAsyncExecutionDetailView> {
        reject_stdin(&params)?;
        let execution = self
            .start_command(
                devbox_id,
                CommandRequest {
                    command: params.command,
                    shell_name: params.shell_name,
                    command_id: None,
                },
            )
            .await?;
        Ok(execution.view(DEFAULT_LAST_N))
    }

    /// Runs `params.command` to completion and returns its exit status and all retained
    /// output. Has no time limit of its own; it stops waiting when the server shuts down.
    pub async fn execute_sync(
        &self,
        devbox_id: &str,
        params: ExecuteAsyncParams,
    ) -> ServiceResult<DevboxExecutionDetailView> {
        reject_stdin(&params)?;
        let execution = self
            .start_command(
                devbox_id,
                CommandRequest {
                    command: params.command,
                    shell_name: params.shell_name,
                    command_id: None,
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
    /// is, and fails with [`ServiceError::Timeout`] when the hold expires.
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
        let reached = tokio::time::timeout(hold, async {
            tokio::select! {
                reached = status.wait_for(|status| params.statuses.contains(status)) => reached.is_ok(),
                () = self.shutdown.cancelled() => false,
            }
        })
        .await;

        match reached {
            Ok(true) => Ok(execution.view(last_n.unwrap_or(DEFAULT_LAST_N))),
            Ok(false) => Err(ServiceError::shutting_down()),
            Err(_) => Err(ServiceError::Timeout(format!(
                "execution {execution_id} is still running after {:.1} s; call wait_for_status again",
                hold.as_secs_f64()
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
        let runtime = self.running_devbox(devbox_id, "run commands")?;
        if let Some(existing) = request
            .command_id
            .as_deref()
            .and_then(|command_id| runtime.execution_for_command(command_id))
        {
            return Ok(existing);
        }

        let environment =
            command_environment(&self.devbox_record(devbox_id)?.environment_variables);
        let sandbox = runtime.sandbox.read().await;
        let Some(running) = sandbox.as_ref() else {
            return Err(ServiceError::Conflict(format!(
                "devbox {devbox_id} stopped before the command could start"
            )));
        };
        let child = running
            .spawn_command(&request.command, &environment)
            .with_context(|| format!("failed to start a command in devbox {devbox_id}"))?;
        drop(sandbox);

        // NOTE: persistent shells are not implemented. A command with a shell_name runs in
        // a fresh bash in /home/user like any other; the name is only echoed in views.
        let execution = Execution::new(
            new_id(EXECUTION_PREFIX)?,
            devbox_id.to_owned(),
            request.shell_name,
        );
        runtime.add_execution(execution.clone(), request.command_id);
        tokio::spawn(execution.clone().follow(child));
        Ok(execution)
    }

    fn find_execution(&self, devbox_id: &str, execution_id: &str) -> ServiceResult<Arc<Execution>> {
        self.devbox_record(devbox_id)?;
        self.runtime(devbox_id)
            .and_then(|runtime| runtime.execution(execution_id))
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "execution {execution_id} not found in devbox {devbox_id}"
                ))
            })
    }
}

fn reject_stdin(params: &ExecuteAsyncParams) -> ServiceResult<()> {
    if params.attach_stdin == Some(true) {
        return Err(ServiceError::InvalidRequest(
            "attach_stdin is not supported by runloop-local yet; remove it from the request"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Returns the environment of a command: a fixed base, overridden by the devbox's
/// `environment_variables`.
fn command_environment(devbox_variables: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut environment: BTreeMap<String, String> = [
        ("PATH", SANE_PATH),
        ("HOME", HOME_DIR),
        ("USER", "root"),
        ("LOGNAME", "root"),
        ("SHELL", "/bin/bash"),
        ("LANG", "C.UTF-8"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    environment.extend(devbox_variables.clone());
    environment.into_iter().collect()
}
