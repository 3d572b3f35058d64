//! Suspend, resume, keep-alive and idle timers, usage and logs over HTTP.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{devbox_cgroups, TestServer};

/// Waits up to `timeout_seconds` for devbox `id` to reach one of `statuses`.
async fn wait_for(
    server: &TestServer,
    id: &str,
    statuses: &[&str],
    timeout_seconds: f64,
) -> (StatusCode, Value) {
    server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": statuses, "timeout_seconds": timeout_seconds }),
        )
        .await
}

/// Waits for devbox `id` to reach `status`, failing the test after 30 s.
async fn await_status(server: &TestServer, id: &str, status: &str) -> Value {
    let (code, view) = wait_for(server, id, &[status], 30.0).await;
    assert_eq!(code, StatusCode::OK, "devbox never became {status}: {view}");
    view
}

fn statuses(view: &Value) -> Vec<String> {
    view["state_transitions"]
        .as_array()
        .expect("state_transitions")
        .iter()
        .map(|transition| transition["status"].as_str().expect("status").to_owned())
        .collect()
}

/// Reads the counter file that the test's loop writes, from the devbox's overlay upper
/// directory on the host, which works while the devbox is frozen.
fn read_counter(server: &TestServer, id: &str) -> u64 {
    let path = server
        .data_dir
        .join("devboxes")
        .join(id)
        .join("upper/tmp/counter");
    let text = std::fs::read_to_string(&path).expect("counter file exists");
    text.trim().parse().expect("counter is a number")
}

fn freezer_state(id: &str) -> String {
    let groups = devbox_cgroups(id);
    let group = groups.first().expect("devbox has a freezer cgroup");
    std::fs::read_to_string(group.join("freezer.state"))
        .expect("freezer.state is readable")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn suspend_freezes_and_resume_thaws() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, counter) = server
        .post(
            &format!("/v1/devboxes/{id}/execute_async"),
            json!({ "command": "i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.02; done" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{counter}");
    let started = server
        .exec(&id, "until [ -s /tmp/counter ]; do sleep 0.02; done")
        .await;
    assert_eq!(started["exit_status"], 0, "{started}");

    let (status, suspending) = server
        .post(&format!("/v1/devboxes/{id}/suspend"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{suspending}");
    assert_eq!(suspending["status"], "suspending");
    let suspended = await_status(&server, &id, "suspended").await;
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(freezer_state(&id), "FROZEN");

    let frozen_at = read_counter(&server, &id);
    // Time for the loop to advance several steps if it were still running.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        read_counter(&server, &id),
        frozen_at,
        "counter advanced while suspended"
    );

    let response = server
        .client
        .post(format!("{}/v1/devboxes/{id}/execute", server.base_url))
        .json(&json!({ "command": "true" }))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.headers()["x-should-retry"], "false");
    let body: Value = response.json().await.expect("JSON error");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("suspended"),
        "{body}"
    );
    let (status, _) = server.read_file(&id, "/tmp/counter").await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, resumed) = server
        .post(&format!("/v1/devboxes/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["status"], "running");
    assert_eq!(freezer_state(&id), "THAWED");
    let advanced = server
        .exec(
            &id,
            "v=$(cat /tmp/counter); for _ in $(seq 250); do [ \"$(cat /tmp/counter)\" -gt \"$v\" ] && exit 0; sleep 0.02; done; exit 1",
        )
        .await;
    assert_eq!(
        advanced["exit_status"], 0,
        "counter did not advance after resume"
    );
    assert!(read_counter(&server, &id) > frozen_at);

    let (_, view) = server.get(&format!("/v1/devboxes/{id}")).await;
    assert_eq!(
        statuses(&view),
        [
            "provisioning",
            "initializing",
            "running",
            "suspending",
            "suspended",
            "resuming",
            "running"
        ]
    );

    server.stop().await;
}

#[tokio::test]
async fn shutdown_of_suspended_devbox_kills_frozen_processes() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let (status, _) = server
        .post(
            &format!("/v1/devboxes/{id}/execute_async"),
            json!({ "command": "sleep 1000" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/suspend"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    await_status(&server, &id, "suspended").await;

    let (status, view) = server
        .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "shutdown");
    assert_eq!(view["shutdown_reason"], "api_shutdown");
    assert!(devbox_cgroups(&id).is_empty(), "cgroup left after shutdown");

    server.stop().await;
}

#[tokio::test]
async fn invalid_transitions_are_rejected() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let response = server
        .client
        .post(format!("{}/v1/devboxes/{id}/resume", server.base_url))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.headers()["x-should-retry"], "false");
    let body: Value = response.json().await.expect("JSON error");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("running"), "{message}");
    assert!(message.contains("suspended"), "{message}");

    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    for action in ["suspend", "resume", "keep_alive"] {
        let (status, body) = server
            .post(&format!("/v1/devboxes/{id}/{action}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}: {body}");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("shutdown"),
            "{action}: {body}"
        );
    }

    for action in ["suspend", "resume", "keep_alive"] {
        let (status, body) = server
            .post(&format!("/v1/devboxes/dbx_missing/{action}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}: {body}");
    }
    for action in ["usage", "logs"] {
        let (status, body) = server
            .get(&format!("/v1/devboxes/dbx_missing/{action}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}: {body}");
    }

    server.stop().await;
}

#[tokio::test]
async fn keep_alive_timeout_shuts_down() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({ "launch_parameters": { "keep_alive_time_seconds": 3 } }))
        .await;

    // Four keep-alives one second apart keep the devbox up for longer than its 3 s.
    for _ in 0..4 {
        let (status, body) = server
            .post(&format!("/v1/devboxes/{id}/keep_alive"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({}));
        let (status, view) = wait_for(&server, &id, &["shutdown"], 1.0).await;
        assert_eq!(
            status,
            StatusCode::REQUEST_TIMEOUT,
            "shut down despite keep_alive: {view}"
        );
    }

    let view = await_status(&server, &id, "shutdown").await;
    assert_eq!(view["shutdown_reason"], "keep_alive_timeout");
    assert!(view["end_time_ms"].is_i64());
    assert!(
        devbox_cgroups(&id).is_empty(),
        "cgroup left after the timeout"
    );

    server.stop().await;
}

#[tokio::test]
async fn after_idle_suspends_and_executions_keep_awake() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({
            "launch_parameters": { "after_idle": { "idle_time_seconds": 1, "on_idle": "suspend" } }
        }))
        .await;

    let suspended = await_status(&server, &id, "suspended").await;
    assert_eq!(suspended["shutdown_reason"], Value::Null);
    assert!(statuses(&suspended).ends_with(&[
        "running".to_owned(),
        "suspending".to_owned(),
        "suspended".to_owned()
    ]));

    let (status, resumed) = server
        .post(&format!("/v1/devboxes/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    let (status, execution) = server
        .post(
            &format!("/v1/devboxes/{id}/execute_async"),
            json!({ "command": "sleep 2" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{execution}");
    let execution_id = execution["execution_id"].as_str().expect("execution id");
    let (status, done) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution_id}/wait_for_status"),
            json!({ "statuses": ["completed"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");

    let (_, view) = server.get(&format!("/v1/devboxes/{id}")).await;
    assert_eq!(
        view["status"], "running",
        "suspended while a command ran: {view}"
    );
    await_status(&server, &id, "suspended").await;

    server.stop().await;
}

#[tokio::test]
async fn after_idle_shutdown_sets_reason() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({
            "launch_parameters": { "after_idle": { "idle_time_seconds": 1, "on_idle": "shutdown" } }
        }))
        .await;

    let view = await_status(&server, &id, "shutdown").await;
    assert_eq!(view["shutdown_reason"], "idle");

    server.stop().await;
}

#[tokio::test]
async fn usage_excludes_suspended_time() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/suspend"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    await_status(&server, &id, "suspended").await;
    // Stay suspended for at least one second.
    let (status, _) = wait_for(&server, &id, &["shutdown"], 1.0).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, live) = server.get(&format!("/v1/devboxes/{id}/usage")).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["status"], "running");
    assert!(live["end_time_ms"].is_null());

    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, view) = server.get(&format!("/v1/devboxes/{id}")).await;
    let (status, usage) = server.get(&format!("/v1/devboxes/{id}/usage")).await;
    assert_eq!(status, StatusCode::OK, "{usage}");

    assert_eq!(usage["id"], id.as_str());
    assert_eq!(usage["status"], "shutdown");
    assert_eq!(usage["start_time_ms"], view["create_time_ms"]);
    assert_eq!(usage["end_time_ms"], view["end_time_ms"]);
    let elapsed = usage["total_elapsed_seconds"].as_f64().expect("elapsed");
    let active = usage["total_active_seconds"].as_f64().expect("active");
    let expected_elapsed = (view["end_time_ms"].as_i64().expect("end")
        - view["create_time_ms"].as_i64().expect("create")) as f64
        / 1000.0;
    assert!((elapsed - expected_elapsed).abs() < 0.001, "{usage}");
    assert!(
        elapsed - active >= 1.0,
        "suspended time counted as active: {usage}"
    );
    assert!(active > 0.0, "{usage}");
    assert_eq!(usage["vcpu_seconds"], 0.0);

    // Usage of an ended devbox stays fixed.
    let (_, again) = server.get(&format!("/v1/devboxes/{id}/usage")).await;
    assert_eq!(again, usage);

    server.stop().await;
}

#[tokio::test]
async fn logs_record_commands_and_file_writes() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({ "launch_parameters": { "launch_commands": ["echo setup-line"] } }))
        .await;

    let first = server.exec(&id, "echo one").await;
    let first_id = first["execution_id"]
        .as_str()
        .expect("execution id")
        .to_owned();
    let (status, second) = server
        .post(
            &format!("/v1/devboxes/{id}/execute"),
            json!({ "command": "exit 4", "shell_name": "logged" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["status"], "completed", "{second}");
    server.write_file(&id, "notes/a.txt", "hello").await;

    let (status, body) = server.get(&format!("/v1/devboxes/{id}/logs")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let logs = body["logs"].as_array().expect("logs");
    let setup: Vec<&Value> = logs
        .iter()
        .filter(|entry| entry["source"] == "setup_commands")
        .collect();
    assert!(
        setup
            .iter()
            .any(|entry| entry["message"] == "setup-line" && entry["cmd"] == "echo setup-line"),
        "{body}"
    );
    assert!(setup.iter().any(|entry| entry["exit_code"] == 0), "{body}");
    assert!(
        logs.iter().any(|entry| entry["source"] == "files"
            && entry["message"]
                .as_str()
                .is_some_and(|message| message.contains("/home/user/notes/a.txt"))),
        "{body}"
    );
    for entry in logs {
        assert!(entry["timestamp_ms"].is_i64(), "{entry}");
        assert!(entry["level"].is_string(), "{entry}");
    }

    let (status, by_execution) = server
        .get(&format!("/v1/devboxes/{id}/logs?execution_id={first_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let entries = by_execution["logs"].as_array().expect("logs");
    assert_eq!(entries.len(), 2, "{by_execution}");
    assert!(entries
        .iter()
        .all(|entry| entry["cmd_id"] == first_id.as_str()
            && entry["source"] == "exec"
            && entry["cmd"] == "echo one"));
    assert_eq!(entries[1]["exit_code"], 0);

    let (status, by_shell) = server
        .get(&format!("/v1/devboxes/{id}/logs?shell_name=logged"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let entries = by_shell["logs"].as_array().expect("logs");
    assert_eq!(entries.len(), 2, "{by_shell}");
    assert!(entries.iter().all(|entry| entry["shell_name"] == "logged"));
    assert_eq!(entries[1]["exit_code"], 4);
    assert_eq!(entries[1]["level"], "error");

    server.stop().await;
}

#[tokio::test]
async fn suspend_commands_run_before_freeze() {
    let mut server = TestServer::start();
    let id = server
        .create_running(
            json!({ "launch_parameters": { "lifecycle": { "lifecycle_hooks": {
            "suspend_commands": [
                "echo first > /tmp/hooks",
                "exit 2",
                "echo after-failure >> /tmp/hooks"
            ]
        } } } }),
        )
        .await;

    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/suspend"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    await_status(&server, &id, "suspended").await;
    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, text) = server.read_file(&id, "/tmp/hooks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "first\nafter-failure\n");
    let (_, body) = server.get(&format!("/v1/devboxes/{id}/logs")).await;
    assert!(
        body["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .any(|entry| entry["cmd"] == "exit 2" && entry["exit_code"] == 2),
        "{body}"
    );

    server.stop().await;
}

#[tokio::test]
async fn suspend_deadline_cuts_slow_commands() {
    let mut server = TestServer::start();
    let id = server
        .create_running(
            json!({ "launch_parameters": { "lifecycle": { "lifecycle_hooks": {
            "suspend_commands": ["sleep 30"],
            "suspend_deadline_ms": 300
        } } } }),
        )
        .await;

    let started = std::time::Instant::now();
    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/suspend"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    await_status(&server, &id, "suspended").await;
    assert!(started.elapsed() < Duration::from_secs(20));

    let (_, body) = server.get(&format!("/v1/devboxes/{id}/logs")).await;
    assert!(
        body["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .any(|entry| entry["message"]
                .as_str()
                .is_some_and(|message| message.contains("did not finish within 300 ms"))),
        "{body}"
    );

    server.stop().await;
}
