//! Devbox lifecycle over HTTP.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;

#[tokio::test]
async fn create_boots_to_running() {
    let mut server = TestServer::start();

    let (status, created) = server.post("/v1/devboxes", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    server.track(&id);
    assert!(id.starts_with("dbx_"), "unexpected id {id}");
    assert_eq!(created["status"], "provisioning");
    assert!(created["end_time_ms"].is_null());

    let (status, running) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["running", "failure"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{running}");
    assert_eq!(running["status"], "running");

    let (status, fetched) = server.get(&format!("/v1/devboxes/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let transitions: Vec<&str> = fetched["state_transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|transition| transition["status"].as_str().expect("status"))
        .collect();
    assert_eq!(transitions, ["provisioning", "initializing", "running"]);

    server.stop().await;
}

#[tokio::test]
async fn create_and_await_running_keeps_fields() {
    let mut server = TestServer::start();

    let id = server
        .create_running(json!({ "name": "box", "metadata": { "team": "a" } }))
        .await;
    let (_, view) = server.get(&format!("/v1/devboxes/{id}")).await;
    assert_eq!(view["name"], "box");
    assert_eq!(view["metadata"], json!({ "team": "a" }));

    server.stop().await;
}

#[tokio::test]
async fn unknown_devbox_is_404() {
    let mut server = TestServer::start();

    let (status, body) = server.get("/v1/devboxes/dbx_missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("dbx_missing"),
        "{body}"
    );

    let (status, _) = server
        .post(
            "/v1/devboxes/dbx_missing/execute",
            json!({ "command": "true" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    server.stop().await;
}

#[tokio::test]
async fn list_pages_with_starting_after() {
    let mut server = TestServer::start();
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(server.create_running(json!({})).await);
    }

    let (status, first) = server.get("/v1/devboxes?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let first_ids: Vec<&str> = first["devboxes"]
        .as_array()
        .expect("devboxes")
        .iter()
        .map(|devbox| devbox["id"].as_str().expect("id"))
        .collect();
    assert_eq!(first_ids, [created[2].as_str(), created[1].as_str()]);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["total_count"], 3);

    let (status, second) = server
        .get(&format!(
            "/v1/devboxes?limit=2&starting_after={}",
            first_ids[1]
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let second_ids: Vec<&str> = second["devboxes"]
        .as_array()
        .expect("devboxes")
        .iter()
        .map(|devbox| devbox["id"].as_str().expect("id"))
        .collect();
    assert_eq!(second_ids, [created[0].as_str()]);
    assert_eq!(second["has_more"], false);

    let (status, _) = server
        .post(&format!("/v1/devboxes/{}/shutdown", created[0]), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, filtered) = server.get("/v1/devboxes?status=shutdown").await;
    assert_eq!(filtered["devboxes"].as_array().expect("devboxes").len(), 1);
    assert_eq!(filtered["devboxes"][0]["id"], created[0].as_str());

    let (status, _) = server.get("/v1/devboxes?starting_after=dbx_nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    server.stop().await;
}

#[tokio::test]
async fn update_patches_name_and_metadata() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({ "name": "old", "metadata": { "k": "v" } }))
        .await;
    let path = format!("/v1/devboxes/{id}");

    let (status, renamed) = server.post(&path, json!({ "name": "new" })).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "new");
    assert_eq!(renamed["metadata"], json!({ "k": "v" }));

    let (_, cleared) = server.post(&path, json!({ "metadata": {} })).await;
    assert_eq!(cleared["metadata"], json!({}));
    assert_eq!(cleared["name"], "new");

    let (_, unnamed) = server.post(&path, json!({ "name": "" })).await;
    assert!(unnamed["name"].is_null());

    server.stop().await;
}

#[tokio::test]
async fn wait_for_status_returns_408_after_hold() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let started = Instant::now();
    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["shutdown"], "timeout_seconds": 0.5 }),
        )
        .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert!(body["message"].is_string(), "{body}");
    assert!(started.elapsed() >= Duration::from_millis(450));

    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["running"], "timeout_seconds": 5 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["status"], "running");

    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_devbox_and_rejects_work() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, view) = server
        .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "shutdown");
    assert_eq!(view["shutdown_reason"], "api_shutdown");
    assert!(view["end_time_ms"].is_i64());

    let (_, fetched) = server.get(&format!("/v1/devboxes/{id}")).await;
    assert_eq!(fetched["status"], "shutdown");

    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/execute"),
            json!({ "command": "true" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("shutdown"));

    let (status, _) = server.read_file(&id, "x").await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, again) = server
        .post(&format!("/v1/devboxes/{id}/shutdown?force=true"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["status"], "shutdown");

    server.stop().await;
}

#[tokio::test]
async fn create_from_unknown_snapshot_is_404() {
    let mut server = TestServer::start();

    let (status, body) = server
        .post("/v1/devboxes", json!({ "snapshot_id": "snp_missing" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("snp_missing"));

    server.stop().await;
}

#[tokio::test]
async fn unsupported_create_option_is_400() {
    let mut server = TestServer::start();

    let (status, body) = server
        .post("/v1/devboxes", json!({ "tunnel": { "auth_mode": "open" } }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("tunnel"));

    server.stop().await;
}

#[tokio::test]
async fn wait_for_status_on_final_devbox_is_409() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let (status, view) = server
        .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");

    let requested = Instant::now();
    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["running"], "timeout_seconds": 20 }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("shutdown"), "{message}");
    assert!(message.contains("final"), "{message}");
    assert!(requested.elapsed() < Duration::from_secs(2));

    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["running", "shutdown"], "timeout_seconds": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "shutdown");

    server.stop().await;
}
