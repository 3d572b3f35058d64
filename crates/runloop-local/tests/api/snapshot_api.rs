//! The snapshot list, update and delete endpoints: filters, paging, update semantics and
//! the 404s a deleted snapshot returns.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::snapshot_support::{
    await_capture, delete_snapshot, id_of, listed_ids, start_capture, start_configured,
};

/// Lists snapshots with the raw query string `query` and returns the page.
async fn list(server: &TestServer, query: &str) -> Value {
    let (status, page) = server
        .get(&format!("/v1/devboxes/disk_snapshots?{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "list with {query}: {page}");
    page
}

#[tokio::test]
async fn list_filters_by_devbox_and_metadata() {
    let mut server = TestServer::start();
    let first_box = server.create_running(json!({})).await;
    let second_box = server.create_running(json!({})).await;
    let a_prod = id_of(
        &server
            .snapshot(
                &first_box,
                json!({ "metadata": { "team": "a", "env": "prod" } }),
            )
            .await,
    );
    let b_prod = id_of(
        &server
            .snapshot(
                &first_box,
                json!({ "metadata": { "team": "b", "env": "prod" } }),
            )
            .await,
    );
    let a_dev = id_of(
        &server
            .snapshot(
                &second_box,
                json!({ "metadata": { "team": "a", "env": "dev" } }),
            )
            .await,
    );
    let none = id_of(&server.snapshot(&second_box, json!({})).await);

    let cases: [(&str, Vec<&String>); 12] = [
        ("", vec![&none, &a_dev, &b_prod, &a_prod]),
        (&format!("devbox_id={first_box}"), vec![&b_prod, &a_prod]),
        ("metadata[team]=a", vec![&a_dev, &a_prod]),
        ("metadata%5Bteam%5D=a", vec![&a_dev, &a_prod]),
        ("metadata[team][in]=a,b", vec![&a_dev, &b_prod, &a_prod]),
        ("metadata%5Benv%5D%5Bin%5D=dev%2Cnone", vec![&a_dev]),
        ("metadata[team]=a&metadata[env]=prod", vec![&a_prod]),
        (
            "metadata%5Bteam%5D=a&metadata%5Benv%5D%5Bin%5D=dev,prod",
            vec![&a_dev, &a_prod],
        ),
        (
            &format!("devbox_id={second_box}&metadata[team]=a"),
            vec![&a_dev],
        ),
        ("metadata[team]=c", vec![]),
        ("metadata[missing]=", vec![]),
        ("source_blueprint_id=bpt_any", vec![]),
    ];
    for (query, expected) in cases {
        let page = list(&server, query).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(listed_ids(&page), expected, "query {query:?}");
        assert_eq!(page["total_count"], expected.len(), "query {query:?}");
        assert_eq!(page["has_more"], false, "query {query:?}");
    }

    let page = list(&server, "metadata[team]=a&include_total_count=false").await;
    assert_eq!(listed_ids(&page), [a_dev.clone(), a_prod.clone()]);
    assert_eq!(page["total_count"], 0);

    for bad in [
        "metadata[]=x",
        "metadata[team=x",
        "limit=many",
        "limit=0",
        "include_total_count=maybe",
        "starting_after=snp_unknown",
        "devbox_id=a&devbox_id=b",
    ] {
        let (status, body) = server
            .get(&format!("/v1/devboxes/disk_snapshots?{bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["message"].is_string(), "{bad}: {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn list_pages_through_a_filter() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    let mut tagged = Vec::new();
    for index in 0..5 {
        tagged.push(id_of(
            &server
                .snapshot(&source, json!({ "metadata": { "group": "paged" } }))
                .await,
        ));
        if index % 2 == 0 {
            server.snapshot(&source, json!({})).await;
        }
    }
    tagged.reverse();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor
            .as_ref()
            .map(|id| format!("&starting_after={id}"))
            .unwrap_or_default();
        let page = list(&server, &format!("metadata[group]=paged&limit=2{after}")).await;
        assert_eq!(page["total_count"], 5, "{page}");
        let ids = listed_ids(&page);
        assert!(ids.len() <= 2, "{page}");
        seen.extend(ids.iter().cloned());
        if page["has_more"] == false {
            break;
        }
        cursor = ids.last().cloned();
    }
    assert_eq!(
        seen, tagged,
        "pages cover the filtered list once, newest first"
    );
    server.stop().await;
}

#[tokio::test]
async fn update_replaces_only_given_fields() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    let snapshot = server
        .snapshot(
            &source,
            json!({ "name": "a", "metadata": { "x": "1", "y": "2" }, "commit_message": "first" }),
        )
        .await;
    let id = id_of(&snapshot);
    let path = format!("/v1/devboxes/disk_snapshots/{id}");

    let (status, updated) = server
        .post(&path, json!({ "metadata": { "z": "3" } }))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["metadata"],
        json!({ "z": "3" }),
        "the map is replaced whole"
    );
    assert_eq!(updated["name"], "a", "an omitted name stays");
    assert_eq!(
        updated["commit_message"], "first",
        "an omitted message stays"
    );

    let (_, updated) = server
        .post(&path, json!({ "name": null, "commit_message": "second" }))
        .await;
    assert_eq!(updated["name"], "a", "null counts as omitted");
    assert_eq!(updated["commit_message"], "second");
    assert_eq!(updated["metadata"], json!({ "z": "3" }));

    let (_, updated) = server
        .post(
            &path,
            json!({ "name": "", "commit_message": "", "metadata": {} }),
        )
        .await;
    assert_eq!(updated["name"], Value::Null, "an empty name clears it");
    assert_eq!(updated["commit_message"], Value::Null);
    assert_eq!(updated["metadata"], json!({}));
    for field in ["id", "create_time_ms", "source_devbox_id", "size_bytes"] {
        assert_eq!(updated[field], snapshot[field], "{field} never changes");
    }

    let (status, body) = server
        .post(&path, json!({ "commit_message": "x".repeat(1001) }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, updated) = server
        .post(&path, json!({ "commit_message": "x".repeat(1000) }))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");

    let (_, page) = server.get("/v1/devboxes/disk_snapshots").await;
    assert_eq!(page["snapshots"][0], updated, "the list shows the update");

    let (status, _) = server
        .post(
            "/v1/devboxes/disk_snapshots/snp_missing",
            json!({ "name": "c" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn deleted_snapshot_answers_not_found() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    let kept = id_of(&server.snapshot(&source, json!({})).await);
    let doomed = id_of(&server.snapshot(&source, json!({ "name": "doomed" })).await);

    let (status, deleted) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{doomed}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(
        deleted["name"], "doomed",
        "delete returns the snapshot as it was"
    );

    let (status, body) = server
        .get(&format!("/v1/devboxes/disk_snapshots/{doomed}/status"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let page = list(&server, "").await;
    assert_eq!(listed_ids(&page), [kept]);
    assert_eq!(page["total_count"], 1);

    for (path, body) in [
        ("/v1/devboxes".to_owned(), json!({ "snapshot_id": doomed })),
        (
            "/v1/devboxes/create_and_await_running".to_owned(),
            json!({ "snapshot_id": doomed }),
        ),
        (
            format!("/v1/devboxes/disk_snapshots/{doomed}/delete"),
            json!({}),
        ),
        (
            format!("/v1/devboxes/disk_snapshots/{doomed}"),
            json!({ "name": "again" }),
        ),
    ] {
        let (status, body) = server.post(&path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn capture_in_progress_cannot_be_deleted() {
    let mut server = start_configured(|config| config.capture_delay = Duration::from_secs(2));
    let source = server.create_running(json!({})).await;
    let id = start_capture(&server, &source, json!({})).await;

    let (status, body) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{id}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    assert_eq!(await_capture(&server, &id).await["status"], "complete");
    delete_snapshot(&server, &id).await;
    server.stop().await;
}
