//! Disk snapshot routes.

use axum::extract::State;
use axum::Json;
use runloop_types::{
    DevboxSnapshotAsyncStatusView, DevboxSnapshotListView, DevboxSnapshotView, SnapshotDiskParams,
};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{JsonBody, PathParams, QueryParams};
use super::AppState;
use crate::services::ListQuery;

/// Query of `GET /v1/devboxes/disk_snapshots`. Other keys, such as `metadata[key]`
/// filters, are ignored.
#[derive(Deserialize)]
pub struct SnapshotListQuery {
    devbox_id: Option<String>,
    source_blueprint_id: Option<String>,
    limit: Option<u32>,
    starting_after: Option<String>,
    include_total_count: Option<bool>,
}

/// `POST /v1/devboxes/{id}/snapshot_disk`
pub async fn snapshot_disk(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<SnapshotDiskParams>,
) -> Result<Json<DevboxSnapshotView>, ApiError> {
    Ok(Json(
        state.services.snapshot_devbox(&id, params, true).await?,
    ))
}

/// `POST /v1/devboxes/{id}/snapshot_disk_async`
pub async fn snapshot_disk_async(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<SnapshotDiskParams>,
) -> Result<Json<DevboxSnapshotView>, ApiError> {
    Ok(Json(
        state.services.snapshot_devbox(&id, params, false).await?,
    ))
}

/// `GET /v1/devboxes/disk_snapshots`
pub async fn list(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<SnapshotListQuery>,
) -> Result<Json<DevboxSnapshotListView>, ApiError> {
    let query = ListQuery {
        limit: params.limit,
        starting_after: params.starting_after,
        include_total_count: params.include_total_count,
    };
    Ok(Json(state.services.list_snapshots(
        params.devbox_id.as_deref(),
        params.source_blueprint_id.as_deref(),
        &query,
    )?))
}

/// `POST /v1/devboxes/disk_snapshots/{id}`
pub async fn update(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<SnapshotDiskParams>,
) -> Result<Json<DevboxSnapshotView>, ApiError> {
    Ok(Json(state.services.update_snapshot(&id, params)?))
}

/// `POST /v1/devboxes/disk_snapshots/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<DevboxSnapshotView>, ApiError> {
    Ok(Json(state.services.delete_snapshot(&id).await?))
}

/// `GET /v1/devboxes/disk_snapshots/{id}/status`
pub async fn status(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<DevboxSnapshotAsyncStatusView>, ApiError> {
    Ok(Json(state.services.snapshot_status(&id)?))
}
