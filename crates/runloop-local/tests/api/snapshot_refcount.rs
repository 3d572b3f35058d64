//! Reference counting of layers: a deleted snapshot's layer stays on disk while child
//! snapshots or live devboxes use it and is deleted when the last user goes.

use serde_json::json;

use crate::common::TestServer;
use crate::snapshot_support::{
    delete_snapshot, id_of, layer_dirs, layers_path, run_ok, shut_down, snapshot_with_layer,
};

/// Asserts that the layer directory `name` exists on disk or not.
fn assert_layer(server: &TestServer, name: &str, present: bool, when: &str) {
    let path = layers_path(server).join(name);
    assert_eq!(
        path.is_dir(),
        present,
        "layer {name} {} {when}",
        if present {
            "is missing"
        } else {
            "still exists"
        }
    );
}

#[tokio::test]
async fn layer_outlives_snapshot_while_used() {
    let mut server = TestServer::start();
    let origin = server.create_running(json!({})).await;
    run_ok(&server, &origin, "echo one > /home/user/one").await;
    let (first, first_layer) = snapshot_with_layer(&server, &origin).await;

    let middle = server
        .create_running(json!({ "snapshot_id": first["id"] }))
        .await;
    run_ok(&server, &middle, "echo two > /home/user/two").await;
    let (second, second_layer) = snapshot_with_layer(&server, &middle).await;
    let top = server
        .create_running(json!({ "snapshot_id": second["id"] }))
        .await;

    delete_snapshot(&server, &id_of(&first)).await;
    assert_layer(
        &server,
        &first_layer,
        true,
        "after its snapshot was deleted",
    );

    shut_down(&server, &middle).await;
    assert_layer(
        &server,
        &first_layer,
        true,
        "while the second layer is built on it",
    );

    delete_snapshot(&server, &id_of(&second)).await;
    assert_layer(&server, &second_layer, true, "while a devbox runs on it");
    assert_layer(&server, &first_layer, true, "below a layer in use");
    assert_eq!(
        run_ok(&server, &top, "cat /home/user/one /home/user/two").await,
        "one\ntwo\n",
        "the devbox still reads both layers"
    );

    shut_down(&server, &top).await;
    assert_layer(&server, &second_layer, false, "after its last devbox ended");
    assert_layer(
        &server,
        &first_layer,
        false,
        "after its last child was deleted",
    );
    assert!(layer_dirs(&server).is_empty(), "{:?}", layer_dirs(&server));
    server.stop().await;
}

#[tokio::test]
async fn child_snapshot_keeps_parent_layer() {
    let mut server = TestServer::start();
    let origin = server.create_running(json!({})).await;
    run_ok(&server, &origin, "echo base > /home/user/base").await;
    let (parent, parent_layer) = snapshot_with_layer(&server, &origin).await;
    let child_box = server
        .create_running(json!({ "snapshot_id": parent["id"] }))
        .await;
    let (child, child_layer) = snapshot_with_layer(&server, &child_box).await;
    shut_down(&server, &child_box).await;

    delete_snapshot(&server, &id_of(&parent)).await;
    assert_layer(
        &server,
        &parent_layer,
        true,
        "while a child snapshot exists",
    );

    let restored = server
        .create_running(json!({ "snapshot_id": child["id"] }))
        .await;
    assert_eq!(
        run_ok(&server, &restored, "cat /home/user/base").await,
        "base\n"
    );
    shut_down(&server, &restored).await;
    assert_layer(
        &server,
        &parent_layer,
        true,
        "while the child snapshot exists",
    );

    delete_snapshot(&server, &id_of(&child)).await;
    assert_layer(&server, &child_layer, false, "after the child was deleted");
    assert_layer(
        &server,
        &parent_layer,
        false,
        "after its only child was deleted",
    );
    server.stop().await;
}

#[tokio::test]
async fn unused_layer_is_freed_at_once() {
    let mut server = TestServer::start();
    let origin = server.create_running(json!({})).await;
    let (snapshot, layer) = snapshot_with_layer(&server, &origin).await;
    assert_layer(&server, &layer, true, "after the capture");

    delete_snapshot(&server, &id_of(&snapshot)).await;
    assert_layer(
        &server,
        &layer,
        false,
        "after its unused snapshot was deleted",
    );
    server.stop().await;
}
