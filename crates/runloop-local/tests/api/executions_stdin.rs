//! Writing to a command's stdin with send_std_in.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;
use crate::executions_support::{
    execution_id, open_stream, read_until, send_stdin, start_async, wait_completed,
};

#[tokio::test]
async fn stdin_reaches_cat_until_eof() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(
        &server,
        &id,
        json!({ "command": "cat", "attach_stdin": true }),
    )
    .await;
    let execution = execution_id(&started);

    let (status, sent) = send_stdin(&server, &id, &execution, json!({ "text": "hello\n" })).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(
        sent,
        json!({ "devbox_id": id, "execution_id": execution, "success": true })
    );

    let mut stdout = open_stream(&server, &id, &execution, "stdout", None).await;
    let (echoed, _) = read_until(&mut stdout, "hello\n").await;
    assert_eq!(echoed, "hello\n");

    let (status, sent) = send_stdin(
        &server,
        &id,
        &execution,
        json!({ "text": "wörld\n", "signal": "EOF" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["success"], true);

    let completed = wait_completed(&server, &id, &execution).await;
    assert_eq!(completed["exit_status"], 0);
    assert_eq!(completed["stdout"], "hello\nwörld\n");

    server.stop().await;
}

#[tokio::test]
async fn stdin_without_attach_is_400() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(&server, &id, json!({ "command": "sleep 30" })).await;
    let execution = execution_id(&started);

    let (status, body) = send_stdin(&server, &id, &execution, json!({ "text": "x" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("attach_stdin"));

    let (status, body) = send_stdin(&server, &id, &execution, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    server.stop().await;
}

#[tokio::test]
async fn interrupt_stops_foreground_command() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(
        &server,
        &id,
        json!({ "command": "echo ready; cat; echo after", "attach_stdin": true }),
    )
    .await;
    let execution = execution_id(&started);
    let mut stdout = open_stream(&server, &id, &execution, "stdout", None).await;
    read_until(&mut stdout, "ready\n").await;

    let (status, sent) =
        send_stdin(&server, &id, &execution, json!({ "signal": "INTERRUPT" })).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["success"], true);

    let completed = wait_completed(&server, &id, &execution).await;
    assert_eq!(completed["exit_status"], 130, "128 + SIGINT: {completed}");
    assert_eq!(completed["stdout"], "ready\n");

    server.stop().await;
}

#[tokio::test]
async fn stdin_after_completion_or_eof_is_rejected() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(
        &server,
        &id,
        json!({ "command": "read line; echo got $line; sleep 30", "attach_stdin": true }),
    )
    .await;
    let execution = execution_id(&started);

    let (status, _) = send_stdin(
        &server,
        &id,
        &execution,
        json!({ "text": "one\n", "signal": "EOF" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut stdout = open_stream(&server, &id, &execution, "stdout", None).await;
    read_until(&mut stdout, "got one\n").await;

    let (status, body) = send_stdin(&server, &id, &execution, json!({ "text": "two\n" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().expect("message").contains("EOF"));

    server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({}),
        )
        .await;
    let completed = wait_completed(&server, &id, &execution).await;
    assert_eq!(completed["stdout"], "got one\n");

    let (status, body) =
        send_stdin(&server, &id, &execution, json!({ "signal": "INTERRUPT" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("completed"));

    server.stop().await;
}

#[tokio::test]
async fn stdin_closed_by_command_is_400() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(
        &server,
        &id,
        json!({ "command": "exec 0<&-; echo closed; sleep 30", "attach_stdin": true }),
    )
    .await;
    let execution = execution_id(&started);
    let mut stdout = open_stream(&server, &id, &execution, "stdout", None).await;
    read_until(&mut stdout, "closed\n").await;

    let (status, body) = send_stdin(&server, &id, &execution, json!({ "text": "x\n" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("closed its stdin"), "{message}");
    assert!(message.contains(&execution), "{message}");

    let (status, view) = server
        .get(&format!("/v1/devboxes/{id}/executions/{execution}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        view["status"], "running",
        "the rejection must not end the command"
    );

    server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({}),
        )
        .await;
    server.stop().await;
}

#[tokio::test]
async fn stdin_after_command_exited_is_400() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(
        &server,
        &id,
        json!({ "command": "echo ignoring stdin", "attach_stdin": true }),
    )
    .await;
    let execution = execution_id(&started);
    let completed = wait_completed(&server, &id, &execution).await;
    assert_eq!(completed["exit_status"], 0, "{completed}");

    let (status, body) = send_stdin(&server, &id, &execution, json!({ "text": "x\n" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("has completed"), "{message}");

    let (status, body) = send_stdin(&server, &id, &execution, json!({ "signal": "EOF" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    server.stop().await;
}
