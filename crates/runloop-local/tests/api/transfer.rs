//! upload_file and download_file over HTTP, path confinement and file errors.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::TestServer;

/// Returns `len` bytes from a fixed xorshift sequence, so every byte value occurs and the
/// data does not compress or repeat.
fn pseudo_random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Returns a name that no other test or run uses.
fn unique_name(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!(
        "runloop-local-transfer-{label}-{}-{nanos}",
        std::process::id()
    )
}

async fn upload(server: &TestServer, id: &str, path: &str, data: Vec<u8>) -> (StatusCode, Value) {
    let form = Form::new()
        .text("path", path.to_owned())
        .part("file", Part::bytes(data).file_name("data.bin"));
    send_form(server, id, form).await
}

async fn send_form(server: &TestServer, id: &str, form: Form) -> (StatusCode, Value) {
    let response = server
        .client
        .post(format!("{}/v1/devboxes/{id}/upload_file", server.base_url))
        .multipart(form)
        .send()
        .await
        .expect("request reaches the server");
    let status = response.status();
    let text = response.text().await.expect("body is text");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Downloads `path`; returns the status, the content type and the body.
async fn download(server: &TestServer, id: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let response = server
        .client
        .post(format!(
            "{}/v1/devboxes/{id}/download_file",
            server.base_url
        ))
        .header("accept", "application/octet-stream")
        .json(&json!({ "path": path }))
        .send()
        .await
        .expect("request reaches the server");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().expect("ASCII header").to_owned())
        .unwrap_or_default();
    let body = response.bytes().await.expect("body").to_vec();
    (status, content_type, body)
}

fn message(body: &[u8]) -> String {
    let error: Value = serde_json::from_slice(body).expect("JSON error body");
    error["message"].as_str().expect("message").to_owned()
}

#[tokio::test]
async fn binary_round_trip_of_20_mib_is_exact() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let data = pseudo_random_bytes(20 * 1024 * 1024);

    let (status, body) = upload(&server, &id, "blobs/big.bin", data.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));

    let (status, content_type, downloaded) = download(&server, &id, "~/blobs/big.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/octet-stream");
    assert_eq!(downloaded.len(), data.len());
    assert!(
        downloaded == data,
        "downloaded bytes differ from the upload"
    );

    let listing = server
        .exec(
            &id,
            "wc -c < /home/user/blobs/big.bin; ls -A /home/user/blobs",
        )
        .await;
    assert_eq!(
        listing["stdout"],
        format!("{}\nbig.bin\n", data.len()),
        "{listing}"
    );

    let (_, body) = server.get(&format!("/v1/devboxes/{id}/logs")).await;
    assert!(
        body["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .any(|entry| entry["source"] == "files"
                && entry["message"]
                    .as_str()
                    .is_some_and(|text| text.contains("uploaded 20971520 bytes"))),
        "{body}"
    );

    server.stop().await;
}

#[tokio::test]
async fn upload_paths_resolve_like_file_paths() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    for (path, seen_at) in [
        ("rel/a.bin", "/home/user/rel/a.bin"),
        ("~/b.bin", "/home/user/b.bin"),
        ("/opt/new/c.bin", "/opt/new/c.bin"),
    ] {
        let (status, body) = upload(&server, &id, path, path.as_bytes().to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let seen = server.exec(&id, &format!("cat {seen_at}")).await;
        assert_eq!(seen["stdout"], path, "{path}");
    }

    let (status, _) = upload(&server, &id, "rel/a.bin", b"replaced".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, text) = server.read_file(&id, "rel/a.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "replaced");

    let (status, _) = upload(&server, &id, "empty.bin", Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = download(&server, &id, "empty.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());

    server.stop().await;
}

#[tokio::test]
async fn escapes_stay_inside_the_devbox() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let data_dir = server.data_dir.canonicalize().expect("data dir exists");
    let data_dir = data_dir.to_str().expect("UTF-8 data dir");

    let linked = server
        .exec(
            &id,
            &format!("ln -s / /home/user/root-link && ln -s ../../.. /home/user/up-link && ln -s {data_dir} /home/user/data-link"),
        )
        .await;
    assert_eq!(linked["exit_status"], 0, "{linked}");

    let dot_dot = unique_name("dotdot");
    let absolute = unique_name("absolute");
    let relative = unique_name("relative");
    let uploads = [
        (
            format!("../../../../../tmp/{dot_dot}"),
            format!("/tmp/{dot_dot}"),
        ),
        (
            format!("root-link/tmp/{absolute}"),
            format!("/tmp/{absolute}"),
        ),
        (
            format!("up-link/tmp/{relative}"),
            format!("/tmp/{relative}"),
        ),
        (format!("{data_dir}/planted"), format!("{data_dir}/planted")),
    ];
    for (path, inside) in &uploads {
        let (status, body) = upload(&server, &id, path, b"inside".to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let seen = server.exec(&id, &format!("cat {inside}")).await;
        assert_eq!(
            seen["stdout"], "inside",
            "{path} did not land at {inside} in the devbox"
        );
        assert!(
            !std::path::Path::new(inside).exists(),
            "{path} reached the host at {inside}"
        );
    }

    // The data dir is hidden inside the devbox, so its files are not reachable.
    for path in [
        format!("{data_dir}/state.db"),
        "data-link/state.db".to_owned(),
        format!("../../..{data_dir}/state.db"),
    ] {
        let (status, _, body) = download(&server, &id, &path).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    server.stop().await;
}

#[tokio::test]
async fn non_utf8_text_read_is_400() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let (status, _) = upload(&server, &id, "binary.dat", vec![b'o', b'k', 0xff, 0xfe, 0]).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = server.read_file(&id, "binary.dat").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = message(body.as_bytes());
    assert!(text.contains("UTF-8"), "{text}");
    assert!(text.contains("download_file"), "{text}");
    assert!(text.contains("offset 2"), "{text}");

    let (status, _, bytes) = download(&server, &id, "binary.dat").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, [b'o', b'k', 0xff, 0xfe, 0]);

    server.stop().await;
}

#[tokio::test]
async fn file_errors_are_clear() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let prepared = server
        .exec(
            &id,
            "mkdir -p /home/user/dir && truncate -s 101M /home/user/huge.txt",
        )
        .await;
    assert_eq!(prepared["exit_status"], 0, "{prepared}");

    let (status, _, body) = download(&server, &id, "missing.bin").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&body).contains("/home/user/missing.bin"));
    let (status, _, body) = download(&server, &id, "dir").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("directory"));
    let (status, _, body) = download(&server, &id, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("empty"));
    let (status, _, _) = download(&server, "dbx_missing", "a").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = server.read_file(&id, "huge.txt").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(message(body.as_bytes()).contains("104857600"), "{body}");
    let (status, _, body) = download(&server, &id, "huge.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), 101 * 1024 * 1024);

    let (status, body) = upload(&server, &id, "dir", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("directory"));
    let (status, _) = upload(&server, &id, "~/", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = upload(&server, &id, "", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = upload(&server, "dbx_missing", "a", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let leftovers = server
        .exec(&id, "ls -A /home/user | grep -c runloop-upload || true")
        .await;
    assert_eq!(
        leftovers["stdout"], "0\n",
        "a failed upload left its temporary file"
    );

    server.stop().await;
}

#[tokio::test]
async fn malformed_uploads_are_400() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let (status, body) = server
        .post(
            &format!("/v1/devboxes/{id}/upload_file"),
            json!({ "path": "a" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("multipart"));

    let cases = [
        (Form::new().text("path", "a.bin"), "no file part"),
        (Form::new(), "multipart"),
        (
            Form::new().part("file", Part::bytes(b"x".to_vec())),
            "no path field before the file part",
        ),
        (
            Form::new()
                .part("file", Part::bytes(b"x".to_vec()))
                .text("path", "a.bin"),
            "no path field before the file part",
        ),
        (
            Form::new()
                .text("path", "a.bin")
                .text("mode", "0755")
                .part("file", Part::bytes(b"x".to_vec())),
            "unknown form field",
        ),
    ];
    for (form, expected) in cases {
        let (status, body) = send_form(&server, &id, form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let text = body["message"].as_str().expect("message");
        assert!(text.contains(expected), "expected {expected:?} in {text}");
    }

    let suspended = server
        .post(&format!("/v1/devboxes/{id}/suspend"), json!({}))
        .await;
    assert_eq!(suspended.0, StatusCode::OK);
    let (status, _) = server
        .post(
            &format!("/v1/devboxes/{id}/wait_for_status"),
            json!({ "statuses": ["suspended"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = upload(&server, &id, "late.bin", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("suspended"));
    let (status, _, body) = download(&server, &id, "late.bin").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message(&body).contains("suspended"));

    server.stop().await;
}

#[tokio::test]
async fn rejected_form_writes_no_file() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let cases = [
        (
            Form::new()
                .text("path", "trailing-field.bin")
                .part("file", Part::bytes(b"new".to_vec()))
                .text("mode", "0755"),
            "trailing-field.bin",
            "unknown form field",
        ),
        (
            Form::new()
                .text("path", "second-file.bin")
                .part("file", Part::bytes(b"new".to_vec()))
                .part("file", Part::bytes(b"newer".to_vec())),
            "second-file.bin",
            "more than one file part",
        ),
        (
            Form::new()
                .text("path", "second-path.bin")
                .part("file", Part::bytes(b"new".to_vec()))
                .text("path", "other.bin"),
            "second-path.bin",
            "more than one path field",
        ),
    ];
    for (form, path, expected) in cases {
        let (status, body) = send_form(&server, &id, form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let text = body["message"].as_str().expect("message");
        assert!(text.contains(expected), "expected {expected:?} in {text}");
        let (status, _, _) = download(&server, &id, path).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a rejected upload wrote {path}"
        );
    }

    let (status, _) = upload(&server, &id, "kept.bin", b"old".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    let form = Form::new()
        .text("path", "kept.bin")
        .part("file", Part::bytes(b"new".to_vec()))
        .text("mode", "0755");
    let (status, body) = send_form(&server, &id, form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, contents) = download(&server, &id, "kept.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contents, b"old", "a rejected upload replaced kept.bin");

    let leftovers = server
        .exec(&id, "ls -A /home/user | grep -c runloop-upload || true")
        .await;
    assert_eq!(
        leftovers["stdout"], "0\n",
        "a rejected upload left its temporary file"
    );

    server.stop().await;
}
