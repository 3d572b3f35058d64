//! Suspend, resume and keep-alive.
//!
//! Suspend: `running` → `suspending` (suspend commands run, then the freezer stops every
//! process) → `suspended`. Resume: `suspended` → `resuming` (the freezer thaws them) →
//! `running`. The disk, the memory and the processes all survive, unlike in the hosted
//! API, where a suspend keeps only the disk. Launch commands therefore do not run again on
//! resume.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runloop_types::{DevboxStatus, DevboxView};
use tokio::time::Instant;

use super::create_params::BootPlan;
use super::devboxes::devbox_not_found;
use super::environment::devbox_environment;
use super::logged_command::LoggedCommand;
use super::logs::{log_entry, LogLevel, LogSource};
use super::runtime::DevboxRuntime;
use super::Services;
use crate::clock::now_ms;
use crate::error::{ServiceError, ServiceResult};
use crate::store::Transition;

/// Maximum time a suspend waits for the devbox's processes to freeze.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(30);

impl Services {
    /// Starts suspending the running devbox `id` and returns it as `suspending`. Its
    /// suspend commands run and its processes freeze in the background; wait for
    /// `suspended` with wait_for_status.
    pub fn suspend_devbox(self: &Arc<Self>, id: &str) -> ServiceResult<DevboxView> {
        let runtime = self.live_runtime(id)?;
        self.begin_suspend(id, &runtime)
    }

    /// Moves the devbox `id` from `running` to `suspending` and starts the suspend task.
    pub(super) fn begin_suspend(
        self: &Arc<Self>,
        id: &str,
        runtime: &Arc<DevboxRuntime>,
    ) -> ServiceResult<DevboxView> {
        let view = self.move_devbox(id, &[DevboxStatus::Running], DevboxStatus::Suspending)?;

        let services = self.clone();
        let runtime = runtime.clone();
        let id = id.to_owned();
        self.background.spawn(async move {
            services.finish_suspend(&id, &runtime).await;
        });
        Ok(view)
    }

    /// Resumes the suspended devbox `id`: thaws its processes and returns it `running`.
    pub async fn resume_devbox(&self, id: &str) -> ServiceResult<DevboxView> {
        let runtime = self.live_runtime(id)?;
        self.move_devbox(id, &[DevboxStatus::Suspended], DevboxStatus::Resuming)?;

        let sandbox = runtime.sandbox.read().await;
        let Some(running) = sandbox.as_ref() else {
            // The devbox was shut down in the meantime, which its view shows.
            return self.devbox(id);
        };
        if let Err(error) = running.resume() {
            self.move_devbox(id, &[DevboxStatus::Resuming], DevboxStatus::Suspended)?;
            return Err(ServiceError::Internal(
                error.context(format!("failed to thaw the processes of devbox {id}")),
            ));
        }
        runtime.restart_clocks();
        self.move_devbox(id, &[DevboxStatus::Resuming], DevboxStatus::Running)?;
        drop(sandbox);

        self.devbox(id)
    }

    /// Restarts the keep-alive and idle clocks of the devbox `id`.
    pub fn keep_devbox_alive(&self, id: &str) -> ServiceResult<()> {
        let runtime = self.live_runtime(id)?;
        runtime.restart_clocks();
        Ok(())
    }

    /// Runs the suspend commands, freezes the devbox and moves it to `suspended`. Returns
    /// early if the devbox ends or the server shuts down.
    async fn finish_suspend(&self, id: &str, runtime: &Arc<DevboxRuntime>) {
        let stopped = async {
            tokio::select! {
                () = runtime.ended.cancelled() => {}
                () = self.shutdown.cancelled() => {}
            }
        };
        tokio::pin!(stopped);

        let hooks = async {
            self.run_suspend_commands(id, runtime).await;
            let writes = runtime.changes.lock().await;
            let sandbox = runtime.sandbox.clone().read_owned().await;
            (writes, sandbox)
        };
        let (_writes, sandbox) = tokio::select! {
            locks = hooks => locks,
            () = &mut stopped => return,
        };
        let Some(running) = sandbox.as_ref() else {
            return;
        };

        match running.suspend(FREEZE_TIMEOUT).await {
            Ok(()) => {
                if let Err(error) =
                    self.move_devbox(id, &[DevboxStatus::Suspending], DevboxStatus::Suspended)
                {
                    tracing::error!(devbox_id = %id, %error, "failed to record a suspended devbox");
                }
            }
            Err(error) => {
                let message = format!("{error:#}");
                tracing::warn!(devbox_id = %id, error = %message, "failed to suspend a devbox; it keeps running");
                runtime.log(log_entry(
                    LogSource::SetupCommands,
                    LogLevel::Error,
                    format!("suspend failed, so the devbox keeps running: {message}"),
                ));
                runtime.restart_clocks();
                if let Err(error) =
                    self.move_devbox(id, &[DevboxStatus::Suspending], DevboxStatus::Running)
                {
                    tracing::error!(devbox_id = %id, %error, "failed to record a devbox that could not suspend");
                }
            }
        }
    }

    /// Runs the devbox's suspend commands in order within their deadline. A failing or
    /// late command is logged and does not stop the suspend, as in the hosted API.
    async fn run_suspend_commands(&self, id: &str, runtime: &Arc<DevboxRuntime>) {
        let Some(plan) = runtime.plan() else {
            return;
        };
        if plan.suspend_commands.is_empty() {
            return;
        }
        let environment = match self.devbox_record(id) {
            Ok(record) => devbox_environment(&record.environment_variables),
            Err(error) => {
                tracing::error!(devbox_id = %id, %error, "failed to read a devbox before its suspend commands");
                return;
            }
        };

        let deadline = Instant::now() + plan.suspend_deadline;
        let commands = run_in_order(runtime, &plan, &environment);
        if tokio::time::timeout_at(deadline, commands).await.is_err() {
            runtime.log(log_entry(
                LogSource::SetupCommands,
                LogLevel::Error,
                format!(
                    "suspend commands did not finish within {} ms; suspending anyway",
                    plan.suspend_deadline.as_millis()
                ),
            ));
        }
    }

    /// Applies the status change `to` to the devbox `id` if it is in one of `from`, and
    /// returns the new view. Otherwise the error names the status that prevents it.
    pub(super) fn move_devbox(
        &self,
        id: &str,
        from: &[DevboxStatus],
        to: DevboxStatus,
    ) -> ServiceResult<DevboxView> {
        let outcome = self.store.update_devbox_from(id, from, |record| {
            record.record_transition(to, now_ms(), None);
        })?;
        match outcome {
            Transition::Applied(record) => {
                self.notify_devbox_changed();
                Ok(record.view)
            }
            Transition::Refused(record) => Err(transition_refused(id, record.view.status, to)),
            Transition::NotFound => Err(devbox_not_found(id)),
        }
    }

    /// Returns the runtime of the devbox `id` unless it has ended.
    fn live_runtime(&self, id: &str) -> ServiceResult<Arc<DevboxRuntime>> {
        let status = self.devbox_record(id)?.view.status;
        let runtime = self.runtime(id).filter(|_| !status.is_terminal());
        runtime.ok_or_else(|| {
            ServiceError::InvalidState(format!(
                "devbox {id} is {}, so it can no longer change; create a new devbox",
                status.as_str()
            ))
        })
    }
}

/// Runs the suspend commands of `plan` one after another, logging each.
async fn run_in_order(
    runtime: &Arc<DevboxRuntime>,
    plan: &BootPlan,
    environment: &[(std::ffi::OsString, std::ffi::OsString)],
) {
    for command in &plan.suspend_commands {
        let logged = LoggedCommand {
            source: LogSource::SetupCommands,
            command: command.clone(),
        };
        let started = logged
            .start(runtime, environment)
            .await
            .context("suspend command");
        match started {
            Ok(child) => {
                logged.follow(runtime.clone(), child).await;
            }
            Err(error) => runtime.log(log_entry(
                LogSource::SetupCommands,
                LogLevel::Error,
                format!("{error:#}"),
            )),
        }
    }
}

/// Builds the error for a status change that the current status does not allow.
fn transition_refused(id: &str, current: DevboxStatus, to: DevboxStatus) -> ServiceError {
    let (action, needed) = match to {
        DevboxStatus::Suspending => ("suspended", "running"),
        DevboxStatus::Resuming => ("resumed", "suspended"),
        _ => {
            return ServiceError::Conflict(format!(
                "devbox {id} is {}, so it cannot become {}",
                current.as_str(),
                to.as_str()
            ));
        }
    };
    let message = format!(
        "devbox {id} is {}; only a {needed} devbox can be {action}",
        current.as_str()
    );
    // A devbox on its way to the needed status gets there without another call, so a
    // retry may succeed; from any other status it cannot.
    let settling = match to {
        DevboxStatus::Suspending => matches!(
            current,
            DevboxStatus::Scheduled
                | DevboxStatus::Queued
                | DevboxStatus::Provisioning
                | DevboxStatus::Initializing
                | DevboxStatus::Resuming
        ),
        _ => current == DevboxStatus::Suspending,
    };
    if settling {
        ServiceError::Conflict(format!("{message}; wait for it with wait_for_status"))
    } else {
        ServiceError::InvalidState(message)
    }
}
