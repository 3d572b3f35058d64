//! Snapshots across restarts: completed ones stay intact and usable after a crash, and a
//! capture in progress at the crash ends as `error` with its partial layer removed.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use runloop_local::Config;
use serde_json::json;

use crate::common::{TestServer, TOKEN};
use crate::snapshot_support::{
    id_of, layer_dirs, run_ok, snapshot_status, snapshot_with_layer, staging_dirs, start_capture,
};

#[tokio::test]
async fn crash_during_capture_ends_it_as_error() {
    let dir = tempfile::tempdir().expect("temporary data dir");

    let mut first = TestServer::start_in(dir.path());
    let source = first.create_running(json!({})).await;
    run_ok(&first, &source, "echo durable > /home/user/kept").await;
    let (complete, complete_layer) = snapshot_with_layer(&first, &source).await;
    first.stop().await;

    let mut slow_config = Config::new(dir.path(), TOKEN);
    slow_config.capture_delay = Duration::from_secs(600);
    let mut crashing = TestServer::start_with(slow_config);
    let restored = crashing
        .create_running(json!({ "snapshot_id": complete["id"] }))
        .await;
    run_ok(&crashing, &restored, "echo lost > /home/user/lost").await;
    let interrupted = start_capture(&crashing, &restored, json!({ "name": "interrupted" })).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while staging_dirs(&crashing).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the capture never started copying"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        snapshot_status(&crashing, &interrupted).await["status"],
        "in_progress"
    );
    crashing.crash().await;
    let left_behind = staging_dirs(&crashing);

    // The restart removes what the crash left, so it runs before any check can fail.
    let mut after = TestServer::start_in(dir.path());
    after.track(&restored);
    assert!(
        !left_behind.is_empty(),
        "the crash should leave the partial layer behind"
    );
    let failed = snapshot_status(&after, &interrupted).await;
    assert_eq!(failed["status"], "error", "{failed}");
    let message = failed["error_message"].as_str().expect("error message");
    assert!(message.contains("server stopped"), "{message}");
    assert!(
        staging_dirs(&after).is_empty(),
        "{:?}",
        staging_dirs(&after)
    );
    assert_eq!(
        layer_dirs(&after).into_iter().collect::<Vec<_>>(),
        [complete_layer],
        "only the completed snapshot's layer is left"
    );

    let intact = snapshot_status(&after, &id_of(&complete)).await;
    assert_eq!(intact["status"], "complete");
    assert_eq!(intact["snapshot"], complete);
    let (_, page) = after.get("/v1/devboxes/disk_snapshots").await;
    assert_eq!(page["total_count"], 2, "{page}");

    let again = after
        .create_running(json!({ "snapshot_id": complete["id"] }))
        .await;
    assert_eq!(
        run_ok(
            &after,
            &again,
            "cat /home/user/kept; test -e /home/user/lost || echo no-lost"
        )
        .await,
        "durable\nno-lost\n"
    );
    let (status, body) = after
        .post("/v1/devboxes", json!({ "snapshot_id": interrupted }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let fresh = after.snapshot(&again, json!({})).await;
    assert!(fresh["size_bytes"].as_u64().is_some(), "{fresh}");
    after.stop().await;
}
