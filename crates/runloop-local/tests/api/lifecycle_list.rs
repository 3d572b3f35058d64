//! Devbox list filters and paging, update semantics and malformed requests over HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::TestServer;

fn ids(page: &Value) -> Vec<String> {
    page["devboxes"]
        .as_array()
        .expect("devboxes")
        .iter()
        .map(|devbox| devbox["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn list_filters_and_pages() {
    let mut server = TestServer::start();
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(server.create_running(json!({})).await);
    }
    for id in &created[..2] {
        let (status, _) = server
            .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let path = match &cursor {
            None => "/v1/devboxes?limit=2".to_owned(),
            Some(last) => format!("/v1/devboxes?limit=2&starting_after={last}"),
        };
        let (status, page) = server.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total_count"], 5, "{page}");
        let page_ids = ids(&page);
        pages.push((
            page_ids.len(),
            page["has_more"].as_bool().expect("has_more"),
        ));
        cursor = page_ids.last().cloned();
        seen.extend(page_ids);
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(pages, [(2, true), (2, true), (1, false)]);
    assert_eq!(seen, newest_first);

    let (status, running) = server.get("/v1/devboxes?status=running").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&running), newest_first[..3]);
    assert_eq!(running["total_count"], 3);
    assert!(running["devboxes"]
        .as_array()
        .expect("devboxes")
        .iter()
        .all(|devbox| devbox["status"] == "running"));

    let (status, ended) = server
        .get("/v1/devboxes?status=shutdown&limit=1&include_total_count=true")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&ended), [created[1].clone()]);
    assert_eq!(ended["has_more"], true);
    assert_eq!(ended["total_count"], 2);

    let (status, uncounted) = server.get("/v1/devboxes?include_total_count=false").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(uncounted["total_count"], 0);
    assert_eq!(ids(&uncounted).len(), 5);

    let (status, none) = server.get("/v1/devboxes?status=suspended").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none["devboxes"], json!([]));
    assert_eq!(none["has_more"], false);

    for bad in [
        "/v1/devboxes?status=sleeping",
        "/v1/devboxes?limit=abc",
        "/v1/devboxes?limit=0",
        "/v1/devboxes?include_total_count=maybe",
        "/v1/devboxes?starting_after=dbx_unknown",
    ] {
        let (status, body) = server.get(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["message"].is_string(), "{bad}: {body}");
    }

    server.stop().await;
}

#[tokio::test]
async fn update_follows_patch_semantics() {
    let mut server = TestServer::start();
    let id = server
        .create_running(json!({ "name": "start", "metadata": { "a": "1" } }))
        .await;
    let path = format!("/v1/devboxes/{id}");

    // Each step: the update body, then the name and metadata expected afterwards.
    let steps = [
        (json!({}), json!("start"), json!({ "a": "1" })),
        (
            json!({ "name": "renamed" }),
            json!("renamed"),
            json!({ "a": "1" }),
        ),
        (
            json!({ "metadata": { "b": "2" } }),
            json!("renamed"),
            json!({ "b": "2" }),
        ),
        (
            json!({ "name": "both", "metadata": { "c": "3", "d": "4" } }),
            json!("both"),
            json!({ "c": "3", "d": "4" }),
        ),
        (json!({ "metadata": {} }), json!("both"), json!({})),
        (json!({ "name": "" }), Value::Null, json!({})),
        (json!({ "name": "back" }), json!("back"), json!({})),
    ];
    for (body, name, metadata) in steps {
        let (status, view) = server.post(&path, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {view}");
        assert_eq!(view["name"], name, "after {body}");
        assert_eq!(view["metadata"], metadata, "after {body}");
        let (_, stored) = server.get(&path).await;
        assert_eq!(stored["name"], name, "stored after {body}");
        assert_eq!(stored["metadata"], metadata, "stored after {body}");
    }

    let (status, _) = server
        .post("/v1/devboxes/dbx_missing", json!({ "name": "x" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = server.post(&path, json!({ "metadata": { "k": 1 } })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("metadata"),
        "{body}"
    );

    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let raw_posts = [
        ("/v1/devboxes".to_owned(), "{\"name\": "),
        ("/v1/devboxes".to_owned(), "[1, 2]"),
        (format!("/v1/devboxes/{id}"), "{\"name\": [\"x\"]}"),
        (
            format!("/v1/devboxes/{id}/wait_for_status"),
            "{\"statuses\": \"running\"}",
        ),
        (format!("/v1/devboxes/{id}/download_file"), "{\"path\": 7}"),
        (format!("/v1/devboxes/{id}/read_file_contents"), "not json"),
        (
            format!("/v1/devboxes/{id}/write_file_contents"),
            "{\"file_path\": \"a\"}",
        ),
    ];
    for (path, body) in raw_posts {
        let response = server
            .client
            .post(format!("{}{path}", server.base_url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request reaches the server");
        let status = response.status();
        let error: Value = response.json().await.expect("JSON error body");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {error}");
        assert!(error["message"].is_string(), "{path} {body}: {error}");
    }

    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/shutdown?force=perhaps"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().expect("message").contains("force"));

    let (status, view) = server.get(&format!("/v1/devboxes/{id}")).await;
    assert_eq!(status, StatusCode::OK, "server stopped serving: {view}");
    assert_eq!(view["status"], "running");

    server.stop().await;
}
