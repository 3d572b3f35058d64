//! Execution routes.

use axum::extract::State;
use axum::Json;
use runloop_types::{
    DevboxAsyncExecutionDetailView, DevboxExecutionDetailView, ExecuteAsyncParams, ExecuteParams,
    ExecutionKillParams, ExecutionWaitParams, SendStdInParams, SendStdInResult,
};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{parse_last_n, JsonBody, PathParams, QueryParams};
use super::AppState;

/// Query carrying the number of trailing output lines to return.
#[derive(Deserialize)]
pub struct LastNQuery {
    last_n: Option<String>,
}

/// `POST /v1/devboxes/{id}/execute`
pub async fn execute(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    QueryParams(query): QueryParams<LastNQuery>,
    JsonBody(params): JsonBody<ExecuteParams>,
) -> Result<Json<DevboxAsyncExecutionDetailView>, ApiError> {
    let last_n = parse_last_n(query.last_n.as_deref())?;
    Ok(Json(state.services.execute(&id, params, last_n).await?))
}

/// `POST /v1/devboxes/{id}/execute_async`
pub async fn execute_async(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<ExecuteAsyncParams>,
) -> Result<Json<DevboxAsyncExecutionDetailView>, ApiError> {
    Ok(Json(state.services.execute_async(&id, params).await?))
}

/// `POST /v1/devboxes/{id}/execute_sync`
pub async fn execute_sync(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(params): JsonBody<ExecuteAsyncParams>,
) -> Result<Json<DevboxExecutionDetailView>, ApiError> {
    Ok(Json(state.services.execute_sync(&id, params).await?))
}

/// `GET /v1/devboxes/{id}/executions/{execution_id}`
pub async fn get(
    State(state): State<AppState>,
    PathParams((id, execution_id)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<LastNQuery>,
) -> Result<Json<DevboxAsyncExecutionDetailView>, ApiError> {
    let last_n = parse_last_n(query.last_n.as_deref())?;
    Ok(Json(state.services.execution(
        &id,
        &execution_id,
        last_n,
    )?))
}

/// `POST /v1/devboxes/{id}/executions/{execution_id}/wait_for_status`
pub async fn wait_for_status(
    State(state): State<AppState>,
    PathParams((id, execution_id)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<LastNQuery>,
    JsonBody(params): JsonBody<ExecutionWaitParams>,
) -> Result<Json<DevboxAsyncExecutionDetailView>, ApiError> {
    let last_n = parse_last_n(query.last_n.as_deref())?;
    Ok(Json(
        state
            .services
            .wait_for_execution_status(&id, &execution_id, params, last_n)
            .await?,
    ))
}

/// `POST /v1/devboxes/{id}/executions/{execution_id}/kill`
pub async fn kill(
    State(state): State<AppState>,
    PathParams((id, execution_id)): PathParams<(String, String)>,
    JsonBody(params): JsonBody<ExecutionKillParams>,
) -> Result<Json<DevboxAsyncExecutionDetailView>, ApiError> {
    Ok(Json(
        state
            .services
            .kill_execution(&id, &execution_id, params)
            .await?,
    ))
}

/// `POST /v1/devboxes/{id}/executions/{execution_id}/send_std_in`
pub async fn send_std_in(
    State(state): State<AppState>,
    PathParams((id, execution_id)): PathParams<(String, String)>,
    JsonBody(params): JsonBody<SendStdInParams>,
) -> Result<Json<SendStdInResult>, ApiError> {
    Ok(Json(
        state
            .services
            .send_std_in(&id, &execution_id, params)
            .await?,
    ))
}
