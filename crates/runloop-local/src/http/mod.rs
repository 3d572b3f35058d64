//! HTTP routes: parse and validate requests, call a service, and map the result or error to
//! the wire format. No file system or process work happens here.

mod activity;
mod auth;
mod cors;
mod devboxes;
mod error;
mod executions;
mod extract;
mod files;
mod playground;
mod request_log;
mod snapshot_query;
mod snapshots;
mod streams;
mod transfer;

use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::config::Config;
use crate::services::Services;
use error::ApiError;

/// Shared state of every handler: the services, the API token and the browser settings.
#[derive(Clone)]
pub struct AppState {
    services: Arc<Services>,
    token: Arc<str>,
    cors: cors::AllowedOrigins,
    playground_dir: Option<Arc<PathBuf>>,
}

impl AppState {
    /// Bundles the services with the token and browser settings of `config`; fails on a CORS
    /// origin that is not a valid header value.
    pub(crate) fn new(services: Arc<Services>, config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            services,
            token: Arc::from(config.token.as_str()),
            cors: cors::AllowedOrigins::parse(&config.cors_origins)?,
            playground_dir: config.playground_dir.clone().map(Arc::new),
        })
    }
}

/// Checks every `--cors-origin` value, so a server with an invalid one fails before it
/// mounts anything.
pub(crate) fn check_cors_origins(origins: &[String]) -> anyhow::Result<()> {
    cors::AllowedOrigins::parse(origins).map(|_| ())
}

/// Builds the router of the Runloop REST API subset this server implements.
///
/// Every route, including unknown ones, requires the bearer token. Every error, including
/// unknown routes, wrong methods and panics, is a JSON body with a `message`.
pub fn router(state: AppState) -> Router {
    let devbox_routes = Router::new()
        .route("/v1/devboxes", post(devboxes::create).get(devboxes::list))
        .route(
            "/v1/devboxes/create_and_await_running",
            post(devboxes::create_and_await_running),
        )
        .route(
            "/v1/devboxes/{id}",
            get(devboxes::get).post(devboxes::update),
        )
        .route(
            "/v1/devboxes/{id}/wait_for_status",
            post(devboxes::wait_for_status),
        )
        .route("/v1/devboxes/{id}/shutdown", post(devboxes::shutdown))
        .route("/v1/devboxes/{id}/suspend", post(devboxes::suspend))
        .route("/v1/devboxes/{id}/resume", post(devboxes::resume))
        .route("/v1/devboxes/{id}/keep_alive", post(devboxes::keep_alive))
        .route("/v1/devboxes/{id}/usage", get(devboxes::usage))
        .route("/v1/devboxes/{id}/logs", get(devboxes::logs));

    let execution_routes = Router::new()
        .route("/v1/devboxes/{id}/execute", post(executions::execute))
        .route(
            "/v1/devboxes/{id}/execute_async",
            post(executions::execute_async),
        )
        .route(
            "/v1/devboxes/{id}/execute_sync",
            post(executions::execute_sync),
        )
        .route(
            "/v1/devboxes/{id}/executions/{execution_id}",
            get(executions::get),
        )
        .route(
            "/v1/devboxes/{id}/executions/{execution_id}/wait_for_status",
            post(executions::wait_for_status),
        )
        .route(
            "/v1/devboxes/{id}/executions/{execution_id}/kill",
            post(executions::kill),
        )
        .route(
            "/v1/devboxes/{id}/executions/{execution_id}/send_std_in",
            post(executions::send_std_in),
        )
        .route(
            "/v1/devboxes/{id}/executions/{execution_id}/stream_stdout_updates",
            get(streams::stdout),
        )
        .route(
            "/v1/devboxes/{id}/executions/{execution_id}/stream_stderr_updates",
            get(streams::stderr),
        );

    let file_routes = Router::new()
        .route("/v1/devboxes/{id}/read_file_contents", post(files::read))
        .route("/v1/devboxes/{id}/write_file_contents", post(files::write))
        .route(
            "/v1/devboxes/{id}/upload_file",
            post(transfer::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/devboxes/{id}/download_file", post(transfer::download));

    let snapshot_routes = Router::new()
        .route(
            "/v1/devboxes/{id}/snapshot_disk",
            post(snapshots::snapshot_disk),
        )
        .route(
            "/v1/devboxes/{id}/snapshot_disk_async",
            post(snapshots::snapshot_disk_async),
        )
        .route("/v1/devboxes/disk_snapshots", get(snapshots::list))
        .route("/v1/devboxes/disk_snapshots/{id}", post(snapshots::update))
        .route(
            "/v1/devboxes/disk_snapshots/{id}/delete",
            post(snapshots::delete),
        )
        .route(
            "/v1/devboxes/disk_snapshots/{id}/status",
            get(snapshots::status),
        );

    let api = Router::new()
        .merge(devbox_routes)
        .merge(execution_routes)
        .merge(file_routes)
        .merge(snapshot_routes)
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.clone(), activity::track))
        .layer(from_fn_with_state(state.clone(), auth::require_bearer));

    // Pages are public and outside auth; CORS wraps both, so that preflights, which carry
    // no token, are handled before auth runs.
    let pages = match &state.playground_dir {
        Some(dir) => playground::routes(dir),
        None => Router::new(),
    };
    pages
        .merge(api)
        .layer(from_fn_with_state(state.clone(), cors::apply))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(request_log::log_request))
        .with_state(state)
}

async fn route_not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown cause");
    tracing::error!(panic = detail, "request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error: the request handler panicked ({detail})"),
    )
    .into_response()
}
