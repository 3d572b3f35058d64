//! Services: the rules of devboxes, executions, files and snapshots, and their bookkeeping
//! in the store. Routes call these; these call the sandbox engine, the layer store and the
//! store.

mod boot;
mod capture;
mod create_params;
mod devboxes;
mod environment;
mod execution;
mod executions;
mod files;
mod lifecycle;
mod logged_command;
mod logs;
mod output;
mod paging;
mod pipe_readers;
mod runtime;
mod shells;
mod snapshots;
mod streams;
mod timers;
mod transfer;
mod usage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runloop_types::ExecutionStatus;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::{ServiceError, ServiceResult};
use crate::layers::LayerStore;
use crate::sandbox::SandboxEngine;
use crate::store::Store;

pub use capture::CaptureSettings;
pub use execution::OutputStream;
pub use executions::finish_interrupted_executions;
pub use paging::ListQuery;
use runtime::DevboxRuntime;
pub use streams::{OutputCursor, StreamFailure};
pub use transfer::{ReceivedUpload, UploadBody};

/// The service layer of one server instance.
pub struct Services {
    store: Arc<Store>,
    engine: SandboxEngine,
    layers: Arc<LayerStore>,
    /// Devboxes created by this process, live or not; executions live here too.
    runtimes: Mutex<HashMap<String, Arc<DevboxRuntime>>>,
    /// Bumped after every devbox status change, so long polls re-read their devbox.
    devbox_changes: watch::Sender<u64>,
    /// Fired when the server begins to shut down; long polls return at once.
    shutdown: CancellationToken,
    /// Boots and snapshot captures, which shutdown waits for.
    background: TaskTracker,
    capture: CaptureSettings,
}

impl Services {
    /// Assembles the services over a recovered store, engine and layer store.
    pub fn new(
        store: Arc<Store>,
        engine: SandboxEngine,
        layers: Arc<LayerStore>,
        capture: CaptureSettings,
    ) -> Self {
        let (devbox_changes, _) = watch::channel(0);
        Self {
            store,
            engine,
            layers,
            runtimes: Mutex::new(HashMap::new()),
            devbox_changes,
            shutdown: CancellationToken::new(),
            background: TaskTracker::new(),
            capture,
        }
    }

    /// Token that stops long polls; cancel it when the server begins to shut down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops every devbox, marks each one `shutdown`, and unmounts the base layer. Waits for
    /// boots and cancelled captures to finish first, and after the stops waits up to
    /// [`EXECUTION_SETTLE`] for the killed commands to complete, so their records are
    /// stored as killed rather than completed at the next start.
    pub async fn shut_down(self: &Arc<Self>) {
        self.shutdown.cancel();
        let runtimes: Vec<(String, Arc<DevboxRuntime>)> = self
            .runtimes_lock()
            .iter()
            .map(|(id, runtime)| (id.clone(), runtime.clone()))
            .collect();
        for (_, runtime) in &runtimes {
            runtime.cancel_captures.cancel();
        }

        self.background.close();
        self.background.wait().await;

        let mut stops = JoinSet::new();
        for (id, runtime) in runtimes.clone() {
            let services = self.clone();
            stops.spawn(async move {
                if let Err(error) = services.stop_runtime(&id, &runtime, None).await {
                    tracing::error!(devbox_id = %id, error = %format!("{error:#}"), "failed to stop a devbox during server shutdown");
                }
            });
        }
        while stops.join_next().await.is_some() {}
        wait_for_executions(&runtimes).await;

        if let Err(error) = self.engine.close().await {
            tracing::error!(error = %format!("{error:#}"), "failed to release the base layer and cgroup");
        }
    }

    fn runtime(&self, devbox_id: &str) -> Option<Arc<DevboxRuntime>> {
        self.runtimes_lock().get(devbox_id).cloned()
    }

    fn runtimes_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<DevboxRuntime>>> {
        // The map holds only handles that no panic can leave half-updated.
        self.runtimes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn notify_devbox_changed(&self) {
        self.devbox_changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    /// Deletes unreferenced layers, logging rather than returning a failure, because the
    /// operation that freed them has already succeeded.
    async fn collect_garbage(&self) {
        let layers = self.layers.clone();
        let result = tokio::task::spawn_blocking(move || layers.collect_garbage()).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(error = %format!("{error:#}"), "failed to delete unreferenced layers");
            }
            Err(error) => tracing::error!(%error, "the layer garbage collection task failed"),
        }
    }
}

/// Maximum time server shutdown waits for the commands of the stopped devboxes to
/// complete. A killed command completes once its shell has exited and its output has been
/// read for up to 200 ms more.
const EXECUTION_SETTLE: Duration = Duration::from_secs(2);

/// Waits up to [`EXECUTION_SETTLE`] for every unfinished execution of `runtimes` to
/// complete, and logs the ids of those that did not.
async fn wait_for_executions(runtimes: &[(String, Arc<DevboxRuntime>)]) {
    let unfinished: Vec<_> = runtimes
        .iter()
        .flat_map(|(_, runtime)| runtime.unfinished_executions())
        .collect();
    let all_completed = async {
        for execution in &unfinished {
            let mut status = execution.subscribe();
            let _ = status
                .wait_for(|status| *status == ExecutionStatus::Completed)
                .await;
        }
    };
    if tokio::time::timeout(EXECUTION_SETTLE, all_completed)
        .await
        .is_err()
    {
        let ids: Vec<&str> = unfinished
            .iter()
            .filter(|execution| execution.status() != ExecutionStatus::Completed)
            .map(|execution| execution.id.as_str())
            .collect();
        tracing::warn!(execution_ids = ?ids, "executions did not complete before server shutdown, so the next start records them as interrupted");
    }
}

/// Returns how long a long poll may hold: `requested` seconds, at most `max`, or `max`
/// when not given.
fn hold_duration(requested: Option<f64>, max: Duration) -> ServiceResult<Duration> {
    let Some(seconds) = requested else {
        return Ok(max);
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(ServiceError::InvalidRequest(format!(
            "timeout_seconds must be a number of seconds between 0 and {}, got {seconds}",
            max.as_secs()
        )));
    }
    Ok(Duration::from_secs_f64(seconds).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_duration_caps_and_defaults() {
        let max = Duration::from_secs(30);
        assert_eq!(hold_duration(None, max).expect("valid"), max);
        assert_eq!(hold_duration(Some(100.0), max).expect("valid"), max);
        assert_eq!(
            hold_duration(Some(0.5), max).expect("valid"),
            Duration::from_millis(500)
        );
        assert!(hold_duration(Some(-1.0), max).is_err());
    }
}
