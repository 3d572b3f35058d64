//! Disk snapshot endpoints, paging and the wait for completion.

use runloop_types::{
    DevboxSnapshotAsyncStatusView, DevboxSnapshotListView, DevboxSnapshotView,
    DiskSnapshotListParams, SnapshotDiskParams,
};

use super::devbox_path;
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::url::{encode_component, to_query};
use crate::wait::{WaitOptions, Waiter};

/// Disk snapshot endpoints, from [`Client::snapshots`].
#[derive(Debug)]
pub struct Snapshots<'a, P> {
    client: &'a Client<P>,
}

impl<'a, P: Platform> Snapshots<'a, P> {
    pub(crate) fn new(client: &'a Client<P>) -> Self {
        Self { client }
    }

    /// `POST /v1/devboxes/{id}/snapshot_disk`: takes a snapshot and responds when it is done.
    pub async fn snapshot_disk(
        &self,
        devbox_id: &str,
        params: &SnapshotDiskParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxSnapshotView> {
        let request = ApiRequest::post(devbox_path(devbox_id, "/snapshot_disk")).json(params)?;
        self.client.send_json(&request, options).await
    }

    /// `POST /v1/devboxes/{id}/snapshot_disk_async`: starts a snapshot and responds at once.
    pub async fn snapshot_disk_async(
        &self,
        devbox_id: &str,
        params: &SnapshotDiskParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxSnapshotView> {
        let request =
            ApiRequest::post(devbox_path(devbox_id, "/snapshot_disk_async")).json(params)?;
        self.client.send_json(&request, options).await
    }

    /// Takes a snapshot with `snapshot_disk_async` and polls until it is complete.
    /// `options.timeout_ms` bounds both. Returns the completed snapshot's view.
    pub async fn snapshot_disk_and_await_completed(
        &self,
        devbox_id: &str,
        params: &SnapshotDiskParams,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxSnapshotView> {
        let mut waiter = Waiter::start(self.client, options);
        let started = self
            .snapshot_disk_async(devbox_id, params, &waiter.request_options())
            .await
            .map_err(|error| waiter.fail(error, "the snapshot to start"))?;

        let status = waiter.snapshot_completed(&started.id).await?;
        Ok(status.snapshot.unwrap_or(started))
    }

    /// `GET /v1/devboxes/disk_snapshots`: one page.
    pub async fn list(
        &self,
        params: &DiskSnapshotListParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxSnapshotListView> {
        let request = ApiRequest::get("/v1/devboxes/disk_snapshots").query(to_query(params)?);
        self.client.send_json(&request, options).await
    }

    /// Lists every page, following `starting_after` from the last item of each page until
    /// `has_more` is false or a page is empty. `params.limit` is the page size.
    pub async fn list_all(
        &self,
        params: &DiskSnapshotListParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<Vec<DevboxSnapshotView>> {
        let mut params = params.clone();
        let mut snapshots = Vec::new();

        loop {
            let page = self.list(&params, options).await?;
            let has_more = page.has_more;
            let Some(last) = page.snapshots.last() else {
                return Ok(snapshots);
            };

            let cursor = last.id.clone();
            if params.starting_after.as_deref() == Some(cursor.as_str()) {
                return Err(Error::InvalidResponse {
                    context: "GET /v1/devboxes/disk_snapshots".to_owned(),
                    message: format!("the page after {cursor} ends with {cursor} again"),
                });
            }
            snapshots.extend(page.snapshots);
            if !has_more {
                return Ok(snapshots);
            }
            params.starting_after = Some(cursor);
        }
    }

    /// `POST /v1/devboxes/disk_snapshots/{id}`: replaces the name, metadata and commit message
    /// with the given ones.
    pub async fn update(
        &self,
        id: &str,
        params: &SnapshotDiskParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxSnapshotView> {
        let request = ApiRequest::post(snapshot_path(id, "")).json(params)?;
        self.client.send_json(&request, options).await
    }

    /// `POST /v1/devboxes/disk_snapshots/{id}/delete`. The response body is ignored.
    pub async fn delete(&self, id: &str, options: &RequestOptions<P::Signal>) -> Result<()> {
        let request = ApiRequest::post(snapshot_path(id, "/delete"));
        self.client.send(&request, options).await?;
        Ok(())
    }

    /// `GET /v1/devboxes/disk_snapshots/{id}/status`.
    pub async fn query_status(
        &self,
        id: &str,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxSnapshotAsyncStatusView> {
        let request = ApiRequest::get(snapshot_path(id, "/status"));
        self.client.send_json(&request, options).await
    }

    /// Polls the status until the snapshot is `complete`; fails on `error` with the server's
    /// message and on `deleted`.
    pub async fn await_completed(
        &self,
        id: &str,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxSnapshotAsyncStatusView> {
        Waiter::start(self.client, options)
            .snapshot_completed(id)
            .await
    }
}

fn snapshot_path(id: &str, rest: &str) -> String {
    format!("/v1/devboxes/disk_snapshots/{}{rest}", encode_component(id))
}
