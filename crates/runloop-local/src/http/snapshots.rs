//! Disk snapshot routes.

use axum::extract::State;
use axum::Json;
use runloop_types::{
    DevboxSnapshotAsyncStatusView, DevboxSnapshotListView, DevboxSnapshotView, SnapshotDiskParams,
};

use super::error::ApiError;
use super::extract::{JsonBody, PathParams, QueryParams};
use super::{snapshot_query, AppState};

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

/// `GET /v1/devboxes/disk_snapshots`, with the filters described in [`snapshot_query`].
pub async fn list(
    State(state): State<AppState>,
    QueryParams(pairs): QueryParams<Vec<(String, String)>>,
) -> Result<Json<DevboxSnapshotListView>, ApiError> {
    let query = snapshot_query::parse(pairs)?;
    Ok(Json(state.services.list_snapshots(
        &query.filter,
        query.source_blueprint_id.as_deref(),
        &query.list,
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
