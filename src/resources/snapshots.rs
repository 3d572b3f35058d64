//! Disk snapshot endpoints, paging and the wait for completion.

use std::collections::BTreeMap;
use std::fmt;

use runloop_types::{
    DevboxSnapshotAsyncStatusView, DevboxSnapshotListView, DevboxSnapshotView,
    DiskSnapshotListParams, SnapshotDiskParams,
};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use tsify::Tsify;

use super::devbox_path;
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::Result;
use crate::paging::next_cursor;
use crate::platform::Platform;
use crate::progress::ProgressEvent;
use crate::url::{encode_component, to_query};
use crate::wait::{WaitOptions, Waiter};

/// A filter on one metadata key of the snapshot list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MetadataFilter {
    /// The value equals this one: `metadata[key]=value`.
    Equals(String),
    /// The value is one of these: `metadata[key][in]=a,b`.
    AnyOf(Vec<String>),
}

impl<'de> Deserialize<'de> for MetadataFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MetadataFilterVisitor)
    }
}

/// Reads a string or an array of strings, without the buffering of an untagged enum.
struct MetadataFilterVisitor;

impl<'de> Visitor<'de> for MetadataFilterVisitor {
    type Value = MetadataFilter;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string or an array of strings")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(MetadataFilter::Equals(value.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = seq.next_element::<String>()? {
            values.push(value);
        }
        Ok(MetadataFilter::AnyOf(values))
    }
}

/// Query of the snapshot list as the SDK takes it: the wire parameters plus metadata
/// filters, each key matching one value or any of several.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Tsify)]
pub struct SnapshotListParams {
    /// Only snapshots taken from this devbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub devbox_id: Option<String>,
    /// Only snapshots of devboxes booted from this blueprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub source_blueprint_id: Option<String>,
    /// Page size (default 20, max 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub limit: Option<u32>,
    /// Id of the last item of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub starting_after: Option<String>,
    /// Whether the server counts every match into `total_count` (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub include_total_count: Option<bool>,
    /// Metadata filters: `{ team: 'a' }` keeps snapshots whose `team` is `a`,
    /// `{ team: ['a', 'b'] }` those whose `team` is `a` or `b`. Several keys must all match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional, type = "Record<string, string | string[]>")]
    pub metadata: Option<BTreeMap<String, MetadataFilter>>,
}

impl SnapshotListParams {
    /// Returns the wire parameters, without the metadata filters.
    pub fn wire(&self) -> DiskSnapshotListParams {
        DiskSnapshotListParams {
            devbox_id: self.devbox_id.clone(),
            source_blueprint_id: self.source_blueprint_id.clone(),
            limit: self.limit,
            starting_after: self.starting_after.clone(),
            include_total_count: self.include_total_count,
        }
    }
}

/// `POST /v1/devboxes/{id}/snapshot_disk`: a long request that returns when the snapshot is
/// complete.
pub fn snapshot_disk<B>(devbox_id: &str, params: &SnapshotDiskParams) -> Result<ApiRequest<B>> {
    Ok(ApiRequest::post(devbox_path(devbox_id, "/snapshot_disk"))
        .json(params)?
        .long())
}

/// `POST /v1/devboxes/{id}/snapshot_disk_async`.
pub fn snapshot_disk_async<B>(
    devbox_id: &str,
    params: &SnapshotDiskParams,
) -> Result<ApiRequest<B>> {
    ApiRequest::post(devbox_path(devbox_id, "/snapshot_disk_async")).json(params)
}

/// `GET /v1/devboxes/disk_snapshots`: one page. Metadata filters become `metadata[key]=value`
/// and `metadata[key][in]=a,b` (values joined with commas, so a value in an `in` filter
/// cannot itself contain one).
pub fn list<B>(params: &SnapshotListParams) -> Result<ApiRequest<B>> {
    let mut query = to_query(&params.wire())?;
    for (key, filter) in params.metadata.iter().flatten() {
        match filter {
            MetadataFilter::Equals(value) => {
                query.push((format!("metadata[{key}]"), value.clone()))
            }
            MetadataFilter::AnyOf(values) => {
                query.push((format!("metadata[{key}][in]"), values.join(",")));
            }
        }
    }
    Ok(ApiRequest::get("/v1/devboxes/disk_snapshots").query(query))
}

/// `POST /v1/devboxes/disk_snapshots/{id}`.
pub fn update<B>(id: &str, params: &SnapshotDiskParams) -> Result<ApiRequest<B>> {
    ApiRequest::post(snapshot_path(id, "")).json(params)
}

/// `POST /v1/devboxes/disk_snapshots/{id}/delete`.
pub fn delete<B>(id: &str) -> ApiRequest<B> {
    ApiRequest::post(snapshot_path(id, "/delete"))
}

/// `GET /v1/devboxes/disk_snapshots/{id}/status`.
pub fn query_status<B>(id: &str) -> ApiRequest<B> {
    ApiRequest::get(snapshot_path(id, "/status"))
}

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
        let request = snapshot_disk(devbox_id, params)?;
        self.client.send_json(&request, options).await
    }

    /// `POST /v1/devboxes/{id}/snapshot_disk_async`: starts a snapshot and responds at once.
    pub async fn snapshot_disk_async(
        &self,
        devbox_id: &str,
        params: &SnapshotDiskParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxSnapshotView> {
        let request = snapshot_disk_async(devbox_id, params)?;
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
        waiter.report(ProgressEvent::new("starting").id(devbox_id));
        let started = self
            .snapshot_disk_async(devbox_id, params, &waiter.request_options())
            .await
            .map_err(|error| waiter.fail(error, "the snapshot to start"))?;

        let status = waiter.snapshot_completed(&started.id).await?;
        Ok(status.snapshot.unwrap_or(started))
    }

    /// `GET /v1/devboxes/disk_snapshots`: one page, newest first.
    pub async fn list(
        &self,
        params: &SnapshotListParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxSnapshotListView> {
        self.client.send_json(&list(params)?, options).await
    }

    /// Lists every page, following `starting_after` from the last item of each page until
    /// `has_more` is false or a page is empty. `params.limit` is the page size.
    pub async fn list_all(
        &self,
        params: &SnapshotListParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<Vec<DevboxSnapshotView>> {
        let mut params = params.clone();
        let mut snapshots = Vec::new();

        loop {
            let page = self.list(&params, options).await?;
            let cursor = next_cursor(
                page.snapshots.last().map(|snapshot| snapshot.id.as_str()),
                page.has_more,
                params.starting_after.as_deref(),
                "GET /v1/devboxes/disk_snapshots",
            )?;
            snapshots.extend(page.snapshots);
            match cursor {
                Some(cursor) => params.starting_after = Some(cursor),
                None => return Ok(snapshots),
            }
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
        self.client.send_json(&update(id, params)?, options).await
    }

    /// `POST /v1/devboxes/disk_snapshots/{id}/delete`. The response body is ignored.
    pub async fn delete(&self, id: &str, options: &RequestOptions<P::Signal>) -> Result<()> {
        self.client.send(&delete(id), options).await?;
        Ok(())
    }

    /// `GET /v1/devboxes/disk_snapshots/{id}/status`.
    pub async fn query_status(
        &self,
        id: &str,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxSnapshotAsyncStatusView> {
        self.client.send_json(&query_status(id), options).await
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
