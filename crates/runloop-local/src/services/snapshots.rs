//! Disk snapshots: capture, status, list, update and delete.
//!
//! A capture freezes the devbox, copies its overlay upper directory into a new layer whose
//! parent is the chain the devbox booted from, and thaws it. Captures run as background
//! tasks that report through the store, so after a restart the store shows which ones
//! never finished.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runloop_types::{
    DevboxSnapshotAsyncStatusView, DevboxSnapshotListView, DevboxSnapshotView, SnapshotDiskParams,
    SnapshotStatus,
};
use tokio::time::Instant;

use super::runtime::DevboxRuntime;
use super::{ListQuery, Services};
use crate::clock::now_ms;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_id, SNAPSHOT_PREFIX};
use crate::store::PageRequest;

/// Longest `commit_message`, in characters.
const MAX_COMMIT_MESSAGE_CHARS: usize = 1000;

/// Maximum time a capture waits for the devbox's processes to freeze.
const MAX_FREEZE_WAIT: Duration = Duration::from_secs(30);

impl Services {
    /// Starts a snapshot of the devbox `devbox_id`. With `wait`, returns once the capture
    /// finished (an error if it failed); otherwise returns the snapshot at once while the
    /// capture runs in the background.
    pub async fn snapshot_devbox(
        self: &Arc<Self>,
        devbox_id: &str,
        params: SnapshotDiskParams,
        wait: bool,
    ) -> ServiceResult<DevboxSnapshotView> {
        check_commit_message(params.commit_message.as_deref())?;
        let runtime = self.running_devbox(devbox_id, "take a snapshot")?;
        let base_layer_id = self.devbox_record(devbox_id)?.base_layer_id;

        let view = DevboxSnapshotView {
            id: new_id(SNAPSHOT_PREFIX)?,
            create_time_ms: now_ms(),
            metadata: params.metadata.unwrap_or_default(),
            source_devbox_id: devbox_id.to_owned(),
            name: params.name.filter(|name| !name.is_empty()),
            commit_message: params.commit_message,
            size_bytes: None,
            source_blueprint_id: None,
        };
        let layer_id = self.store.begin_snapshot(&view, base_layer_id)?;

        // The capture runs as its own task even for a synchronous request, so a client
        // that disconnects cannot cancel it halfway and leave the devbox frozen.
        let services = self.clone();
        let snapshot_id = view.id.clone();
        let capture = self.background.spawn(async move {
            services.capture(&runtime, &snapshot_id, layer_id).await;
        });
        if !wait {
            return Ok(view);
        }

        capture.await.context("the snapshot capture task failed")?;
        let record = self
            .store
            .get_snapshot(&view.id)?
            .with_context(|| format!("snapshot {} vanished after its capture", view.id))?;
        match record.status {
            SnapshotStatus::Complete => Ok(record.view),
            _ => Err(ServiceError::Internal(anyhow::anyhow!(
                "snapshot {} failed: {}",
                view.id,
                record.error_message.unwrap_or_default()
            ))),
        }
    }

    /// Returns the capture status of snapshot `id`, with the snapshot once complete.
    pub fn snapshot_status(&self, id: &str) -> ServiceResult<DevboxSnapshotAsyncStatusView> {
        let record = self
            .store
            .get_snapshot(id)?
            .ok_or_else(|| snapshot_not_found(id))?;
        let complete = record.status == SnapshotStatus::Complete;
        Ok(DevboxSnapshotAsyncStatusView {
            status: record.status,
            error_message: record.error_message,
            snapshot: complete.then_some(record.view),
        })
    }

    /// Lists snapshots newest first, in every status, optionally only those of `devbox_id`.
    /// No snapshot has a source blueprint here, so a `source_blueprint_id` filter matches
    /// none.
    pub fn list_snapshots(
        &self,
        devbox_id: Option<&str>,
        source_blueprint_id: Option<&str>,
        query: &ListQuery,
    ) -> ServiceResult<DevboxSnapshotListView> {
        let limit = query.page_limit()?;
        if source_blueprint_id.is_some() {
            return Ok(DevboxSnapshotListView {
                snapshots: Vec::new(),
                has_more: false,
                total_count: 0,
            });
        }
        let after_seq = match &query.starting_after {
            None => None,
            Some(cursor) => Some(self.store.snapshot_seq(cursor)?.ok_or_else(|| {
                ServiceError::InvalidRequest(format!(
                    "starting_after {cursor} does not name a snapshot; pass the id of the last snapshot of the previous page"
                ))
            })?),
        };

        let page = self
            .store
            .list_snapshots(devbox_id, PageRequest { limit, after_seq })?;
        Ok(DevboxSnapshotListView {
            snapshots: page.items.into_iter().map(|record| record.view).collect(),
            has_more: page.has_more,
            total_count: query.total_count(page.total_count),
        })
    }

    /// Updates snapshot `id`: each given field replaces the stored one (metadata as a
    /// whole map, `name: ""` clears the name), and omitted fields stay as they are.
    pub fn update_snapshot(
        &self,
        id: &str,
        params: SnapshotDiskParams,
    ) -> ServiceResult<DevboxSnapshotView> {
        check_commit_message(params.commit_message.as_deref())?;
        let updated = self.store.update_snapshot_view(id, |view| {
            if let Some(name) = params.name {
                view.name = (!name.is_empty()).then_some(name);
            }
            if let Some(metadata) = params.metadata {
                view.metadata = metadata;
            }
            if let Some(commit_message) = params.commit_message {
                view.commit_message = Some(commit_message);
            }
        })?;
        Ok(updated.ok_or_else(|| snapshot_not_found(id))?.view)
    }

    /// Deletes snapshot `id` and returns it as it was. Its layer data stays on disk while
    /// other snapshots or live devboxes are built on it.
    pub async fn delete_snapshot(&self, id: &str) -> ServiceResult<DevboxSnapshotView> {
        let record = self
            .store
            .get_snapshot(id)?
            .ok_or_else(|| snapshot_not_found(id))?;
        if record.status == SnapshotStatus::InProgress {
            return Err(ServiceError::Conflict(format!(
                "snapshot {id} is still being captured; delete it once its status is complete or error"
            )));
        }

        let deleted = self
            .store
            .delete_snapshot(id)?
            .ok_or_else(|| snapshot_not_found(id))?;
        self.collect_garbage().await;
        Ok(deleted.view)
    }

    /// Runs one capture and records its outcome.
    async fn capture(&self, runtime: &DevboxRuntime, snapshot_id: &str, layer_id: i64) {
        let deadline = Instant::now() + self.snapshot_timeout;
        let captured = self.capture_layer(runtime, layer_id, deadline).await;
        let recorded = match captured {
            Ok(size) => self.store.complete_snapshot(snapshot_id, size),
            Err(error) => Err(error),
        };
        let Err(error) = recorded else {
            return;
        };

        let message = format!("{error:#}");
        tracing::warn!(snapshot_id, error = %message, "snapshot capture failed");
        if let Err(error) = self.store.fail_snapshot(snapshot_id, &message) {
            tracing::error!(snapshot_id, error = %format!("{error:#}"), "failed to record a failed snapshot");
        }
        if let Err(error) = self.layers.discard(layer_id) {
            tracing::error!(snapshot_id, layer_id, error = %format!("{error:#}"), "failed to delete the files of a failed capture");
        }
    }

    /// Freezes the devbox, copies its changes into layer `layer_id` and thaws it. Returns
    /// the layer's size in bytes.
    async fn capture_layer(
        &self,
        runtime: &DevboxRuntime,
        layer_id: i64,
        deadline: Instant,
    ) -> anyhow::Result<u64> {
        let limit = self.snapshot_timeout;
        let _writes = tokio::time::timeout_at(deadline, runtime.changes.lock())
            .await
            .with_context(|| format!("the capture did not start within {limit:?}"))?;
        let sandbox = tokio::time::timeout_at(deadline, runtime.sandbox.read())
            .await
            .with_context(|| format!("the capture did not start within {limit:?}"))?;
        let running = sandbox
            .as_ref()
            .context("the devbox stopped before the capture started")?;
        if runtime.cancel_captures.is_cancelled() {
            anyhow::bail!("the devbox was shut down before the capture started");
        }

        let freeze_wait = deadline
            .saturating_duration_since(Instant::now())
            .min(MAX_FREEZE_WAIT);
        running.freeze(freeze_wait).await?;
        let copied = self
            .layers
            .capture(
                layer_id,
                running.upper(),
                deadline,
                &runtime.cancel_captures,
            )
            .await;
        let thawed = running.thaw();

        let size = copied?;
        thawed.context("failed to thaw the devbox after the capture")?;
        Ok(size)
    }
}

fn check_commit_message(message: Option<&str>) -> ServiceResult<()> {
    let length = message.map_or(0, |message| message.chars().count());
    if length > MAX_COMMIT_MESSAGE_CHARS {
        return Err(ServiceError::InvalidRequest(format!(
            "commit_message has {length} characters; the limit is {MAX_COMMIT_MESSAGE_CHARS}"
        )));
    }
    Ok(())
}

fn snapshot_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("snapshot {id} not found"))
}
