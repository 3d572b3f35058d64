//! Snapshot captures: status changes, the server-side deadline, consistency while the
//! devbox writes, and the size of a layer.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;
use crate::snapshot_support::{
    await_capture, id_of, layer_dirs, run_ok, snapshot_status, staging_dirs, start_capture,
    start_configured,
};

#[tokio::test]
async fn async_capture_goes_in_progress_then_complete() {
    let mut server = start_configured(|config| config.capture_delay = Duration::from_secs(1));
    let source = server.create_running(json!({})).await;
    run_ok(&server, &source, "echo kept > /home/user/kept").await;

    let snapshot_id = start_capture(&server, &source, json!({ "name": "slow" })).await;
    let during = snapshot_status(&server, &snapshot_id).await;
    assert_eq!(during["status"], "in_progress", "{during}");
    assert!(during.get("snapshot").is_none(), "{during}");
    assert!(during.get("error_message").is_none(), "{during}");

    let done = await_capture(&server, &snapshot_id).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["snapshot"]["id"], snapshot_id.as_str());
    assert_eq!(done["snapshot"]["name"], "slow");
    assert!(done["snapshot"]["size_bytes"].as_u64().is_some(), "{done}");

    let restored = server
        .create_running(json!({ "snapshot_id": snapshot_id }))
        .await;
    assert_eq!(
        run_ok(&server, &restored, "cat /home/user/kept").await,
        "kept\n"
    );
    server.stop().await;
}

#[tokio::test]
async fn sync_capture_returns_complete_snapshot() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;

    let view = server
        .snapshot(&source, json!({ "name": "now", "metadata": { "k": "v" } }))
        .await;
    assert_eq!(view["source_devbox_id"], source.as_str());
    assert_eq!(view["metadata"], json!({ "k": "v" }));
    assert!(view["size_bytes"].as_u64().is_some(), "{view}");

    let status = snapshot_status(&server, &id_of(&view)).await;
    assert_eq!(status["status"], "complete");
    assert_eq!(status["snapshot"], view);
    server.stop().await;
}

#[tokio::test]
async fn capture_past_deadline_fails_cleanly() {
    let mut server = start_configured(|config| {
        config.snapshot_timeout = Duration::from_secs(2);
        config.capture_delay = Duration::from_secs(600);
    });
    let source = server.create_running(json!({})).await;
    run_ok(
        &server,
        &source,
        "head -c 1000000 /dev/urandom > /home/user/data",
    )
    .await;

    let snapshot_id = start_capture(&server, &source, json!({})).await;
    // The injected delay keeps the capture between its copy and its rename, so the partial
    // layer is on disk while the status is in_progress.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while staging_dirs(&server).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the capture never wrote its staging directory"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        snapshot_status(&server, &snapshot_id).await["status"],
        "in_progress"
    );

    let failed = await_capture(&server, &snapshot_id).await;
    assert_eq!(failed["status"], "error", "{failed}");
    let message = failed["error_message"].as_str().expect("error message");
    assert!(message.contains("--snapshot-timeout"), "{message}");
    assert!(failed.get("snapshot").is_none(), "{failed}");
    assert!(
        staging_dirs(&server).is_empty(),
        "{:?}",
        staging_dirs(&server)
    );
    assert!(layer_dirs(&server).is_empty(), "{:?}", layer_dirs(&server));

    // The devbox was thawed and keeps working.
    assert_eq!(run_ok(&server, &source, "echo alive").await, "alive\n");

    let (status, body) = server
        .post(&format!("/v1/devboxes/{source}/snapshot_disk"), json!({}))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("time limit"), "{message}");

    let (status, body) = server
        .post("/v1/devboxes", json!({ "snapshot_id": snapshot_id }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn capture_keeps_writes_whole_and_complete() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    // One `printf` per line: each line is a single write(2) of 100 bytes.
    run_ok(
        &server,
        &source,
        "nohup bash -c 'i=0; pad=$(printf %090d 0); \
         while :; do printf \"%08d %s\\n\" $i $pad >> /home/user/log; i=$((i+1)); done' \
         >/dev/null 2>&1 &",
    )
    .await;

    for wait_for_async in [false, true] {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let written = loop {
            let lines: u64 = run_ok(&server, &source, "cat /home/user/log 2>/dev/null | wc -l")
                .await
                .trim()
                .parse()
                .expect("line count");
            if lines >= 2000 {
                break lines;
            }
            assert!(std::time::Instant::now() < deadline, "the writer is stuck");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };

        let snapshot_id = if wait_for_async {
            let id = start_capture(&server, &source, json!({})).await;
            assert_eq!(await_capture(&server, &id).await["status"], "complete");
            id
        } else {
            id_of(&server.snapshot(&source, json!({})).await)
        };
        let restored = server
            .create_running(json!({ "snapshot_id": snapshot_id }))
            .await;
        let check = run_ok(
            &server,
            &restored,
            "f=/home/user/log; [ \"$(tail -c 1 $f | od -An -c | tr -d ' ')\" = '\\n' ] && \
             echo ends-on-newline; \
             awk 'length($0) != 99 || $1 + 0 != NR - 1 { bad++ } END { print NR, bad + 0 }' $f",
        )
        .await;
        let mut lines = check.lines();
        assert_eq!(lines.next(), Some("ends-on-newline"), "{check}");
        let counts: Vec<u64> = lines
            .next()
            .expect("awk output")
            .split(' ')
            .map(|count| count.parse().expect("number"))
            .collect();
        assert!(
            counts[0] >= written,
            "the snapshot has {} lines, but {written} were written before the call",
            counts[0]
        );
        assert_eq!(counts[1], 0, "malformed or missing lines: {check}");
    }
    server.stop().await;
}

#[tokio::test]
async fn size_bytes_counts_own_layer_data() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    run_ok(
        &server,
        &source,
        "head -c 1048576 /dev/urandom > /home/user/data && ln /home/user/data /home/user/link && \
         truncate -s 1G /home/user/sparse",
    )
    .await;
    let first = server.snapshot(&source, json!({})).await;
    let size = first["size_bytes"].as_u64().expect("size");
    assert!(
        (1_048_576..1_048_576 + 64 * 1024).contains(&size),
        "1 MiB of data, counted once despite the hard link and without the sparse hole: {size}"
    );

    let child = server
        .create_running(json!({ "snapshot_id": first["id"] }))
        .await;
    run_ok(
        &server,
        &child,
        "rm /home/user/data /home/user/link && printf 12345 > /home/user/small",
    )
    .await;
    let second = server.snapshot(&child, json!({})).await;
    let size = second["size_bytes"].as_u64().expect("size");
    assert!(
        (5..4096).contains(&size),
        "the second layer holds only its own 5 bytes and two whiteouts: {size}"
    );
    server.stop().await;
}

#[tokio::test]
async fn commit_message_length_is_limited() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    let longest = "é".repeat(1000);

    let view = server
        .snapshot(&source, json!({ "commit_message": longest }))
        .await;
    assert_eq!(view["commit_message"], longest.as_str());

    for path in ["snapshot_disk", "snapshot_disk_async"] {
        let (status, body) = server
            .post(
                &format!("/v1/devboxes/{source}/{path}"),
                json!({ "commit_message": "x".repeat(1001) }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let message = body["message"].as_str().expect("message");
        assert!(message.contains("1001 characters"), "{message}");
    }
    let (_, list) = server.get("/v1/devboxes/disk_snapshots").await;
    assert_eq!(list["total_count"], 1, "rejected captures create nothing");
    server.stop().await;
}
