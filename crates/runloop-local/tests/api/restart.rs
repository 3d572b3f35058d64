//! Restarts on the same data dir: after a clean shutdown and after a crash.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{devbox_cgroups, mounts_under, TestServer};

#[tokio::test]
async fn restart_keeps_snapshots() {
    let dir = tempfile::tempdir().expect("temporary data dir");

    let mut first = TestServer::start_in(dir.path());
    let source = first.create_running(json!({})).await;
    first.write_file(&source, "persisted.txt", "survives").await;
    let snapshot = first.snapshot(&source, json!({ "name": "keep" })).await;
    let snapshot_id = snapshot["id"].as_str().expect("id").to_owned();
    first.stop().await;

    let mut second = TestServer::start_in(dir.path());
    let (status, list) = second.get("/v1/devboxes/disk_snapshots").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["snapshots"][0]["id"], snapshot_id.as_str());
    assert_eq!(list["snapshots"][0]["name"], "keep");

    let (_, status) = second
        .get(&format!("/v1/devboxes/disk_snapshots/{snapshot_id}/status"))
        .await;
    assert_eq!(status["status"], "complete");

    let (_, old) = second.get(&format!("/v1/devboxes/{source}")).await;
    assert_eq!(old["status"], "shutdown");

    let restored = second
        .create_running(json!({ "snapshot_id": snapshot_id }))
        .await;
    assert_eq!(
        second.read_file(&restored, "persisted.txt").await,
        (StatusCode::OK, "survives".to_owned())
    );

    second.stop().await;
}

#[tokio::test]
async fn restart_after_crash_cleans_up() {
    let dir = tempfile::tempdir().expect("temporary data dir");

    let mut crashed = TestServer::start_in(dir.path());
    let orphan = crashed.create_running(json!({})).await;
    let started = crashed.exec(&orphan, "sleep 600 >/dev/null 2>&1 &").await;
    assert_eq!(started["exit_status"], 0);
    crashed.crash().await;
    assert!(
        !mounts_under(dir.path()).is_empty(),
        "the simulated crash should leave mounts behind"
    );
    assert!(!devbox_cgroups(&orphan).is_empty());

    let mut second = TestServer::start_in(dir.path());
    second.track(&orphan);
    let (status, view) = second.get(&format!("/v1/devboxes/{orphan}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "shutdown");
    assert!(devbox_cgroups(&orphan).is_empty());
    let stale_root = dir
        .path()
        .canonicalize()
        .expect("data dir exists")
        .join("devboxes")
        .join(&orphan);
    assert!(
        !stale_root.exists(),
        "{} survived the restart",
        stale_root.display()
    );

    let fresh = second.create_running(json!({})).await;
    let view = second.exec(&fresh, "echo ok").await;
    assert_eq!(view["stdout"], "ok\n");

    second.stop().await;
}
