//! Killing executions, and the errors of commands that cannot run.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use crate::common::{devbox_cgroups, TestServer};
use crate::executions_support::{
    execution_id, open_stream, read_until, start_async, wait_completed,
};

/// Command that starts a `sleep` grandchild, records its pid in the devbox, reports
/// `started` and waits.
const WITH_GRANDCHILD: &str = "sleep 301 & echo $! > /tmp/grandchild; echo started; wait";

/// Prints `alive` when the process in /tmp/grandchild runs, else `gone`. A zombie counts
/// as gone: it has exited and only waits to be reaped.
const GRANDCHILD_STATE: &str = r#"pid=$(cat /tmp/grandchild)
state=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)
if [ -n "$state" ] && [ "$state" != Z ]; then echo alive; else echo gone; fi"#;

async fn start_with_grandchild(server: &TestServer, devbox_id: &str) -> String {
    let started = start_async(server, devbox_id, json!({ "command": WITH_GRANDCHILD })).await;
    let id = execution_id(&started);
    let mut stdout = open_stream(server, devbox_id, &id, "stdout", None).await;
    read_until(&mut stdout, "started").await;
    id
}

#[tokio::test]
async fn kill_process_group_leaves_no_grandchild() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let execution = start_with_grandchild(&server, &id).await;
    assert_eq!(
        server.exec(&id, GRANDCHILD_STATE).await["stdout"],
        "alive\n"
    );

    let (status, killed) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({ "kill_process_group": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{killed}");
    assert_eq!(killed["status"], "completed");
    assert_eq!(killed["exit_status"], 137);
    assert_eq!(killed["stdout"], "started\n");

    assert_eq!(server.exec(&id, GRANDCHILD_STATE).await["stdout"], "gone\n");

    server.stop().await;
}

/// Command that starts `sleep` in a new session from a subshell that exits at once, so the
/// sleep is reparented to the devbox's init and shares neither the command's process group
/// nor its parent. It records the sleep's pid, reports `started` and waits.
const WITH_ORPHAN: &str = "(setsid sh -c 'echo $$ > /tmp/orphan; exec sleep 302' &); \
    until [ -s /tmp/orphan ]; do sleep 0.01; done; echo started; sleep 303";

/// Prints the parent pid, session id and state of the process in /tmp/orphan, or `gone`
/// once it has exited (a zombie counts as gone).
const ORPHAN_STATE: &str = r#"pid=$(cat /tmp/orphan)
set -- $(sed 's/.*) //' /proc/$pid/stat 2>/dev/null)
if [ -n "$1" ] && [ "$1" != Z ]; then echo "parent=$2 session=$4 $1"; else echo gone; fi"#;

#[tokio::test]
async fn kill_process_group_reaches_setsid_orphan() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(&server, &id, json!({ "command": WITH_ORPHAN })).await;
    let execution = execution_id(&started);
    let mut stdout = open_stream(&server, &id, &execution, "stdout", None).await;
    read_until(&mut stdout, "started").await;

    let before = server.exec(&id, ORPHAN_STATE).await;
    let before = before["stdout"].as_str().expect("stdout").to_owned();
    let orphan = server.exec(&id, "cat /tmp/orphan").await;
    let orphan_pid = orphan["stdout"].as_str().expect("stdout").trim().to_owned();
    assert!(
        before.starts_with("parent=1 "),
        "the orphan should belong to the devbox's init: {before}"
    );
    assert!(
        before.contains(&format!("session={orphan_pid} ")),
        "the orphan should lead its own session: {before}"
    );

    let (status, killed) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({ "kill_process_group": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{killed}");
    assert_eq!(killed["status"], "completed");
    assert_eq!(killed["exit_status"], 137);
    assert_eq!(server.exec(&id, ORPHAN_STATE).await["stdout"], "gone\n");

    let group = devbox_cgroups(&id)
        .first()
        .expect("devbox has a freezer cgroup")
        .join(&execution);
    let deadline = Instant::now() + Duration::from_secs(10);
    while group.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!group.exists(), "{} was not removed", group.display());

    server.stop().await;
}

#[tokio::test]
async fn kill_without_group_kills_only_shell() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let execution = start_with_grandchild(&server, &id).await;

    let (status, killed) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{killed}");
    assert_eq!(killed["status"], "completed");
    assert_eq!(killed["exit_status"], 137);

    assert_eq!(
        server.exec(&id, GRANDCHILD_STATE).await["stdout"],
        "alive\n"
    );

    server.stop().await;
}

#[tokio::test]
async fn kill_of_completed_execution_changes_nothing() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let done = server.exec(&id, "echo done; exit 3").await;
    let execution = execution_id(&done);

    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({ "kill_process_group": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["exit_status"], 3);
    assert_eq!(view["stdout"], "done\n");

    server.stop().await;
}

#[tokio::test]
async fn kill_of_queued_command_never_runs_it() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let first = start_with_shell(&server, &id, "cat > /dev/null").await;
    let second = start_with_shell(&server, &id, "touch /tmp/second-ran").await;
    assert_eq!(second["status"], "queued");

    let second_id = execution_id(&second);
    let (status, killed) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{second_id}/kill"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{killed}");
    assert_eq!(killed["status"], "completed");
    assert_eq!(killed["exit_status"], 137);

    let first_id = execution_id(&first);
    server
        .post(
            &format!("/v1/devboxes/{id}/executions/{first_id}/send_std_in"),
            json!({ "signal": "EOF" }),
        )
        .await;
    assert_eq!(
        wait_completed(&server, &id, &first_id).await["exit_status"],
        0
    );

    let check = server
        .exec(&id, "test -e /tmp/second-ran && echo ran || echo never")
        .await;
    assert_eq!(check["stdout"], "never\n");

    server.stop().await;
}

async fn start_with_shell(server: &TestServer, id: &str, command: &str) -> serde_json::Value {
    start_async(
        server,
        id,
        json!({ "command": command, "shell_name": "queue", "attach_stdin": true }),
    )
    .await
}

#[tokio::test]
async fn exec_on_stopped_devbox_is_409() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    for path in ["execute", "execute_async", "execute_sync"] {
        let (status, body) = server
            .post(
                &format!("/v1/devboxes/{id}/{path}"),
                json!({ "command": "true" }),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {body}");
        let message = body["message"].as_str().expect("message");
        assert!(message.contains("shutdown"), "{path}: {message}");
    }

    server.stop().await;
}

#[tokio::test]
async fn reused_command_id_for_other_command_is_409() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let path = format!("/v1/devboxes/{id}/execute");

    let (status, first) = server
        .post(
            &path,
            json!({ "command": "echo one", "command_id": "cmd-x" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, again) = server
        .post(
            &path,
            json!({ "command": "echo one", "command_id": "cmd-x" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["execution_id"], first["execution_id"]);
    assert_eq!(again["stdout"], "one\n");

    let (status, other) = server
        .post(
            &path,
            json!({ "command": "echo two", "command_id": "cmd-x" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{other}");
    assert!(other["message"]
        .as_str()
        .expect("message")
        .contains("cmd-x"));

    server.stop().await;
}

#[tokio::test]
async fn optimistic_timeout_then_wait_completes() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, running) = server
        .post(
            &format!("/v1/devboxes/{id}/execute"),
            json!({ "command": "sleep 60", "optimistic_timeout": 0.5 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{running}");
    assert_eq!(running["status"], "running");
    let execution = execution_id(&running);

    let (status, held) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/wait_for_status"),
            json!({ "statuses": ["completed"], "timeout_seconds": 0.5 }),
        )
        .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{held}");
    assert!(held["message"]
        .as_str()
        .expect("message")
        .contains("running"));

    let (status, now) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/wait_for_status"),
            json!({ "statuses": ["running", "completed"], "timeout_seconds": 0.1 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now["status"], "running");

    server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({}),
        )
        .await;
    let completed = wait_completed(&server, &id, &execution).await;
    assert_eq!(completed["exit_status"], 137);

    let (status, too_long) = server
        .post(
            &format!("/v1/devboxes/{id}/execute"),
            json!({ "command": "true", "optimistic_timeout": 26 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{too_long}");
    assert_eq!(too_long["status"], "completed");

    server.stop().await;
}

#[tokio::test]
async fn kill_on_suspended_devbox_is_409() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(&server, &id, json!({ "command": "sleep 300" })).await;
    let execution = execution_id(&started);
    let (status, body) = server
        .post(&format!("/v1/devboxes/{id}/suspend"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["suspended"], "timeout_seconds": 30 }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "devbox never became suspended: {body}"
    );

    let requested = Instant::now();
    let response = server
        .client
        .post(format!(
            "{}/v1/devboxes/{id}/executions/{execution}/kill",
            server.base_url
        ))
        .json(&json!({ "kill_process_group": true }))
        .send()
        .await
        .expect("request reaches the server");
    let elapsed = requested.elapsed();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.headers()["x-should-retry"], "false");
    let body: serde_json::Value = response.json().await.expect("JSON error");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("suspended"), "{message}");
    assert!(elapsed < Duration::from_secs(2), "kill took {elapsed:?}");

    let (status, view) = server
        .get(&format!("/v1/devboxes/{id}/executions/{execution}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "running", "{view}");

    server.stop().await;
}

/// Counts the live `sleep 555` and `sleep 556` processes in the devbox.
const DAEMON_COUNT: &str = r#"n=0
for f in /proc/[0-9]*/cmdline; do
  case "$(tr '\0' ' ' < "$f" 2>/dev/null)" in "sleep 55"[56]*) n=$((n+1));; esac
done
echo $n"#;

#[tokio::test]
async fn kill_group_of_completed_kills_daemons() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let done = server
        .exec(
            &id,
            "nohup sleep 555 >/dev/null 2>&1 & setsid sleep 556 & echo bye",
        )
        .await;
    assert_eq!(done["exit_status"], 0, "{done}");
    let execution = execution_id(&done);
    assert_eq!(server.exec(&id, DAEMON_COUNT).await["stdout"], "2\n");

    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({ "kill_process_group": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["exit_status"], 0);
    assert_eq!(view["stdout"], "bye\n");
    assert_eq!(server.exec(&id, DAEMON_COUNT).await["stdout"], "0\n");

    let group = devbox_cgroups(&id)
        .first()
        .expect("devbox has a freezer cgroup")
        .join(&execution);
    let deadline = Instant::now() + Duration::from_secs(10);
    while group.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!group.exists(), "{} was not removed", group.display());

    server.stop().await;
}
