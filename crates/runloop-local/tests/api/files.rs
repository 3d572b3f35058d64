//! File reads and writes over HTTP, and the isolation of the devbox file system.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;

/// Returns a file name that no other test or run uses.
fn unique_name(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("runloop-local-test-{label}-{}-{nanos}", std::process::id())
}

#[tokio::test]
async fn write_then_read_nested_relative_path() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/write_file_contents"),
            json!({ "file_path": "a/b/c.txt", "contents": "nested\n" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["exit_status"], 0);
    assert_eq!(view["devbox_id"], id.as_str());

    let response = server
        .client
        .post(format!(
            "{}/v1/devboxes/{id}/read_file_contents",
            server.base_url
        ))
        .json(&json!({ "file_path": "a/b/c.txt" }))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii header")
        .to_owned();
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert_eq!(response.text().await.expect("text"), "nested\n");

    let seen = server.exec(&id, "cat /home/user/a/b/c.txt").await;
    assert_eq!(seen["stdout"], "nested\n");

    server.stop().await;
}

#[tokio::test]
async fn tilde_and_absolute_paths() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    server.write_file(&id, "~/home.txt", "home").await;
    assert_eq!(
        server.read_file(&id, "home.txt").await,
        (StatusCode::OK, "home".to_owned())
    );
    assert_eq!(
        server.read_file(&id, "/home/user/home.txt").await,
        (StatusCode::OK, "home".to_owned())
    );

    server
        .write_file(&id, "/tmp/deep/abs.txt", "absolute")
        .await;
    assert_eq!(
        server.read_file(&id, "/tmp/deep/abs.txt").await,
        (StatusCode::OK, "absolute".to_owned())
    );
    let seen = server.exec(&id, "cat /tmp/deep/abs.txt").await;
    assert_eq!(seen["stdout"], "absolute");

    server.stop().await;
}

#[tokio::test]
async fn writes_to_etc_stay_in_devbox() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let by_api = format!("/etc/{}", unique_name("api"));
    let by_command = format!("/etc/{}", unique_name("cmd"));

    server.write_file(&id, &by_api, "inside").await;
    let view = server
        .exec(&id, &format!("echo inside > {by_command}"))
        .await;
    assert_eq!(view["exit_status"], 0);

    assert_eq!(server.read_file(&id, &by_command).await.0, StatusCode::OK);
    assert!(!Path::new(&by_api).exists(), "{by_api} reached the host");
    assert!(
        !Path::new(&by_command).exists(),
        "{by_command} reached the host"
    );

    server.stop().await;
}

#[tokio::test]
async fn data_dir_is_invisible_inside_devbox() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let data_dir = server
        .data_dir
        .canonicalize()
        .expect("data dir exists")
        .display()
        .to_string();
    assert!(Path::new(&data_dir).join("state.db").exists());

    let listing = server.exec(&id, &format!("ls -A {data_dir}")).await;
    assert_eq!(listing["exit_status"], 0);
    assert_eq!(listing["stdout"], "");

    let probe = server
        .exec(&id, &format!("test -e {data_dir}/state.db"))
        .await;
    assert_eq!(probe["exit_status"], 1);

    let (status, _) = server.read_file(&id, &format!("{data_dir}/state.db")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    server.stop().await;
}

#[tokio::test]
async fn dot_dot_and_symlinks_stay_inside_root() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let dotdot = unique_name("dotdot");
    let absolute_link = unique_name("abslink");
    let relative_link = unique_name("rellink");

    server
        .write_file(&id, &format!("../../../../../../tmp/{dotdot}"), "x")
        .await;
    assert_eq!(
        server.read_file(&id, &format!("/tmp/{dotdot}")).await,
        (StatusCode::OK, "x".to_owned())
    );
    assert!(!Path::new("/tmp").join(&dotdot).exists());

    let linked = server
        .exec(
            &id,
            "ln -s / /home/user/to-root && ln -s ../../../../.. /home/user/up",
        )
        .await;
    assert_eq!(linked["exit_status"], 0, "{linked}");
    server
        .write_file(&id, &format!("to-root/tmp/{absolute_link}"), "abs")
        .await;
    server
        .write_file(&id, &format!("up/tmp/{relative_link}"), "rel")
        .await;
    assert!(!Path::new("/tmp").join(&absolute_link).exists());
    assert!(!Path::new("/tmp").join(&relative_link).exists());
    let seen = server
        .exec(
            &id,
            &format!("cat /tmp/{absolute_link} /tmp/{relative_link}"),
        )
        .await;
    assert_eq!(seen["stdout"], "absrel");

    let data_dir = server.data_dir.canonicalize().expect("data dir exists");
    let hidden = server
        .exec(
            &id,
            &format!("ln -s {} /home/user/data", data_dir.display()),
        )
        .await;
    assert_eq!(hidden["exit_status"], 0);
    let (status, _) = server.read_file(&id, "data/state.db").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    server.stop().await;
}

#[tokio::test]
async fn read_errors_are_json() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let prepared = server
        .exec(
            &id,
            r"printf '\377\376' > /home/user/binary.dat; mkdir -p /home/user/dir",
        )
        .await;
    assert_eq!(prepared["exit_status"], 0);

    let cases = [
        ("binary.dat", StatusCode::BAD_REQUEST),
        ("missing.txt", StatusCode::NOT_FOUND),
        ("dir", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
    ];
    for (path, expected) in cases {
        let (status, body) = server
            .post(
                &format!("/v1/devboxes/{id}/read_file_contents"),
                json!({ "file_path": path }),
            )
            .await;
        assert_eq!(status, expected, "reading {path:?}: {body}");
        assert!(body["message"].is_string(), "reading {path:?}: {body}");
    }

    server.stop().await;
}
