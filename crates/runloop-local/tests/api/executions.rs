//! Running commands over HTTP.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;

#[tokio::test]
async fn execute_returns_stdout_and_exit_code() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let view = server.exec(&id, "echo hello").await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["exit_status"], 0);
    assert_eq!(view["stdout"], "hello\n");
    assert_eq!(view["stderr"], "");
    assert_eq!(view["stdout_truncated"], false);
    assert!(view["execution_id"]
        .as_str()
        .expect("execution id")
        .starts_with("exe_"));

    server.stop().await;
}

#[tokio::test]
async fn execute_reports_failure_exit_and_stderr() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let view = server.exec(&id, "echo oops >&2; exit 7").await;
    assert_eq!(view["exit_status"], 7);
    assert_eq!(view["stderr"], "oops\n");
    assert_eq!(view["stdout"], "");

    server.stop().await;
}

#[tokio::test]
async fn commands_run_in_home_with_environment() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({ "environment_variables": { "GREETING": "hi there" } }))
        .await;

    let view = server
        .exec(
            &id,
            "pwd; echo \"$HOME\"; echo \"$GREETING\"; echo \"$PATH\"",
        )
        .await;
    let stdout = view["stdout"].as_str().expect("stdout");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "/home/user");
    assert_eq!(lines[1], "/home/user");
    assert_eq!(lines[2], "hi there");
    assert!(lines[3].contains("/usr/bin"), "PATH is {}", lines[3]);

    server.stop().await;
}

#[tokio::test]
async fn commands_run_in_own_pid_namespace() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let view = server
        .exec(&id, "ps -e -o pid= | wc -l; readlink /proc/1/exe")
        .await;
    let stdout = view["stdout"].as_str().expect("stdout");
    let count: usize = stdout
        .lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .expect("process count");
    assert!(count < 20, "devbox sees {count} processes: {stdout}");
    assert!(
        stdout.contains("bash"),
        "PID 1 is not the devbox init: {stdout}"
    );

    server.stop().await;
}

#[tokio::test]
async fn background_process_does_not_hold_completion() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let started = Instant::now();
    let view = server.exec(&id, "sleep 30 & echo started").await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["exit_status"], 0);
    assert_eq!(view["stdout"], "started\n");
    assert!(started.elapsed() < Duration::from_secs(10));

    server.stop().await;
}

#[tokio::test]
async fn background_writer_outlives_completion() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    // The background subshell keeps the command's stdout and writes to it only once
    // /tmp/go exists, which the test creates after the command has completed.
    let view = server
        .exec(
            &id,
            "(until [ -e /tmp/go ]; do sleep 0.02; done; echo late; sleep 0.2; \
              echo later; touch /tmp/alive) & echo started",
        )
        .await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["exit_status"], 0);
    assert_eq!(view["stdout"], "started\n");

    server.exec(&id, "touch /tmp/go").await;
    let waited = server
        .exec(
            &id,
            "for _ in $(seq 500); do [ -e /tmp/alive ] && exit 0; sleep 0.02; done; exit 1",
        )
        .await;
    assert_eq!(
        waited["exit_status"], 0,
        "the background writer died before it finished, as SIGPIPE would kill it"
    );

    let execution_id = view["execution_id"].as_str().expect("execution id");
    let (status, after) = server
        .get(&format!("/v1/devboxes/{id}/executions/{execution_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(
        after["stdout"], "started\n",
        "output after completion is discarded"
    );

    server.stop().await;
}

#[tokio::test]
async fn optimistic_timeout_returns_running() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, running) = server
        .post(
            &format!("/v1/devboxes/{id}/execute"),
            json!({ "command": "sleep 1.5; echo done", "optimistic_timeout": 0.2 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{running}");
    assert_eq!(running["status"], "running");
    assert!(running["exit_status"].is_null());

    let execution_id = running["execution_id"].as_str().expect("execution id");
    let (status, fetched) = server
        .get(&format!("/v1/devboxes/{id}/executions/{execution_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["execution_id"], execution_id);

    let (status, completed) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution_id}/wait_for_status"),
            json!({ "statuses": ["completed"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{completed}");
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["exit_status"], 0);
    assert_eq!(completed["stdout"], "done\n");

    server.stop().await;
}

#[tokio::test]
async fn execute_async_completes_later() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, started) = server
        .post(
            &format!("/v1/devboxes/{id}/execute_async"),
            json!({ "command": "sleep 0.3; echo later" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["status"], "running");

    let execution_id = started["execution_id"].as_str().expect("execution id");
    let (status, completed) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution_id}/wait_for_status"),
            json!({ "statuses": ["completed"], "timeout_seconds": 20 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(completed["stdout"], "later\n");

    server.stop().await;
}

#[tokio::test]
async fn execution_wait_returns_408_after_hold() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (_, started) = server
        .post(
            &format!("/v1/devboxes/{id}/execute_async"),
            json!({ "command": "sleep 20" }),
        )
        .await;
    let execution_id = started["execution_id"].as_str().expect("execution id");

    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution_id}/wait_for_status"),
            json!({ "statuses": ["completed"], "timeout_seconds": 0.3 }),
        )
        .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert!(body["message"].is_string(), "{body}");

    server.stop().await;
}

#[tokio::test]
async fn last_n_returns_tail_and_truncation() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/execute?last_n=3"),
            json!({ "command": "seq 1 200" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["stdout"], "198\n199\n200\n");
    assert_eq!(view["stdout_truncated"], true);
    assert_eq!(view["stderr_truncated"], false);

    let execution_id = view["execution_id"].as_str().expect("execution id");
    let (_, default_tail) = server
        .get(&format!("/v1/devboxes/{id}/executions/{execution_id}"))
        .await;
    let lines = default_tail["stdout"]
        .as_str()
        .expect("stdout")
        .lines()
        .count();
    assert_eq!(lines, 100);

    let (status, _) = server
        .get(&format!(
            "/v1/devboxes/{id}/executions/{execution_id}?last_n=abc"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    server.stop().await;
}

#[tokio::test]
async fn split_utf8_character_stays_whole() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let view = server
        .exec(&id, r"printf '\303'; sleep 0.3; printf '\251\n'")
        .await;
    assert_eq!(view["stdout"], "\u{e9}\n");

    server.stop().await;
}

#[tokio::test]
async fn execute_sync_returns_output() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/execute_sync"),
            json!({ "command": "echo sync; exit 2" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["exit_status"], 2);
    assert_eq!(view["stdout"], "sync\n");
    assert_eq!(view["devbox_id"], id.as_str());

    server.stop().await;
}

#[tokio::test]
async fn repeated_command_id_runs_once() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let body = json!({ "command": "echo ran >> /home/user/count", "command_id": "cmd-1" });

    let (_, first) = server
        .post(&format!("/v1/devboxes/{id}/execute"), body.clone())
        .await;
    let (_, second) = server
        .post(&format!("/v1/devboxes/{id}/execute"), body)
        .await;
    assert_eq!(first["execution_id"], second["execution_id"]);

    let view = server.exec(&id, "wc -l < /home/user/count").await;
    assert_eq!(view["stdout"], "1\n");

    server.stop().await;
}

#[tokio::test]
async fn unknown_execution_is_404() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, body) = server
        .get(&format!("/v1/devboxes/{id}/executions/exe_missing"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("exe_missing"));

    server.stop().await;
}

#[tokio::test]
async fn execution_wait_for_unreachable_status_is_409() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let done = server.exec(&id, "true").await;
    let done_id = done["execution_id"].as_str().expect("execution id");

    let requested = Instant::now();
    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{done_id}/wait_for_status"),
            json!({ "statuses": ["running"], "timeout_seconds": 20 }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("final"), "{message}");
    assert!(message.contains("running"), "{message}");
    assert!(requested.elapsed() < Duration::from_secs(2));

    let (_, started) = server
        .post(
            &format!("/v1/devboxes/{id}/execute_async"),
            json!({ "command": "sleep 1" }),
        )
        .await;
    let running_id = started["execution_id"].as_str().expect("execution id");
    let requested = Instant::now();
    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{running_id}/wait_for_status"),
            json!({ "statuses": ["queued"], "timeout_seconds": 20 }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a completion during the wait ends it: {body}"
    );
    assert!(requested.elapsed() < Duration::from_secs(10));

    server.stop().await;
}
