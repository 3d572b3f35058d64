//! Authentication, routing, error bodies and HTTP versions.

use reqwest::{Client, StatusCode, Version};
use serde_json::{json, Value};

use crate::common::{TestServer, TOKEN};

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let mut server = TestServer::start();
    let anonymous = Client::new();

    for (label, request) in [
        (
            "no header",
            anonymous.get(format!("{}/v1/devboxes", server.base_url)),
        ),
        (
            "wrong token",
            anonymous
                .get(format!("{}/v1/devboxes", server.base_url))
                .bearer_auth("not-the-token"),
        ),
        (
            "unknown route",
            anonymous.get(format!("{}/v1/nothing", server.base_url)),
        ),
    ] {
        let response = request.send().await.expect("request reaches the server");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{label}");
        let body: Value = response.json().await.expect("JSON body");
        assert!(body["message"].is_string(), "{label}: {body}");
    }

    server.stop().await;
}

#[tokio::test]
async fn unknown_route_and_method_are_json() {
    let mut server = TestServer::start();

    let (status, body) = server.get("/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string(), "{body}");

    let response = server
        .client
        .delete(format!("{}/v1/devboxes", server.base_url))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.expect("JSON body");
    assert!(body["message"].is_string(), "{body}");

    server.stop().await;
}

#[tokio::test]
async fn non_object_json_body_is_400() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let path = format!("/v1/devboxes/{id}/write_file_contents");
    for body in [
        json!(["/home/user/positional.txt", "x"]),
        json!("text"),
        json!(null),
        json!(5),
    ] {
        let (status, response) = server.post(&path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        let message = response["message"].as_str().expect("message");
        assert!(message.contains("JSON object"), "{body}: {message}");
    }
    let (status, _) = server.read_file(&id, "positional.txt").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an array body wrote the file"
    );

    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/execute_sync"),
            json!(["echo positional"]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    server.stop().await;
}

#[tokio::test]
async fn malformed_json_is_400_json() {
    let mut server = TestServer::start();

    let response = server
        .client
        .post(format!("{}/v1/devboxes", server.base_url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON body");
    assert!(body["message"].is_string(), "{body}");

    let (status, body) = server.post("/v1/devboxes", json!({ "name": 5 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().expect("message").contains("name"),
        "{body}"
    );

    let (status, body) = server
        .post(
            "/v1/devboxes/dbx_any/wait_for_status",
            json!({ "statuses": ["sleeping"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    server.stop().await;
}

#[tokio::test]
async fn empty_body_reads_as_empty_object() {
    let mut server = TestServer::start();

    let response = server
        .client
        .post(format!("{}/v1/devboxes", server.base_url))
        .header("content-type", "application/json")
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), StatusCode::OK);
    let view: Value = response.json().await.expect("JSON body");
    server.track(view["id"].as_str().expect("id"));

    server.stop().await;
}

#[tokio::test]
async fn literal_segments_win_over_ids() {
    let mut server = TestServer::start();

    let (status, list) = server.get("/v1/devboxes/disk_snapshots").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list["snapshots"].is_array());

    server.stop().await;
}

#[tokio::test]
async fn cleartext_http2_is_served() {
    let mut server = TestServer::start();
    let client = Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("HTTP/2 client can be built");

    let response = client
        .get(format!("{}/v1/devboxes", server.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);

    server.stop().await;
}
