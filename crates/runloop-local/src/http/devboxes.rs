//! Devbox routes.

use axum::extract::State;
use axum::Json;
use runloop_types::{
    DevboxCreateParams, DevboxListParams, DevboxListView, DevboxLogsView, DevboxResourceUsageView,
    DevboxUpdateParams, DevboxView, DevboxWaitParams,
};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{parse_flag, JsonBody, PathParams, QueryParams};
use super::AppState;
use crate::services::ListQuery;

/// Query of `POST /v1/devboxes/{id}/shutdown`.
#[derive(Deserialize)]
pub struct ShutdownQuery {
    force: Option<String>,
}

/// Query of `GET /v1/devboxes/{id}/logs`.
#[derive(Deserialize)]
pub struct LogsQuery {
    execution_id: Option<String>,
    shell_name: Option<String>,
}

/// `POST /v1/devboxes`
pub async fn create(
    State(state): State<AppState>,
    JsonBody(params): JsonBody<DevboxCreateParams>,
) -> Result<Json<DevboxView>, ApiError> {
    Ok(Json(state.services.create_devbox(params).await?))
}

/// `POST /v1/devboxes/create_and_await_running`
pub async fn create_and_await_running(
    State(state): State<AppState>,
    JsonBody(params): JsonBody<DevboxCreateParams>,
) -> Result<Json<DevboxView>, ApiError> {
    Ok(Json(
        state
            .services
            .create_devbox_and_await_running(params)
            .await?,
    ))
}

/// `GET /v1/devboxes/{id}`
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<DevboxView>, ApiError> {
    Ok(Json(state.services.devbox(&id)?))
}

/// `GET /v1/devboxes`
pub async fn list(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<DevboxListParams>,
) -> Result<Json<DevboxListView>, ApiError> {
    let query = ListQuery {
        limit: params.limit,
        starting_after: params.starting_after,
        include_total_count: params.include_total_count,
    };
    Ok(Json(state.services.list_devboxes(params.status, &query)?))
}

/// `POST /v1/devboxes/{id}`
pub async fn update(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<DevboxUpdateParams>,
) -> Result<Json<DevboxView>, ApiError> {
    Ok(Json(state.services.update_devbox(&id, params)?))
}

/// `POST /v1/devboxes/{id}/wait_for_status`
pub async fn wait_for_status(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<DevboxWaitParams>,
) -> Result<Json<DevboxView>, ApiError> {
    Ok(Json(
        state.services.wait_for_devbox_status(&id, params).await?,
    ))
}

/// `POST /v1/devboxes/{id}/shutdown`
pub async fn shutdown(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    QueryParams(query): QueryParams<ShutdownQuery>,
) -> Result<Json<DevboxView>, ApiError> {
    let force = parse_flag("force", query.force.as_deref())?;
    Ok(Json(state.services.shut_down_devbox(&id, force).await?))
}

/// `POST /v1/devboxes/{id}/suspend`: returns the devbox `suspending`.
pub async fn suspend(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<DevboxView>, ApiError> {
    Ok(Json(state.services.suspend_devbox(&id)?))
}

/// `POST /v1/devboxes/{id}/resume`: returns the devbox `running`.
pub async fn resume(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<DevboxView>, ApiError> {
    Ok(Json(state.services.resume_devbox(&id).await?))
}

/// `POST /v1/devboxes/{id}/keep_alive`: returns `{}`, because the hosted API documents no
/// response shape.
pub async fn keep_alive(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.services.keep_devbox_alive(&id)?;
    Ok(Json(serde_json::json!({})))
}

/// `GET /v1/devboxes/{id}/usage`
pub async fn usage(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<DevboxResourceUsageView>, ApiError> {
    Ok(Json(state.services.devbox_usage(&id)?))
}

/// `GET /v1/devboxes/{id}/logs`
pub async fn logs(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    QueryParams(query): QueryParams<LogsQuery>,
) -> Result<Json<DevboxLogsView>, ApiError> {
    Ok(Json(state.services.devbox_logs(
        &id,
        query.execution_id.as_deref(),
        query.shell_name.as_deref(),
    )?))
}
