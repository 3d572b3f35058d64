//! Devbox create fields, launch commands and the entrypoint over HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{devbox_cgroups, TestServer};

/// Creates a devbox without waiting and returns its id.
async fn create(server: &TestServer, body: Value) -> String {
    let (status, view) = server.post("/v1/devboxes", body).await;
    assert_eq!(status, StatusCode::OK, "create failed: {view}");
    let id = view["id"].as_str().expect("id").to_owned();
    server.track(&id);
    id
}

/// Waits for devbox `id` to reach one of `statuses`, failing the test after 30 s.
async fn await_any(server: &TestServer, id: &str, statuses: &[&str]) -> Value {
    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": statuses }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "no status of {statuses:?} reached: {view}"
    );
    view
}

async fn logs(server: &TestServer, id: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/v1/devboxes/{id}/logs")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["logs"].as_array().expect("logs").clone()
}

fn last_transition(view: &Value) -> &Value {
    view["state_transitions"]
        .as_array()
        .and_then(|transitions| transitions.last())
        .expect("at least one transition")
}

#[tokio::test]
async fn create_honours_fields() {
    let mut server = TestServer::start();
    let launch = json!({
        "resource_size_request": "CUSTOM_SIZE",
        "custom_cpu_cores": 0.5,
        "custom_gb_memory": 2,
        "custom_disk_size": 8,
        "available_ports": [8080],
        "provisioning_tier": "standard",
        "user_parameters": { "uid": 0, "username": "root" },
        "keep_alive_time_seconds": 600,
        "launch_commands": ["echo \"$GREETING\" > /tmp/greeting"]
    });
    let id = server
        .create_running(json!({
            "name": "fields",
            "metadata": { "team": "a", "tier": "b" },
            "environment_variables": { "GREETING": "hello there" },
            "file_mounts": { "conf/app.ini": "key=value\n" },
            "mounts": [{ "type": "file_mount", "target": "/etc/extra.conf", "content": "x" }],
            "secrets": {},
            "launch_parameters": launch
        }))
        .await;

    let (_, view) = server.get(&format!("/v1/devboxes/{id}")).await;
    assert_eq!(view["name"], "fields");
    assert_eq!(view["metadata"], json!({ "team": "a", "tier": "b" }));
    assert_eq!(view["launch_parameters"], launch);
    assert_eq!(view["initiator_type"], "api");
    assert!(view["create_time_ms"].is_i64());
    assert!(view["end_time_ms"].is_null());
    assert!(view["failure_reason"].is_null());
    assert!(view["shutdown_reason"].is_null());

    let seen = server
        .exec(
            &id,
            "echo $GREETING; cat /tmp/greeting ~/conf/app.ini /etc/extra.conf",
        )
        .await;
    assert_eq!(seen["stdout"], "hello there\nhello there\nkey=value\nx");

    server.stop().await;
}

#[tokio::test]
async fn unsupported_fields_are_400_and_named() {
    let mut server = TestServer::start();
    let cases = [
        (json!({ "blueprint_name": "base" }), "blueprint_name"),
        (json!({ "secrets": { "TOKEN": "my-secret" } }), "secrets"),
        (
            json!({ "mounts": [{ "type": "code_mount", "repo_name": "r", "repo_owner": "o" }] }),
            "code_mount",
        ),
        (
            json!({ "launch_parameters": { "network_policy_id": "np_1" } }),
            "network_policy_id",
        ),
        (
            json!({ "launch_parameters": { "user_parameters": { "uid": 1000, "username": "u" } } }),
            "user_parameters",
        ),
        (
            json!({ "launch_parameters": { "keep_alive_time_seconds": 0 } }),
            "keep_alive_time_seconds",
        ),
        (
            json!({ "launch_parameters": { "architecture": "sparc" } }),
            "architecture",
        ),
        (json!({ "name": 5 }), "name"),
        (
            json!({ "launch_parameters": { "launch_commands": "ls" } }),
            "launch_commands",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = server.post("/v1/devboxes", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        let message = error["message"].as_str().expect("message");
        assert!(message.contains(field), "{body}: {message}");
    }

    let (status, listed) = server.get("/v1/devboxes").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed["devboxes"],
        json!([]),
        "a rejected create left a devbox"
    );

    server.stop().await;
}

#[tokio::test]
async fn launch_commands_run_in_order_before_running() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({
            "environment_variables": { "THIRD": "three" },
            "launch_parameters": { "launch_commands": [
                "echo one > /tmp/order",
                "echo two >> /tmp/order",
                "echo $THIRD >> /tmp/order"
            ] }
        }))
        .await;

    let (status, text) = server.read_file(&id, "/tmp/order").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "one\ntwo\nthree\n");

    let exits: Vec<Value> = logs(&server, &id)
        .await
        .into_iter()
        .filter(|entry| entry["source"] == "setup_commands" && !entry["exit_code"].is_null())
        .map(|entry| entry["exit_code"].clone())
        .collect();
    assert_eq!(exits, [json!(0), json!(0), json!(0)]);

    server.stop().await;
}

#[tokio::test]
async fn launch_command_daemon_survives_boot() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({ "launch_parameters": { "launch_commands": [
            "(while :; do echo tick; date +%s%N > /tmp/tick; sleep 0.05; done) &"
        ] } }))
        .await;

    // The daemon still writes to the launch command's stdout after the boot finished.
    let alive = server
        .exec(
            &id,
            "sleep 0.5; a=$(cat /tmp/tick); sleep 0.3; b=$(cat /tmp/tick); [ \"$a\" != \"$b\" ]",
        )
        .await;
    assert_eq!(alive["exit_status"], 0, "the daemon stopped: {alive}");
    let ticks = logs(&server, &id)
        .await
        .into_iter()
        .filter(|entry| entry["source"] == "setup_commands" && entry["message"] == "tick")
        .count();
    assert!(ticks > 5, "only {ticks} daemon lines were logged");

    server.stop().await;
}

#[tokio::test]
async fn failing_launch_command_fails_devbox() {
    let mut server = TestServer::start();
    let id = create(
        &server,
        json!({ "launch_parameters": { "launch_commands": [
            "true",
            "echo broken >&2; exit 7",
            "touch /tmp/never"
        ] } }),
    )
    .await;

    let view = await_any(&server, &id, &["running", "failure", "shutdown"]).await;
    assert_eq!(view["status"], "failure", "{view}");
    assert_eq!(view["failure_reason"], "execution_failed");
    assert!(view["shutdown_reason"].is_null());
    assert!(view["end_time_ms"].is_i64());
    let transition = last_transition(&view);
    assert_eq!(transition["status"], "failure");
    let reason = transition["failure_reason"].as_str().expect("reason");
    assert!(reason.contains("launch command 2 of 3"), "{reason}");
    assert!(reason.contains("status 7"), "{reason}");
    assert!(!view["state_transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .any(|transition| transition["status"] == "running"));

    let entries = logs(&server, &id).await;
    assert!(
        entries
            .iter()
            .any(|entry| entry["source"] == "setup_commands"
                && entry["message"] == "broken"
                && entry["level"] == "error"),
        "{entries:?}"
    );
    assert!(
        entries.iter().any(|entry| entry["exit_code"] == 7),
        "{entries:?}"
    );
    assert!(
        !entries
            .iter()
            .any(|entry| entry["cmd"] == "touch /tmp/never"),
        "a command after the failure ran: {entries:?}"
    );
    assert!(
        devbox_cgroups(&id).is_empty(),
        "failed devbox kept its cgroup"
    );

    server.stop().await;
}

#[tokio::test]
async fn entrypoint_exit_shuts_down() {
    let mut server = TestServer::start();
    let id = create(
        &server,
        json!({
            "environment_variables": { "WHO": "entry" },
            "entrypoint": "echo started-$WHO; exit 3"
        }),
    )
    .await;

    let view = await_any(&server, &id, &["shutdown", "failure"]).await;
    assert_eq!(view["status"], "shutdown", "{view}");
    assert_eq!(view["shutdown_reason"], "entrypoint_exit");
    assert!(view["failure_reason"].is_null());

    let entries: Vec<Value> = logs(&server, &id)
        .await
        .into_iter()
        .filter(|entry| entry["source"] == "entrypoint")
        .collect();
    assert!(
        entries
            .iter()
            .any(|entry| entry["message"] == "started-entry"),
        "{entries:?}"
    );
    assert!(
        entries.iter().any(|entry| entry["exit_code"] == 3),
        "{entries:?}"
    );
    assert!(
        devbox_cgroups(&id).is_empty(),
        "cgroup left after the entrypoint exited"
    );

    server.stop().await;
}

#[tokio::test]
async fn entrypoint_runs_until_api_shutdown() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({ "entrypoint": "echo $$ > /tmp/main.pid; exec sleep 1000" }))
        .await;

    let alive = server
        .exec(
            &id,
            "until [ -s /tmp/main.pid ]; do sleep 0.02; done; kill -0 $(cat /tmp/main.pid) && echo alive",
        )
        .await;
    assert_eq!(alive["stdout"], "alive\n", "{alive}");

    let (status, view) = server
        .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["shutdown_reason"], "api_shutdown");
    let (_, later) = server.get(&format!("/v1/devboxes/{id}")).await;
    assert_eq!(later["shutdown_reason"], "api_shutdown");

    server.stop().await;
}

#[tokio::test]
async fn wait_for_status_answers_at_once_when_reached() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let started = std::time::Instant::now();
    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["running"], "timeout_seconds": 30 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["status"], "running");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["sleeping"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    server.stop().await;
}
