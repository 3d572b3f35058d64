//! Named shells: the working directory and exported variables carry over between commands
//! with the same shell_name, and their commands run one at a time.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::executions_support::{execution_id, start_async, wait_completed};

/// Runs `command` in shell `shell` (or a fresh shell for `None`) to completion.
async fn run(server: &TestServer, devbox_id: &str, shell: Option<&str>, command: &str) -> Value {
    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{devbox_id}/execute"),
            json!({ "command": command, "shell_name": shell }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "execute failed: {view}");
    let view = wait_completed(server, devbox_id, &execution_id(&view)).await;
    assert_eq!(view["shell_name"], json!(shell));
    view
}

#[tokio::test]
async fn shell_keeps_working_directory() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    assert_eq!(
        run(&server, &id, Some("a"), "cd /tmp").await["exit_status"],
        0
    );
    assert_eq!(
        run(&server, &id, Some("a"), "pwd").await["stdout"],
        "/tmp\n"
    );
    assert_eq!(
        run(&server, &id, Some("b"), "pwd").await["stdout"],
        "/home/user\n"
    );
    assert_eq!(
        run(&server, &id, None, "pwd").await["stdout"],
        "/home/user\n"
    );

    let back = run(
        &server,
        &id,
        Some("a"),
        "mkdir -p '/tmp/it'\\''s here' && cd \"$_\"",
    )
    .await;
    assert_eq!(back["exit_status"], 0, "{back}");
    let moved = run(&server, &id, Some("a"), "pwd; cd -").await;
    assert_eq!(moved["stdout"], "/tmp/it's here\n/tmp\n");
    assert_eq!(
        run(&server, &id, Some("a"), "pwd").await["stdout"],
        "/tmp\n"
    );

    server.stop().await;
}

#[tokio::test]
async fn shell_keeps_exported_variables() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({ "environment_variables": { "FROM_DEVBOX": "d" } }))
        .await;

    run(
        &server,
        &id,
        Some("a"),
        "export A=1 MULTI=$'x\\ny'; unset FROM_DEVBOX",
    )
    .await;
    let seen = run(
        &server,
        &id,
        Some("a"),
        "echo \"A=$A\"; echo \"$MULTI\"; echo \"devbox=${FROM_DEVBOX-unset}\"; echo $SHLVL",
    )
    .await;
    assert_eq!(seen["stdout"], "A=1\nx\ny\ndevbox=unset\n1\n");

    let other = run(&server, &id, Some("b"), "echo \"A=$A devbox=$FROM_DEVBOX\"").await;
    assert_eq!(other["stdout"], "A= devbox=d\n");
    let fresh = run(&server, &id, None, "echo \"A=$A\"").await;
    assert_eq!(fresh["stdout"], "A=\n");

    server.stop().await;
}

#[tokio::test]
async fn shell_state_survives_failures() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let failed = run(&server, &id, Some("s"), "cd /tmp; export B=2; exit 3").await;
    assert_eq!(failed["exit_status"], 3);
    let syntax = run(&server, &id, Some("s"), "if then").await;
    assert_eq!(syntax["exit_status"], 2);
    let error = syntax["stderr"].as_str().expect("stderr");
    assert!(
        error.contains("line 1"),
        "line numbers match the command: {error}"
    );

    let state = run(&server, &id, Some("s"), "pwd; echo $B").await;
    assert_eq!(state["stdout"], "/tmp\n2\n");

    run(
        &server,
        &id,
        Some("s"),
        "mkdir /tmp/gone && cd /tmp/gone && rmdir /tmp/gone",
    )
    .await;
    let fallback = run(&server, &id, Some("s"), "pwd").await;
    assert_eq!(fallback["stdout"], "/home/user\n");
    assert!(
        fallback["stderr"]
            .as_str()
            .expect("stderr")
            .contains("/tmp/gone"),
        "{fallback}"
    );

    server.stop().await;
}

#[tokio::test]
async fn shell_runs_commands_in_order() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let first = start_async(
        &server,
        &id,
        json!({ "command": "read _; echo first >> /tmp/order", "shell_name": "q", "attach_stdin": true }),
    )
    .await;
    let second = start_async(
        &server,
        &id,
        json!({ "command": "echo second >> /tmp/order", "shell_name": "q" }),
    )
    .await;
    assert_eq!(first["status"], "running");
    assert_eq!(second["status"], "queued");

    let other = run(&server, &id, Some("other"), "echo other >> /tmp/order").await;
    assert_eq!(other["exit_status"], 0, "another shell does not wait");

    let second_id = execution_id(&second);
    let (status, queued) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{second_id}/wait_for_status"),
            json!({ "statuses": ["queued"], "timeout_seconds": 0 }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "already queued returns at once: {queued}"
    );

    let first_id = execution_id(&first);
    server
        .post(
            &format!("/v1/devboxes/{id}/executions/{first_id}/send_std_in"),
            json!({ "text": "go\n" }),
        )
        .await;
    assert_eq!(
        wait_completed(&server, &id, &second_id).await["exit_status"],
        0
    );
    assert_eq!(
        wait_completed(&server, &id, &first_id).await["exit_status"],
        0
    );

    let order = server.exec(&id, "cat /tmp/order").await;
    assert_eq!(order["stdout"], "other\nfirst\nsecond\n");

    server.stop().await;
}

#[tokio::test]
async fn queued_command_logs_start_later() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let first = start_async(
        &server,
        &id,
        json!({ "command": "read _", "shell_name": "q", "attach_stdin": true }),
    )
    .await;
    let second = start_async(
        &server,
        &id,
        json!({ "command": "echo second", "shell_name": "q" }),
    )
    .await;
    assert_eq!(second["status"], "queued");
    let second_id = execution_id(&second);
    let log_path = format!("/v1/devboxes/{id}/logs?execution_id={second_id}");

    let (status, body) = server.get(&log_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = body["logs"].as_array().expect("logs");
    assert_eq!(entries.len(), 1, "{body}");
    let message = entries[0]["message"].as_str().expect("message");
    assert!(message.contains("queued"), "{message}");

    let first_id = execution_id(&first);
    server
        .post(
            &format!("/v1/devboxes/{id}/executions/{first_id}/send_std_in"),
            json!({ "text": "go\n" }),
        )
        .await;
    assert_eq!(
        wait_completed(&server, &id, &second_id).await["exit_status"],
        0
    );

    let (status, body) = server.get(&log_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let messages: Vec<&str> = body["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|entry| entry["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages.len(), 3, "{body}");
    assert_eq!(messages[1], "command started");
    assert_eq!(messages[2], "command exited with status 0");

    server.stop().await;
}
