//! Disk snapshots over HTTP: capture, restore, isolation, layering, paging and deletion.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use runloop_local::Config;
use serde_json::{json, Value};

use crate::common::{TestServer, TOKEN};

/// Polls the snapshot's status until it leaves `in_progress`; returns the final status view.
async fn await_capture(server: &TestServer, snapshot_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, view) = server
            .get(&format!("/v1/devboxes/disk_snapshots/{snapshot_id}/status"))
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        if view["status"] != "in_progress" {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "capture of {snapshot_id} never finished"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Returns the names of the layer directories in the server's data dir.
fn layer_dirs(server: &TestServer) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(server.data_dir.join("layers"))
        .expect("layers dir exists")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.chars().all(|c| c.is_ascii_digit()))
        .collect();
    names.sort();
    names
}

fn ids(list: &Value) -> Vec<String> {
    list["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .map(|snapshot| snapshot["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn sync_snapshot_restores_files() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    server.write_file(&source, "saved.txt", "kept").await;

    let snapshot = server
        .snapshot(
            &source,
            json!({ "name": "first", "metadata": { "k": "v" }, "commit_message": "msg" }),
        )
        .await;
    let snapshot_id = snapshot["id"].as_str().expect("id").to_owned();
    assert!(snapshot_id.starts_with("snp_"), "{snapshot}");
    assert_eq!(snapshot["source_devbox_id"], source.as_str());
    assert_eq!(snapshot["name"], "first");
    assert_eq!(snapshot["metadata"], json!({ "k": "v" }));
    assert_eq!(snapshot["commit_message"], "msg");
    let size = snapshot["size_bytes"].as_u64().expect("size");
    assert!(
        (4..1_000_000).contains(&size),
        "size {size} is not the layer's own"
    );

    let status = await_capture(&server, &snapshot_id).await;
    assert_eq!(status["status"], "complete");
    assert_eq!(status["snapshot"]["id"], snapshot_id.as_str());

    let restored = server
        .create_running(json!({ "snapshot_id": snapshot_id }))
        .await;
    let (_, view) = server.get(&format!("/v1/devboxes/{restored}")).await;
    assert_eq!(view["snapshot_id"], snapshot_id.as_str());
    assert_eq!(
        server.read_file(&restored, "saved.txt").await,
        (StatusCode::OK, "kept".to_owned())
    );

    server.stop().await;
}

#[tokio::test]
async fn async_snapshot_reports_completion() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    server.write_file(&source, "async.txt", "later").await;

    let (status, snapshot) = server
        .post(
            &format!("/v1/devboxes/{source}/snapshot_disk_async"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{snapshot}");
    let snapshot_id = snapshot["id"].as_str().expect("id").to_owned();
    assert!(snapshot["size_bytes"].is_null());

    let status = await_capture(&server, &snapshot_id).await;
    assert_eq!(status["status"], "complete", "{status}");
    assert!(status["snapshot"]["size_bytes"].as_u64().expect("size") >= 5);

    let restored = server
        .create_running(json!({ "snapshot_id": snapshot_id }))
        .await;
    assert_eq!(
        server.read_file(&restored, "async.txt").await,
        (StatusCode::OK, "later".to_owned())
    );

    server.stop().await;
}

#[tokio::test]
async fn devboxes_from_one_snapshot_are_isolated() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    server.write_file(&source, "shared.txt", "base").await;
    let snapshot = server.snapshot(&source, json!({})).await;
    let snapshot_id = snapshot["id"].as_str().expect("id");

    let first = server
        .create_running(json!({ "snapshot_id": snapshot_id }))
        .await;
    let second = server
        .create_running(json!({ "snapshot_id": snapshot_id }))
        .await;

    server.write_file(&first, "only-first.txt", "1").await;
    server.write_file(&first, "shared.txt", "changed").await;

    let (status, _) = server.read_file(&second, "only-first.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.read_file(&second, "shared.txt").await,
        (StatusCode::OK, "base".to_owned())
    );
    let probe = server
        .exec(&second, "test -e /home/user/only-first.txt")
        .await;
    assert_eq!(probe["exit_status"], 1);

    server.stop().await;
}

#[tokio::test]
async fn snapshot_chain_keeps_changes_and_deletions() {
    let mut server = TestServer::start();
    let first_box = server.create_running(json!({})).await;
    server.write_file(&first_box, "one.txt", "1").await;
    server
        .write_file(&first_box, "gone.txt", "soon deleted")
        .await;
    let first = server.snapshot(&first_box, json!({})).await;
    let first_id = first["id"].as_str().expect("id").to_owned();

    let second_box = server
        .create_running(json!({ "snapshot_id": first_id }))
        .await;
    server.write_file(&second_box, "two.txt", "22").await;
    let removed = server
        .exec(&second_box, "rm /home/user/gone.txt && rm /etc/hostname")
        .await;
    assert_eq!(removed["exit_status"], 0, "{removed}");
    let second = server.snapshot(&second_box, json!({})).await;
    let second_id = second["id"].as_str().expect("id").to_owned();
    assert!(
        second["size_bytes"].as_u64().expect("size") < 100,
        "the second layer should hold only its own changes: {second}"
    );

    let (status, _) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{first_id}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let third_box = server
        .create_running(json!({ "snapshot_id": second_id }))
        .await;
    assert_eq!(
        server.read_file(&third_box, "one.txt").await,
        (StatusCode::OK, "1".to_owned())
    );
    assert_eq!(
        server.read_file(&third_box, "two.txt").await,
        (StatusCode::OK, "22".to_owned())
    );
    let probe = server
        .exec(
            &third_box,
            "test -e /home/user/gone.txt; echo $?; test -e /etc/hostname; echo $?",
        )
        .await;
    assert_eq!(probe["stdout"], "1\n1\n");

    server.stop().await;
}

#[tokio::test]
async fn deleted_snapshot_is_gone() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    let snapshot = server.snapshot(&source, json!({ "name": "doomed" })).await;
    let snapshot_id = snapshot["id"].as_str().expect("id").to_owned();

    let (status, deleted) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{snapshot_id}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");

    let (status, body) = server
        .get(&format!("/v1/devboxes/disk_snapshots/{snapshot_id}/status"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());

    let (_, list) = server.get("/v1/devboxes/disk_snapshots").await;
    assert!(!ids(&list).contains(&snapshot_id));

    let (status, _) = server
        .post("/v1/devboxes", json!({ "snapshot_id": snapshot_id }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{snapshot_id}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(layer_dirs(&server).is_empty(), "{:?}", layer_dirs(&server));

    server.stop().await;
}

#[tokio::test]
async fn layer_lives_while_a_devbox_uses_it() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    server.write_file(&source, "base.txt", "from layer").await;
    let snapshot = server.snapshot(&source, json!({})).await;
    let snapshot_id = snapshot["id"].as_str().expect("id").to_owned();
    let user = server
        .create_running(json!({ "snapshot_id": snapshot_id }))
        .await;

    let (status, _) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{snapshot_id}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(layer_dirs(&server).len(), 1);
    assert_eq!(
        server.read_file(&user, "base.txt").await,
        (StatusCode::OK, "from layer".to_owned())
    );

    let child = server.snapshot(&user, json!({})).await;
    let child_id = child["id"].as_str().expect("id").to_owned();
    let (status, _) = server
        .post(&format!("/v1/devboxes/{user}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(layer_dirs(&server).len(), 2);

    let restored = server
        .create_running(json!({ "snapshot_id": child_id }))
        .await;
    assert_eq!(
        server.read_file(&restored, "base.txt").await,
        (StatusCode::OK, "from layer".to_owned())
    );
    let (status, _) = server
        .post(&format!("/v1/devboxes/{restored}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{child_id}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(layer_dirs(&server).is_empty(), "{:?}", layer_dirs(&server));

    server.stop().await;
}

#[tokio::test]
async fn snapshot_list_filters_and_pages() {
    let mut server = TestServer::start();
    let first_box = server.create_running(json!({})).await;
    let second_box = server.create_running(json!({})).await;
    let oldest = server.snapshot(&first_box, json!({})).await;
    let other = server.snapshot(&second_box, json!({})).await;
    let newest = server.snapshot(&first_box, json!({})).await;

    let (status, all) = server.get("/v1/devboxes/disk_snapshots").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(
        ids(&all),
        [&newest["id"], &other["id"], &oldest["id"]].map(|id| id.as_str().expect("id").to_owned())
    );
    assert_eq!(all["total_count"], 3);

    let (_, page) = server
        .get(&format!(
            "/v1/devboxes/disk_snapshots?devbox_id={first_box}&limit=1"
        ))
        .await;
    assert_eq!(ids(&page), [newest["id"].as_str().expect("id")]);
    assert_eq!(page["has_more"], true);
    assert_eq!(page["total_count"], 2);

    let (_, next) = server
        .get(&format!(
            "/v1/devboxes/disk_snapshots?devbox_id={first_box}&limit=1&starting_after={}",
            newest["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(ids(&next), [oldest["id"].as_str().expect("id")]);
    assert_eq!(next["has_more"], false);

    server.stop().await;
}

#[tokio::test]
async fn snapshot_update_replaces_given_fields() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    let snapshot = server
        .snapshot(
            &source,
            json!({ "name": "a", "metadata": { "x": "1", "y": "2" }, "commit_message": "keep" }),
        )
        .await;
    let snapshot_id = snapshot["id"].as_str().expect("id");

    let (status, updated) = server
        .post(
            &format!("/v1/devboxes/disk_snapshots/{snapshot_id}"),
            json!({ "name": "b", "metadata": { "z": "3" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "b");
    assert_eq!(updated["metadata"], json!({ "z": "3" }));
    assert_eq!(updated["commit_message"], "keep");

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
async fn shutdown_waits_for_capture_unless_forced() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    let filled = server
        .exec(&source, "head -c 1G /dev/zero > /home/user/big")
        .await;
    assert_eq!(filled["exit_status"], 0, "{filled}");

    let (status, snapshot) = server
        .post(
            &format!("/v1/devboxes/{source}/snapshot_disk_async"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{snapshot}");
    let snapshot_id = snapshot["id"].as_str().expect("id").to_owned();

    let (status, body) = server
        .post(&format!("/v1/devboxes/{source}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{source}/shutdown?force=true"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "shutdown");

    let status = await_capture(&server, &snapshot_id).await;
    assert_eq!(status["status"], "error", "{status}");
    assert!(status["error_message"].is_string());

    server.stop().await;
}

#[tokio::test]
async fn capture_past_deadline_ends_as_error() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut config = Config::new(dir.path(), TOKEN);
    config.snapshot_timeout = Duration::from_millis(1);
    config.capture_delay = Duration::from_secs(600);
    let mut server = TestServer::start_with(config);
    let source = server.create_running(json!({})).await;

    let (status, snapshot) = server
        .post(
            &format!("/v1/devboxes/{source}/snapshot_disk_async"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{snapshot}");
    let status = await_capture(&server, snapshot["id"].as_str().expect("id")).await;
    assert_eq!(status["status"], "error", "{status}");
    assert!(status["error_message"].is_string(), "{status}");

    let view = server.exec(&source, "echo still-running").await;
    assert_eq!(view["stdout"], "still-running\n");

    server.stop().await;
}

#[tokio::test]
async fn snapshot_preserves_file_metadata() {
    let mut server = TestServer::start();
    let source = server.create_running(json!({})).await;
    let setup = server
        .exec(
            &source,
            "set -e; cd /home/user; \
             echo s > setuid; chmod 4755 setuid; \
             mkdir sticky; chmod 1777 sticky; \
             echo o > owned; chown 1234:5678 owned; \
             ln -s setuid link; echo h > first; ln first second; \
             mkdir -p opaque; touch opaque/old",
        )
        .await;
    assert_eq!(setup["exit_status"], 0, "{setup}");
    let first = server.snapshot(&source, json!({})).await;

    let middle = server
        .create_running(json!({ "snapshot_id": first["id"] }))
        .await;
    let replaced = server
        .exec(
            &middle,
            "rm -r /home/user/opaque && mkdir /home/user/opaque && touch /home/user/opaque/new",
        )
        .await;
    assert_eq!(replaced["exit_status"], 0, "{replaced}");
    let second = server.snapshot(&middle, json!({})).await;

    let restored = server
        .create_running(json!({ "snapshot_id": second["id"] }))
        .await;
    let view = server
        .exec(
            &restored,
            "cd /home/user; stat -c '%n %a %u:%g %h' setuid sticky owned first; \
             readlink link; [ $(stat -c %i first) = $(stat -c %i second) ] && echo same-inode; \
             ls opaque",
        )
        .await;
    assert_eq!(
        view["stdout"],
        "setuid 4755 0:0 1\nsticky 1777 0:0 2\nowned 644 1234:5678 1\nfirst 644 0:0 2\n\
         setuid\nsame-inode\nnew\n"
    );

    server.stop().await;
}
