//! Booting a devbox: its sandbox, file mounts, launch commands and entrypoint.
//!
//! `provisioning` → `initializing` (sandbox start, file mounts, launch commands in order,
//! entrypoint start) → `running`. A launch command that exits with a non-zero status ends
//! the boot in `failure` with `failure_reason: execution_failed`. Its output and exit code
//! are in the devbox log. The entrypoint is the devbox's main process: when it exits, the
//! devbox shuts down with `shutdown_reason: entrypoint_exit`.

use std::ffi::OsString;
use std::sync::Arc;

use anyhow::Context;
use runloop_types::{DevboxStatus, FailureReason, ShutdownReason};
use tokio::sync::OwnedRwLockWriteGuard;

use super::create_params::BootPlan;
use super::devboxes::Ending;
use super::environment::devbox_environment;
use super::files::map_file_error;
use super::logged_command::LoggedCommand;
use super::logs::{log_entry, LogLevel, LogSource};
use super::runtime::DevboxRuntime;
use super::Services;
use crate::sandbox::{rootfs, Sandbox};

impl Services {
    /// Boots the devbox `id` and records each status change. `sandbox` is the write guard
    /// that create took, so nothing uses the sandbox before it exists.
    pub(super) async fn boot(
        self: Arc<Self>,
        id: String,
        mut sandbox: OwnedRwLockWriteGuard<Option<Sandbox>>,
        base_layer_id: Option<i64>,
    ) {
        self.set_status(&id, DevboxStatus::Initializing, None);
        let Some(runtime) = self.runtime(&id) else {
            return;
        };
        let Some(plan) = runtime.plan() else {
            return;
        };

        let started = async {
            let layers = self.layers.chain_names(base_layer_id)?;
            self.engine.start(&id, &layers).await
        }
        .await;
        match started {
            Ok(running) => *sandbox = Some(running),
            Err(error) => {
                let reason = format!("{error:#}");
                tracing::error!(devbox_id = %id, error = %reason, "devbox failed to boot");
                self.set_status(&id, DevboxStatus::Failure, Some(reason));
                runtime.ended.cancel();
                drop(sandbox);
                self.collect_garbage().await;
                return;
            }
        }
        // From here on a shutdown can take the sandbox, which stops a launch command that
        // never ends.
        drop(sandbox);

        let environment = match self.devbox_record(&id) {
            Ok(record) => devbox_environment(&record.environment_variables),
            Err(error) => {
                self.fail_boot(&id, &runtime, format!("failed to read the devbox: {error}"))
                    .await;
                return;
            }
        };
        let prepared = tokio::select! {
            prepared = prepare(&runtime, &plan, &environment) => prepared,
            () = runtime.ended.cancelled() => return,
            () = self.shutdown.cancelled() => return,
        };
        if let Err(detail) = prepared {
            self.fail_boot(&id, &runtime, detail).await;
            return;
        }

        if let Some(entrypoint) = &plan.entrypoint {
            if let Err(detail) = self
                .start_entrypoint(&id, &runtime, entrypoint, &environment)
                .await
            {
                self.fail_boot(&id, &runtime, detail).await;
                return;
            }
        }

        runtime.restart_clocks();
        if self
            .move_devbox(&id, &[DevboxStatus::Initializing], DevboxStatus::Running)
            .is_err()
        {
            // The devbox ended during boot, for example because its entrypoint exited.
            return;
        }
        tokio::spawn(self.clone().watch_timers(id, runtime, plan.timers));
    }

    /// Starts the entrypoint and a task that shuts the devbox down when it exits.
    async fn start_entrypoint(
        self: &Arc<Self>,
        id: &str,
        runtime: &Arc<DevboxRuntime>,
        entrypoint: &str,
        environment: &[(OsString, OsString)],
    ) -> Result<(), String> {
        let command = LoggedCommand {
            source: LogSource::Entrypoint,
            command: entrypoint.to_owned(),
        };
        let child = command
            .start(runtime, environment)
            .await
            .map_err(|error| format!("failed to start the entrypoint: {error:#}"))?;

        let services = self.clone();
        let runtime = runtime.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let exit_code = command.follow(runtime.clone(), child).await;
            if runtime.ended.is_cancelled() {
                return;
            }
            tracing::info!(devbox_id = %id, exit_code, "the entrypoint exited; shutting the devbox down");
            let stopped = services
                .stop_runtime(&id, &runtime, Some(ShutdownReason::EntrypointExit))
                .await;
            if let Err(error) = stopped {
                tracing::error!(devbox_id = %id, error = %format!("{error:#}"), "failed to stop a devbox after its entrypoint exited");
            }
        });
        Ok(())
    }

    /// Tears the sandbox down and ends the boot in `failure` with `execution_failed` and
    /// `detail` as the transition's reason.
    async fn fail_boot(&self, id: &str, runtime: &DevboxRuntime, detail: String) {
        tracing::warn!(devbox_id = %id, reason = %detail, "devbox boot failed");
        runtime.log(log_entry(
            LogSource::SetupCommands,
            LogLevel::Error,
            format!("boot failed: {detail}"),
        ));

        let ending = Ending::Failure {
            reason: FailureReason::ExecutionFailed,
            detail,
        };
        if let Err(error) = self.end_runtime(id, runtime, ending).await {
            tracing::error!(devbox_id = %id, error = %format!("{error:#}"), "failed to tear down a devbox whose boot failed");
        }
    }
}

/// Writes the file mounts and runs the launch commands in order. Returns the reason of the
/// first failure.
async fn prepare(
    runtime: &Arc<DevboxRuntime>,
    plan: &BootPlan,
    environment: &[(OsString, OsString)],
) -> Result<(), String> {
    for (path, contents) in &plan.files {
        write_file_mount(runtime, path, contents).await?;
        runtime.log(log_entry(
            LogSource::Files,
            LogLevel::Info,
            format!("wrote {} bytes to {path} from a file mount", contents.len()),
        ));
    }

    let count = plan.launch_commands.len();
    for (index, command) in plan.launch_commands.iter().enumerate() {
        let logged = LoggedCommand {
            source: LogSource::SetupCommands,
            command: command.clone(),
        };
        let child = logged
            .start(runtime, environment)
            .await
            .map_err(|error| format!("{error:#}"))?;
        let exit_code = logged.follow(runtime.clone(), child).await;
        if exit_code != 0 {
            return Err(format!(
                "launch command {} of {count} (`{command}`) exited with status {exit_code}",
                index + 1
            ));
        }
    }
    Ok(())
}

async fn write_file_mount(
    runtime: &DevboxRuntime,
    path: &str,
    contents: &str,
) -> Result<(), String> {
    let sandbox = runtime.sandbox.read().await;
    let root = sandbox
        .as_ref()
        .map(Sandbox::file_root)
        .ok_or_else(|| "the devbox stopped before its file mounts were written".to_owned())?;
    let target = path.to_owned();
    let contents = contents.to_owned();
    let written = tokio::task::spawn_blocking(move || {
        rootfs::write_file(&root, &target, contents.as_bytes())
    })
    .await
    .context("the file mount task panicked")
    .map_err(|error| format!("{error:#}"))?;
    written.map_err(|error| {
        format!(
            "failed to write the file mount {path}: {}",
            map_file_error(error)
        )
    })
}
