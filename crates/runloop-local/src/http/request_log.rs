//! One structured log line per request: method, matched route, status, devbox id and
//! duration. Failures also get their own line with the cause, from the error mapping.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Path segments at the devbox-id level that name a route, not a devbox.
const LITERAL_SEGMENTS: [&str; 2] = ["disk_snapshots", "create_and_await_running"];

/// Logs the request at info level once its response headers are ready. For a long poll
/// or a stream, the duration therefore covers the hold, and for a stream only until the
/// first byte.
pub async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let devbox_id = devbox_id_of(request.uri().path()).unwrap_or_default();
    let started = Instant::now();

    let response = next.run(request).await;

    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        devbox_id,
        duration_ms = format!("{duration_ms:.1}"),
        "request"
    );
    response
}

/// Returns the devbox id of a `/v1/devboxes/{id}/...` path.
fn devbox_id_of(path: &str) -> Option<String> {
    let mut segments = path.trim_start_matches('/').split('/');
    let prefix = (segments.next(), segments.next());
    if prefix != (Some("v1"), Some("devboxes")) {
        return None;
    }
    segments
        .next()
        .filter(|id| !id.is_empty() && !LITERAL_SEGMENTS.contains(id))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::devbox_id_of;

    #[test]
    fn devbox_id_from_paths() {
        assert_eq!(
            devbox_id_of("/v1/devboxes/dbx_1/execute").as_deref(),
            Some("dbx_1")
        );
        assert_eq!(devbox_id_of("/v1/devboxes/dbx_1").as_deref(), Some("dbx_1"));
        assert_eq!(devbox_id_of("/v1/devboxes"), None);
        assert_eq!(
            devbox_id_of("/v1/devboxes/disk_snapshots/snp_1/status"),
            None
        );
        assert_eq!(devbox_id_of("/v1/devboxes/create_and_await_running"), None);
        assert_eq!(devbox_id_of("/playground/index.html"), None);
    }
}
