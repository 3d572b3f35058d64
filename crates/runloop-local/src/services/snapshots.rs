//! Disk snapshots: start a capture, status, list, update and delete.
//!
//! A capture runs as a background task that reports through the store (see
//! [`super::capture`]), so after a restart the store shows which captures never finished.

use std::sync::Arc;

use anyhow::Context;
use runloop_types::{
    DevboxSnapshotAsyncStatusView, DevboxSnapshotListView, DevboxSnapshotView, SnapshotDiskParams,
    SnapshotStatus,
};

use super::{ListQuery, Services};
use crate::clock::now_ms;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_id, SNAPSHOT_PREFIX};
use crate::store::{PageRequest, SnapshotFilter};

/// Longest `commit_message`, in characters.
const MAX_COMMIT_MESSAGE_CHARS: usize = 1000;

impl Services {
    /// Starts a snapshot of the devbox `devbox_id`. With `wait`, returns once the capture
    /// finished (an error if it failed); otherwise returns the snapshot at once while the
    /// capture runs in the background. An empty `name` or `commit_message` is stored as
    /// none.
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
            commit_message: params.commit_message.filter(|message| !message.is_empty()),
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

    /// Lists the snapshots that match `filter`, newest first, in every status. No snapshot
    /// has a source blueprint here, so any `source_blueprint_id` filter matches none.
    pub fn list_snapshots(
        &self,
        filter: &SnapshotFilter,
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
            .list_snapshots(filter, PageRequest { limit, after_seq })?;
        Ok(DevboxSnapshotListView {
            snapshots: page.items.into_iter().map(|record| record.view).collect(),
            has_more: page.has_more,
            total_count: query.total_count(page.total_count),
        })
    }

    /// Updates snapshot `id`. Each field given replaces the stored one: `metadata` as a
    /// whole map (`{}` clears it), and an empty `name` or `commit_message` clears that
    /// field. A field that is omitted or `null` stays as it is.
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
                view.commit_message = (!commit_message.is_empty()).then_some(commit_message);
            }
        })?;
        Ok(updated.ok_or_else(|| snapshot_not_found(id))?.view)
    }

    /// Deletes snapshot `id` and returns it as it was. Its layer data stays on disk while
    /// other snapshots or live devboxes are built on it. A capture in progress cannot be
    /// deleted (409).
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
