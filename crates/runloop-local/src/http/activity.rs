//! Marks requests that use a devbox as activity for its idle timer (`after_idle`).
//!
//! A request counts while it runs and when it ends. Requests that only observe a devbox
//! (retrieve, list, `wait_for_status`, `usage`, `logs`, execution reads and waits) do not
//! count, nor do lifecycle calls (`suspend`, `resume`, `shutdown`), so that polling a
//! devbox never keeps it awake. The body of a download is sent after the request ends
//! here, so a long download counts only until its headers are sent.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Actions at `/v1/devboxes/{id}/{action}` that use the devbox.
const DEVBOX_ACTIONS: [&str; 10] = [
    "execute",
    "execute_async",
    "execute_sync",
    "read_file_contents",
    "write_file_contents",
    "upload_file",
    "download_file",
    "keep_alive",
    "snapshot_disk",
    "snapshot_disk_async",
];

/// Actions at `/v1/devboxes/{id}/executions/{execution_id}/{action}` that use the devbox.
const EXECUTION_ACTIONS: [&str; 2] = ["kill", "send_std_in"];

/// Middleware that holds an activity guard on the devbox a request uses until the request
/// ends.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let guard = devbox_in_use(request.method(), request.uri().path())
        .and_then(|id| state.services.begin_devbox_request(id));
    let response = next.run(request).await;
    drop(guard);
    response
}

/// Returns the id of the devbox that a request to `path` uses, if it uses one.
fn devbox_in_use<'a>(method: &Method, path: &'a str) -> Option<&'a str> {
    if method != Method::POST {
        return None;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "devboxes", id, action] if DEVBOX_ACTIONS.contains(action) => Some(id),
        ["v1", "devboxes", id, "executions", _, action] if EXECUTION_ACTIONS.contains(action) => {
            Some(id)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_files_count() {
        let post = Method::POST;
        assert_eq!(
            devbox_in_use(&post, "/v1/devboxes/dbx_1/execute"),
            Some("dbx_1")
        );
        assert_eq!(
            devbox_in_use(&post, "/v1/devboxes/dbx_1/upload_file"),
            Some("dbx_1")
        );
        assert_eq!(
            devbox_in_use(&post, "/v1/devboxes/dbx_1/executions/exe_1/kill"),
            Some("dbx_1")
        );
    }

    #[test]
    fn observing_and_lifecycle_calls_do_not_count() {
        let post = Method::POST;
        for path in [
            "/v1/devboxes/dbx_1/wait_for_status",
            "/v1/devboxes/dbx_1/suspend",
            "/v1/devboxes/dbx_1/resume",
            "/v1/devboxes/dbx_1/shutdown",
            "/v1/devboxes/dbx_1",
            "/v1/devboxes/dbx_1/executions/exe_1/wait_for_status",
        ] {
            assert_eq!(devbox_in_use(&post, path), None, "{path}");
        }
        assert_eq!(devbox_in_use(&Method::GET, "/v1/devboxes/dbx_1/logs"), None);
    }
}
