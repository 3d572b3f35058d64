//! Waits and multi-request flows: devbox creation, command execution, snapshots and paging.

use runloop_types::{DevboxCreateParams, ExecuteParams, SnapshotDiskParams};
use serde_json::json;

use super::fake::{block_on, client};
use crate::client::RequestOptions;
use crate::error::{Error, PollState};
use crate::resources::snapshots::SnapshotListParams;
use crate::wait::{poll_delay_ms, WaitOptions};

fn devbox_json(id: &str, status: &str) -> serde_json::Value {
    json!({ "id": id, "status": status, "create_time_ms": 1, "end_time_ms": null })
}

fn execution_json(
    status: &str,
    exit_status: Option<i32>,
    stdout: Option<&str>,
) -> serde_json::Value {
    json!({
        "devbox_id": "dbx_1",
        "execution_id": "exe_1",
        "status": status,
        "exit_status": exit_status,
        "stdout": stdout,
        "stderr": stdout.map(|_| ""),
        "stdout_truncated": false,
        "stderr_truncated": false,
        "shell_name": null,
    })
}

fn snapshot_json(id: &str, name: &str) -> serde_json::Value {
    json!({
        "id": id,
        "create_time_ms": 5,
        "metadata": {},
        "source_devbox_id": "dbx_1",
        "name": name,
        "commit_message": null,
        "size_bytes": null,
        "source_blueprint_id": null,
    })
}

fn no_limit() -> WaitOptions<super::fake::FakeSignal> {
    WaitOptions::default()
}

#[test]
fn create_returns_running_devbox_at_once() {
    let client = client();
    client
        .platform()
        .push_json(200, devbox_json("dbx_1", "running"));
    let params = DevboxCreateParams {
        name: Some("box".to_owned()),
        ..DevboxCreateParams::default()
    };

    let view = block_on(
        client
            .devboxes()
            .create_and_await_running(&params, &no_limit()),
    )
    .unwrap();

    assert_eq!(view.id, "dbx_1");
    let fake = client.platform();
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        fake.request(0).url,
        "http://api.test/v1/devboxes/create_and_await_running"
    );
    assert_eq!(fake.request_body(0), json!({ "name": "box" }));
    assert_eq!(
        fake.request(0).timeout_ms,
        40_000,
        "the attempt covers the server's hold"
    );
}

#[test]
fn create_long_polls_until_running() {
    let client = client();
    let fake = client.platform();
    fake.push_json(200, devbox_json("dbx_1", "provisioning"));
    fake.push_json(408, json!({ "message": "not yet" }));
    fake.push_json(200, devbox_json("dbx_1", "running"));

    let view = block_on(
        client
            .devboxes()
            .create_and_await_running(&DevboxCreateParams::default(), &no_limit()),
    )
    .unwrap();

    assert_eq!(view.status.as_str(), "running");
    assert_eq!(fake.request_count(), 3);
    let poll = fake.request(1);
    assert_eq!(
        poll.url,
        "http://api.test/v1/devboxes/dbx_1/wait_for_status"
    );
    assert_eq!(
        fake.request_body(1),
        json!({ "statuses": ["running", "failure", "shutdown"], "timeout_seconds": 30.0 })
    );
    assert_eq!(poll.timeout_ms, 40_000);
    assert!(fake.sleeps.borrow().is_empty(), "a 408 polls again at once");
}

#[test]
fn await_running_rejects_failed_devbox() {
    let client = client();
    client
        .platform()
        .push_json(200, devbox_json("dbx_1", "failure"));

    let result = block_on(client.devboxes().await_running("dbx_1", &no_limit()));

    let error = result.unwrap_err();
    assert!(
        matches!(&error, Error::DevboxNotRunning { id, status } if id == "dbx_1" && status == "failure"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "Devbox dbx_1 is in non-running state failure"
    );
}

#[test]
fn await_running_pauses_on_early_answers() {
    let client = client();
    let fake = client.platform();
    fake.push_json(200, devbox_json("dbx_1", "initializing"));
    fake.push_json(200, devbox_json("dbx_1", "initializing"));
    fake.push_json(200, devbox_json("dbx_1", "running"));

    block_on(client.devboxes().await_running("dbx_1", &no_limit())).unwrap();

    assert_eq!(*fake.sleeps.borrow(), vec![10, 20]);
}

#[test]
fn await_running_times_out_with_last_state() {
    let client = client();
    let fake = client.platform();
    fake.latency_ms.set(10_000.0);
    fake.push_json(200, devbox_json("dbx_1", "provisioning"));
    fake.push_json(408, json!({}));
    fake.push_json(408, json!({}));
    let options = WaitOptions {
        timeout_ms: Some(25_000),
        signal: None,
        progress: None,
    };

    let result = block_on(
        client
            .devboxes()
            .create_and_await_running(&DevboxCreateParams::default(), &options),
    );

    let Err(Error::PollingTimeout(timeout)) = result else {
        panic!("expected a polling timeout, got {result:?}");
    };
    assert_eq!(
        timeout.message,
        "Timed out after 25000 ms waiting for devbox dbx_1 to be running (last status: provisioning)"
    );
    let Some(PollState::Devbox(last)) = timeout.last else {
        panic!("expected the last devbox view");
    };
    assert_eq!(last.status.as_str(), "provisioning");
    // The second long poll may only use what is left of the 25 s.
    assert_eq!(fake.request(2).timeout_ms, 5_000);
    assert_eq!(fake.request_body(2)["timeout_seconds"], json!(5.0));
    assert_eq!(fake.unused_outcomes(), 0);
}

#[test]
fn attempt_timeout_at_deadline_becomes_polling_timeout() {
    let client = client();
    let fake = client.platform();
    fake.push_failure(crate::platform::TransportError::Timeout);
    let options = WaitOptions {
        timeout_ms: Some(3_000),
        signal: None,
        progress: None,
    };

    let result = block_on(client.devboxes().await_running("dbx_1", &options));

    let error = result.unwrap_err();
    assert_eq!(error.class_name(), "PollingTimeoutError", "{error:?}");
    assert_eq!(fake.request(0).timeout_ms, 3_000);
}

#[test]
fn exec_sends_command_id_and_polls() {
    let client = client();
    let fake = client.platform();
    fake.push_json(200, execution_json("running", None, None));
    fake.push_json(408, json!({}));
    fake.push_json(200, execution_json("completed", Some(0), Some("hi\n")));
    let params = ExecuteParams {
        command: "echo hi".to_owned(),
        command_id: None,
        optimistic_timeout: None,
        shell_name: None,
    };

    let view = block_on(client.executions().execute_and_await_completion(
        "dbx_1",
        params,
        Some(5),
        &no_limit(),
    ))
    .unwrap();

    assert_eq!(view.exit_status, Some(0));
    assert_eq!(view.stdout.as_deref(), Some("hi\n"));

    let execute = fake.request(0);
    assert_eq!(
        execute.url,
        "http://api.test/v1/devboxes/dbx_1/execute?last_n=5"
    );
    assert_eq!(execute.timeout_ms, 35_000);
    let body = fake.request_body(0);
    assert_eq!(body["command"], json!("echo hi"));
    let command_id = body["command_id"].as_str().expect("command_id is set");
    assert_eq!(command_id.len(), 36);
    assert_eq!(
        &command_id[14..15],
        "7",
        "command_id is a UUIDv7: {command_id}"
    );

    assert_eq!(
        fake.request(1).url,
        "http://api.test/v1/devboxes/dbx_1/executions/exe_1/wait_for_status?last_n=5"
    );
    assert_eq!(
        fake.request_body(1),
        json!({ "statuses": ["completed"], "timeout_seconds": 25.0 })
    );
    assert_eq!(fake.request_count(), 3);
}

#[test]
fn exec_timeout_keeps_last_execution_state() {
    let client = client();
    let fake = client.platform();
    fake.latency_ms.set(4_000.0);
    fake.push_json(200, execution_json("running", None, None));
    fake.push_json(408, json!({}));
    let params = ExecuteParams {
        command: "sleep 100".to_owned(),
        command_id: Some("cmd_fixed".to_owned()),
        optimistic_timeout: None,
        shell_name: None,
    };
    let options = WaitOptions {
        timeout_ms: Some(8_000),
        signal: None,
        progress: None,
    };

    let result = block_on(
        client
            .executions()
            .execute_and_await_completion("dbx_1", params, None, &options),
    );

    let Err(Error::PollingTimeout(timeout)) = result else {
        panic!("expected a polling timeout, got {result:?}");
    };
    assert!(
        matches!(timeout.last, Some(PollState::Execution(ref view)) if view.execution_id == "exe_1")
    );
    let body = fake.request_body(0);
    assert_eq!(body["command_id"], json!("cmd_fixed"));
    assert_eq!(
        body["optimistic_timeout"],
        json!(4.0),
        "half of the 8 s allowed"
    );
}

#[test]
fn snapshot_poll_backs_off_until_complete() {
    let client = client();
    let fake = client.platform();
    for _ in 0..3 {
        fake.push_json(200, json!({ "status": "in_progress" }));
    }
    fake.push_json(
        200,
        json!({ "status": "complete", "snapshot": snapshot_json("snp_1", "a") }),
    );

    let status = block_on(client.snapshots().await_completed("snp_1", &no_limit())).unwrap();

    assert_eq!(
        status.snapshot.map(|view| view.id).as_deref(),
        Some("snp_1")
    );
    assert_eq!(*fake.sleeps.borrow(), vec![10, 20, 40]);
    assert_eq!(
        fake.request(0).url,
        "http://api.test/v1/devboxes/disk_snapshots/snp_1/status"
    );
}

#[test]
fn snapshot_poll_delay_levels_off() {
    let delays: Vec<u64> = (0..8).map(poll_delay_ms).collect();

    assert_eq!(delays, vec![10, 20, 40, 80, 160, 320, 640, 1_000]);
    assert_eq!(poll_delay_ms(u32::MAX), 1_000);
}

#[test]
fn snapshot_error_rejects_with_server_message() {
    let client = client();
    client.platform().push_json(
        200,
        json!({ "status": "error", "error_message": "disk full" }),
    );

    let error = block_on(client.snapshots().await_completed("snp_1", &no_limit())).unwrap_err();

    assert_eq!(error.to_string(), "Snapshot snp_1 failed: disk full");
}

#[test]
fn snapshot_deleted_rejects() {
    let client = client();
    client
        .platform()
        .push_json(200, json!({ "status": "in_progress" }));
    client
        .platform()
        .push_json(200, json!({ "status": "deleted" }));

    let error = block_on(client.snapshots().await_completed("snp_1", &no_limit())).unwrap_err();

    assert!(
        matches!(&error, Error::SnapshotDeleted { id } if id == "snp_1"),
        "{error:?}"
    );
}

#[test]
fn snapshot_poll_times_out_with_last_status() {
    let client = client();
    let fake = client.platform();
    fake.latency_ms.set(500.0);
    for _ in 0..4 {
        fake.push_json(200, json!({ "status": "in_progress" }));
    }
    let options = WaitOptions {
        timeout_ms: Some(2_000),
        signal: None,
        progress: None,
    };

    let error = block_on(client.snapshots().await_completed("snp_1", &options)).unwrap_err();

    let Error::PollingTimeout(timeout) = error else {
        panic!("expected a polling timeout, got {error:?}");
    };
    assert!(matches!(timeout.last, Some(PollState::Snapshot(_))));
    assert!(
        timeout.message.contains("last status: in_progress"),
        "{}",
        timeout.message
    );
}

#[test]
fn snapshot_disk_waits_and_returns_completed_view() {
    let client = client();
    let fake = client.platform();
    fake.push_json(200, snapshot_json("snp_1", "early"));
    fake.push_json(
        200,
        json!({ "status": "complete", "snapshot": snapshot_json("snp_1", "done") }),
    );
    let params = SnapshotDiskParams {
        name: Some("done".to_owned()),
        ..SnapshotDiskParams::default()
    };

    let view = block_on(client.snapshots().snapshot_disk_and_await_completed(
        "dbx_1",
        &params,
        &no_limit(),
    ))
    .unwrap();

    assert_eq!(view.name.as_deref(), Some("done"));
    assert_eq!(
        fake.request(0).url,
        "http://api.test/v1/devboxes/dbx_1/snapshot_disk_async"
    );
    assert_eq!(fake.request_body(0), json!({ "name": "done" }));
}

#[test]
fn list_all_follows_every_page() {
    let client = client();
    let fake = client.platform();
    fake.push_json(
        200,
        json!({ "snapshots": [snapshot_json("snp_1", "a"), snapshot_json("snp_2", "b")], "has_more": true }),
    );
    fake.push_json(
        200,
        json!({ "snapshots": [snapshot_json("snp_3", "c")], "has_more": false, "total_count": 3 }),
    );
    let params = SnapshotListParams {
        devbox_id: Some("dbx_1".to_owned()),
        limit: Some(2),
        ..SnapshotListParams::default()
    };

    let views = block_on(
        client
            .snapshots()
            .list_all(&params, &RequestOptions::default()),
    )
    .unwrap();

    let ids: Vec<&str> = views.iter().map(|view| view.id.as_str()).collect();
    assert_eq!(ids, vec!["snp_1", "snp_2", "snp_3"]);
    assert_eq!(
        fake.request(0).url,
        "http://api.test/v1/devboxes/disk_snapshots?devbox_id=dbx_1&limit=2"
    );
    assert_eq!(
        fake.request(1).url,
        "http://api.test/v1/devboxes/disk_snapshots?devbox_id=dbx_1&limit=2&starting_after=snp_2"
    );
}

#[test]
fn list_all_stops_on_empty_page() {
    let client = client();
    let fake = client.platform();
    fake.push_json(
        200,
        json!({ "snapshots": [snapshot_json("snp_1", "a")], "has_more": true }),
    );
    fake.push_json(200, json!({ "snapshots": [], "has_more": true }));

    let views = block_on(
        client
            .snapshots()
            .list_all(&SnapshotListParams::default(), &RequestOptions::default()),
    )
    .unwrap();

    assert_eq!(views.len(), 1);
    assert_eq!(fake.request_count(), 2);
}

#[test]
fn list_all_rejects_repeated_page() {
    let client = client();
    let fake = client.platform();
    let page = json!({ "snapshots": [snapshot_json("snp_1", "a")], "has_more": true });
    fake.push_json(200, page.clone());
    fake.push_json(200, page);

    let result = block_on(
        client
            .snapshots()
            .list_all(&SnapshotListParams::default(), &RequestOptions::default()),
    );

    assert!(
        matches!(result, Err(Error::InvalidResponse { .. })),
        "{result:?}"
    );
}
