//! Helpers shared by the snapshot tests: waiting for captures, reading the layer
//! directories and overlay mounts a server made, and servers with test settings.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use runloop_local::Config;
use serde_json::{json, Value};

use crate::common::{TestServer, TOKEN};

/// A server on a fresh temporary data dir, with `configure` applied to its settings.
pub struct ConfiguredServer {
    /// The running server.
    pub server: TestServer,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for ConfiguredServer {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl std::ops::DerefMut for ConfiguredServer {
    fn deref_mut(&mut self) -> &mut TestServer {
        &mut self.server
    }
}

/// Starts a server whose settings `configure` changes.
pub fn start_configured(configure: impl FnOnce(&mut Config)) -> ConfiguredServer {
    let dir = tempfile::tempdir().expect("temporary data dir can be created");
    let mut config = Config::new(dir.path(), TOKEN);
    configure(&mut config);
    ConfiguredServer {
        server: TestServer::start_with(config),
        _dir: dir,
    }
}

/// Returns the status view of snapshot `id`, asserting the call succeeded.
pub async fn snapshot_status(server: &TestServer, id: &str) -> Value {
    let (status, view) = server
        .get(&format!("/v1/devboxes/disk_snapshots/{id}/status"))
        .await;
    assert_eq!(status, StatusCode::OK, "status of {id}: {view}");
    view
}

/// Polls the status of snapshot `id` until it leaves `in_progress` and returns it.
pub async fn await_capture(server: &TestServer, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let view = snapshot_status(server, id).await;
        if view["status"] != "in_progress" {
            return view;
        }
        assert!(Instant::now() < deadline, "capture of {id} never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts an asynchronous capture of `devbox_id` and returns the snapshot's id.
pub async fn start_capture(server: &TestServer, devbox_id: &str, body: Value) -> String {
    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{devbox_id}/snapshot_disk_async"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "async snapshot failed: {view}");
    view["id"].as_str().expect("snapshot id").to_owned()
}

/// Returns the id of a snapshot view.
pub fn id_of(view: &Value) -> String {
    view["id"].as_str().expect("view has an id").to_owned()
}

/// Returns the ids of the snapshots in a list page, in order.
pub fn listed_ids(page: &Value) -> Vec<String> {
    page["snapshots"]
        .as_array()
        .unwrap_or_else(|| panic!("not a snapshot page: {page}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Returns the names of the finished layer directories in the server's data dir.
pub fn layer_dirs(server: &TestServer) -> BTreeSet<String> {
    layer_entries(server)
        .into_iter()
        .filter(|name| name.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

/// Returns the names of the staging directories of captures and squashes in progress.
pub fn staging_dirs(server: &TestServer) -> BTreeSet<String> {
    layer_entries(server)
        .into_iter()
        .filter(|name| name.starts_with("tmp-"))
        .collect()
}

fn layer_entries(server: &TestServer) -> Vec<String> {
    std::fs::read_dir(layers_path(server))
        .expect("layers dir exists")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Path of the server's layers directory.
pub fn layers_path(server: &TestServer) -> PathBuf {
    server
        .data_dir
        .canonicalize()
        .expect("data dir exists")
        .join("layers")
}

/// Takes a synchronous snapshot of `devbox_id` and returns it with the one layer
/// directory that appeared on disk during the capture.
pub async fn snapshot_with_layer(server: &TestServer, devbox_id: &str) -> (Value, String) {
    let before = layer_dirs(server);
    let view = server.snapshot(devbox_id, json!({})).await;
    let added: Vec<String> = layer_dirs(server).difference(&before).cloned().collect();
    assert_eq!(added.len(), 1, "one new layer per capture: {added:?}");
    (view, added[0].clone())
}

/// Returns the `lowerdir` entries of the overlay mounted as the root of `devbox_id`.
pub fn lower_layers(server: &TestServer, devbox_id: &str) -> Vec<String> {
    let root = server
        .data_dir
        .canonicalize()
        .expect("data dir exists")
        .join("devboxes")
        .join(devbox_id)
        .join("root");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let line = mountinfo
        .lines()
        .find(|line| line.split(' ').nth(4) == root.to_str())
        .unwrap_or_else(|| panic!("no mount at {}", root.display()));
    let options = line.rsplit(' ').next().expect("super options");
    let lower = options
        .split(',')
        .find_map(|option| option.strip_prefix("lowerdir="))
        .unwrap_or_else(|| panic!("no lowerdir in {options}"));
    lower.split(':').map(str::to_owned).collect()
}

/// Shuts down `devbox_id`, asserting success.
pub async fn shut_down(server: &TestServer, devbox_id: &str) {
    let (status, view) = server
        .post(&format!("/v1/devboxes/{devbox_id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "shutdown of {devbox_id}: {view}");
}

/// Deletes snapshot `id`, asserting success.
pub async fn delete_snapshot(server: &TestServer, id: &str) {
    let (status, view) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{id}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "delete of {id}: {view}");
}

/// Most output lines a test command returns; listings of whole trees are long.
const OUTPUT_LINES: usize = 1_000_000;

/// Runs `command` in `devbox_id` and returns its exit status and full stdout and stderr.
pub async fn run(server: &TestServer, devbox_id: &str, command: &str) -> (i64, String, String) {
    let (status, mut view) = server
        .post(
            &format!("/v1/devboxes/{devbox_id}/execute?last_n={OUTPUT_LINES}"),
            json!({ "command": command }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "execute failed: {view}");
    while view["status"] != "completed" {
        let execution_id = view["execution_id"].as_str().expect("execution id");
        let (status, next) = server
            .post(
                &format!(
                    "/v1/devboxes/{devbox_id}/executions/{execution_id}/wait_for_status?last_n={OUTPUT_LINES}"
                ),
                json!({ "statuses": ["completed"] }),
            )
            .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::REQUEST_TIMEOUT,
            "wait failed: {next}"
        );
        if status == StatusCode::OK {
            view = next;
        }
    }
    let text = |field: &str| view[field].as_str().unwrap_or_default().to_owned();
    (
        view["exit_status"].as_i64().expect("exit status"),
        text("stdout"),
        text("stderr"),
    )
}

/// Runs `command` in `devbox_id`, asserts it exited 0 and returns its stdout.
pub async fn run_ok(server: &TestServer, devbox_id: &str, command: &str) -> String {
    let (exit_status, stdout, stderr) = run(server, devbox_id, command).await;
    assert_eq!(
        exit_status, 0,
        "command failed in {devbox_id}: {command}\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}
