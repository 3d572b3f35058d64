//! Devbox records: create, read, list, update, long-poll and shut down.
//!
//! States: `provisioning` (record created) → `initializing` (boot, see `boot`) → `running`,
//! which `suspending` → `suspended` → `resuming` → `running` may follow (see `lifecycle`).
//! A failed boot ends in `failure`; a shutdown by the API, the entrypoint's exit, a timer
//! (see `timers`) or the server stopping ends in `shutdown`. Both end states are final.

use std::sync::Arc;
use std::time::Duration;

use runloop_types::{
    DevboxCreateParams, DevboxListView, DevboxStatus, DevboxUpdateParams, DevboxView,
    DevboxWaitParams, FailureReason, ShutdownReason,
};
use tokio::time::Instant;

use super::create_params::plan_boot;
use super::logs::DevboxLog;
use super::runtime::DevboxRuntime;
use super::{hold_duration, ListQuery, Services};
use crate::clock::now_ms;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_id, DEVBOX_PREFIX};
use crate::store::{DevboxRecord, PageRequest, SnapshotBase};

/// Maximum hold of `wait_for_status` and of `create_and_await_running`.
const MAX_DEVBOX_HOLD: Duration = Duration::from_secs(30);

/// Statuses that end a wait for a booting devbox.
const BOOT_END_STATUSES: [DevboxStatus; 3] = [
    DevboxStatus::Running,
    DevboxStatus::Failure,
    DevboxStatus::Shutdown,
];

impl Services {
    /// Creates a devbox and boots it in the background; returns it as `provisioning`.
    pub async fn create_devbox(
        self: &Arc<Self>,
        params: DevboxCreateParams,
    ) -> ServiceResult<DevboxView> {
        let plan = Arc::new(plan_boot(&params)?);
        let now = now_ms();
        let id = new_id(DEVBOX_PREFIX)?;

        let mut record = DevboxRecord {
            view: new_view(id.clone(), now, &params),
            environment_variables: params.environment_variables.clone().unwrap_or_default(),
            base_layer_id: None,
        };
        record.record_transition(DevboxStatus::Provisioning, now, None);

        match &params.snapshot_id {
            None => self.store.insert_devbox(&record)?,
            Some(snapshot_id) => match self
                .store
                .insert_devbox_on_snapshot(&mut record, snapshot_id)?
            {
                SnapshotBase::Ready { .. } => {}
                SnapshotBase::NotFound => {
                    return Err(ServiceError::NotFound(format!(
                        "snapshot {snapshot_id} not found; list snapshots with GET /v1/devboxes/disk_snapshots"
                    )));
                }
                SnapshotBase::NotReady(status) => {
                    return Err(ServiceError::Conflict(format!(
                        "snapshot {snapshot_id} is {}; a devbox can only boot from a complete snapshot",
                        status.as_str()
                    )));
                }
            },
        }

        let log = DevboxLog::new(self.store.clone(), id.clone());
        let runtime = Arc::new(DevboxRuntime::new(
            self.shutdown.child_token(),
            log,
            self.store.max_completed_executions(),
        ));
        runtime.set_plan(plan);
        let boot_guard = runtime.sandbox.clone().write_owned().await;
        self.runtimes_lock().insert(id.clone(), runtime);
        self.notify_devbox_changed();

        let services = self.clone();
        let base_layer_id = record.base_layer_id;
        self.background.spawn(async move {
            services.boot(id, boot_guard, base_layer_id).await;
        });

        Ok(record.view)
    }

    /// Creates a devbox and waits up to 30 s for it to be running. Returns its view at that
    /// point, which may still show it booting.
    pub async fn create_devbox_and_await_running(
        self: &Arc<Self>,
        params: DevboxCreateParams,
    ) -> ServiceResult<DevboxView> {
        let created = self.create_devbox(params).await?;
        let wait = DevboxWaitParams {
            statuses: BOOT_END_STATUSES.to_vec(),
            timeout_seconds: None,
        };
        match self.wait_for_devbox_status(&created.id, wait).await {
            Err(ServiceError::Timeout(_)) => self.devbox(&created.id),
            other => other,
        }
    }

    /// Returns the devbox `id`.
    pub fn devbox(&self, id: &str) -> ServiceResult<DevboxView> {
        Ok(self.devbox_record(id)?.view)
    }

    /// Lists devboxes newest first.
    pub fn list_devboxes(
        &self,
        status: Option<DevboxStatus>,
        query: &ListQuery,
    ) -> ServiceResult<DevboxListView> {
        let limit = query.page_limit()?;
        let after_seq = match &query.starting_after {
            None => None,
            Some(cursor) => Some(self.store.devbox_seq(cursor)?.ok_or_else(|| {
                ServiceError::InvalidRequest(format!(
                    "starting_after {cursor} does not name a devbox; pass the id of the last devbox of the previous page"
                ))
            })?),
        };

        let page = self
            .store
            .list_devboxes(status, PageRequest { limit, after_seq })?;
        Ok(DevboxListView {
            devboxes: page.items.into_iter().map(|record| record.view).collect(),
            has_more: page.has_more,
            total_count: query.total_count(page.total_count),
        })
    }

    /// Updates the name and metadata of the devbox `id`. An omitted field stays as it is,
    /// `name: ""` clears the name and `metadata: {}` clears the metadata.
    pub fn update_devbox(&self, id: &str, params: DevboxUpdateParams) -> ServiceResult<DevboxView> {
        let updated = self.store.update_devbox(id, |record| {
            if let Some(name) = params.name {
                record.view.name = (!name.is_empty()).then_some(name);
            }
            if let Some(metadata) = params.metadata {
                record.view.metadata = metadata;
            }
        })?;
        let record = updated.ok_or_else(|| devbox_not_found(id))?;
        self.notify_devbox_changed();
        Ok(record.view)
    }

    /// Waits until the devbox `id` is in one of `params.statuses`, for at most
    /// `params.timeout_seconds` (30 s by default and at most). Returns at once if it already
    /// is, and fails with [`ServiceError::Timeout`] when the hold expires. A devbox that is
    /// or becomes `shutdown` or `failure`, which are final, fails at once with
    /// [`ServiceError::InvalidState`] unless that status was requested.
    pub async fn wait_for_devbox_status(
        &self,
        id: &str,
        params: DevboxWaitParams,
    ) -> ServiceResult<DevboxView> {
        if params.statuses.is_empty() {
            return Err(ServiceError::InvalidRequest(
                "statuses must name at least one devbox status".to_owned(),
            ));
        }
        let hold = hold_duration(params.timeout_seconds, MAX_DEVBOX_HOLD)?;
        let deadline = Instant::now() + hold;
        let mut changes = self.devbox_changes.subscribe();

        loop {
            let view = self.devbox(id)?;
            if params.statuses.contains(&view.status) {
                return Ok(view);
            }
            if view.status.is_terminal() {
                return Err(unreachable_status(id, view.status, &params.statuses));
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Err(ServiceError::shutting_down());
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    return Err(ServiceError::Timeout(format!(
                        "devbox {id} is still {} after {:.1} s; call wait_for_status again",
                        view.status.as_str(),
                        hold.as_secs_f64()
                    )));
                }
                () = self.shutdown.cancelled() => return Err(ServiceError::shutting_down()),
            }
        }
    }

    /// Shuts the devbox `id` down: kills its processes, unmounts its file system and marks
    /// it `shutdown`. Rejected with 409 while a snapshot is in progress unless `force` is
    /// set, which cancels the capture. A devbox that already ended is returned as it is.
    pub async fn shut_down_devbox(&self, id: &str, force: bool) -> ServiceResult<DevboxView> {
        let record = self.devbox_record(id)?;
        if record.view.status.is_terminal() {
            return Ok(record.view);
        }

        let Some(runtime) = self.runtime(id) else {
            self.mark_ended(id, Ending::Shutdown(Some(ShutdownReason::ApiShutdown)))?;
            return self.devbox(id);
        };
        if !force && self.store.count_snapshots_in_progress(id)? > 0 {
            return Err(ServiceError::Conflict(format!(
                "devbox {id} has a snapshot in progress; wait for it to finish or pass force=true"
            )));
        }
        if force {
            runtime.cancel_captures.cancel();
        }

        self.stop_runtime(id, &runtime, Some(ShutdownReason::ApiShutdown))
            .await?;
        self.devbox(id)
    }

    /// Tears down the sandbox of `runtime` if it has one and marks the devbox `shutdown`
    /// unless it already ended. The status changes even when the teardown fails, because
    /// the devbox can no longer run commands either way; the failure is returned.
    pub(super) async fn stop_runtime(
        &self,
        id: &str,
        runtime: &DevboxRuntime,
        reason: Option<ShutdownReason>,
    ) -> anyhow::Result<()> {
        self.end_runtime(id, runtime, Ending::Shutdown(reason))
            .await
    }

    /// Tears down the sandbox of `runtime` if it has one, then records `ending` unless the
    /// devbox already ended, so by the time a client reads the end state the processes
    /// are gone. The status changes even when the teardown fails; the failure is returned.
    pub(super) async fn end_runtime(
        &self,
        id: &str,
        runtime: &DevboxRuntime,
        ending: Ending,
    ) -> anyhow::Result<()> {
        let mut sandbox = runtime.sandbox.write().await;
        let stopped = match sandbox.take() {
            Some(running) => self.engine.stop(running).await,
            None => Ok(()),
        };
        let marked = self.mark_ended(id, ending);
        runtime.ended.cancel();
        drop(sandbox);

        self.collect_garbage().await;
        stopped?;
        marked.map_err(anyhow::Error::from)
    }

    /// Moves a devbox that has not ended to `status`, logging a failed write: the caller is
    /// a background task with no client to report to.
    pub(super) fn set_status(
        &self,
        id: &str,
        status: DevboxStatus,
        failure_reason: Option<String>,
    ) {
        let result = self.store.update_devbox(id, |record| {
            if !record.view.status.is_terminal() {
                record.record_transition(status, now_ms(), failure_reason);
            }
        });
        if let Err(error) = result {
            tracing::error!(devbox_id = %id, status = status.as_str(), error = %format!("{error:#}"), "failed to record a devbox status");
        }
        self.notify_devbox_changed();
    }

    fn mark_ended(&self, id: &str, ending: Ending) -> ServiceResult<()> {
        self.store.update_devbox(id, |record| {
            if record.view.status.is_terminal() {
                return;
            }
            match ending {
                Ending::Shutdown(reason) => {
                    record.record_transition(DevboxStatus::Shutdown, now_ms(), None);
                    record.view.shutdown_reason = reason;
                }
                Ending::Failure { reason, detail } => {
                    record.record_transition(DevboxStatus::Failure, now_ms(), Some(detail));
                    record.view.failure_reason = Some(reason);
                }
            }
        })?;
        self.notify_devbox_changed();
        Ok(())
    }

    pub(super) fn devbox_record(&self, id: &str) -> ServiceResult<DevboxRecord> {
        self.store
            .get_devbox(id)?
            .ok_or_else(|| devbox_not_found(id))
    }

    /// Returns the runtime of the devbox `id` if it is running, else the error that explains
    /// why `action` cannot happen now.
    pub(super) fn running_devbox(
        &self,
        id: &str,
        action: &str,
    ) -> ServiceResult<Arc<DevboxRuntime>> {
        let record = self.devbox_record(id)?;
        let status = record.view.status;
        let runtime = self.runtime(id).filter(|_| status == DevboxStatus::Running);
        runtime.ok_or_else(|| not_running(id, status, action))
    }
}

/// Builds the error for a wait on a devbox in the final status `status`, which can never
/// reach any of `requested`.
fn unreachable_status(id: &str, status: DevboxStatus, requested: &[DevboxStatus]) -> ServiceError {
    let requested: Vec<&str> = requested.iter().map(|status| status.as_str()).collect();
    ServiceError::InvalidState(format!(
        "devbox {id} is {}, a final status, so it cannot reach the requested status {}; \
         create a new devbox",
        status.as_str(),
        requested.join(" or ")
    ))
}

/// Builds the error for an operation that needs a running devbox. Only a devbox on its
/// way to `running` gets a retryable 409.
pub(super) fn not_running(id: &str, status: DevboxStatus, action: &str) -> ServiceError {
    let message = format!(
        "devbox {id} is {}; it must be running to {action}",
        status.as_str()
    );
    match status {
        DevboxStatus::Suspended | DevboxStatus::Suspending => ServiceError::InvalidState(format!(
            "{message}; resume it with POST /v1/devboxes/{id}/resume"
        )),
        DevboxStatus::Failure | DevboxStatus::Shutdown => {
            ServiceError::InvalidState(format!("{message}; create a new devbox"))
        }
        _ => ServiceError::Conflict(format!("{message}; wait for it with wait_for_status")),
    }
}

/// End state of a devbox, with its reason.
#[derive(Debug)]
pub(super) enum Ending {
    /// `shutdown`, with the reason if there is one.
    Shutdown(Option<ShutdownReason>),
    /// `failure`, with the category and the transition's explanation.
    Failure {
        /// Category shown as the view's `failure_reason`.
        reason: FailureReason,
        /// Explanation stored in the state transition.
        detail: String,
    },
}

/// Builds the error for an unknown devbox id.
pub(super) fn devbox_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("devbox {id} not found"))
}

fn new_view(id: String, now: i64, params: &DevboxCreateParams) -> DevboxView {
    DevboxView {
        id,
        status: DevboxStatus::Provisioning,
        create_time_ms: now,
        end_time_ms: None,
        capabilities: Vec::new(),
        launch_parameters: params.launch_parameters.clone().unwrap_or_default(),
        metadata: params.metadata.clone().unwrap_or_default(),
        state_transitions: Vec::new(),
        name: params.name.clone().filter(|name| !name.is_empty()),
        blueprint_id: None,
        snapshot_id: params.snapshot_id.clone(),
        initiator_id: None,
        initiator_type: Some("api".to_owned()),
        failure_reason: None,
        shutdown_reason: None,
        tunnel: None,
        gateway_specs: None,
        mcp_specs: None,
    }
}
