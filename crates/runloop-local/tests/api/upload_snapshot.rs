//! A snapshot taken while an upload is halfway: the restored devbox shows neither the
//! upload's temporary file nor a partial file.
//!
//! The upload is a multipart body written by hand on a TCP socket, so the test can stop
//! sending halfway and take the snapshot while the server waits for the rest.

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestServer, TOKEN};
use crate::snapshot_support::{id_of, run_ok};

/// Bytes of the file sent before the snapshot. Loopback socket buffers hold a few MiB, so
/// once this much is written the server has read most of it into the upload.
const FIRST_PART: usize = 64 * 1024 * 1024;

/// Bytes of the file sent after the snapshot.
const SECOND_PART: usize = 1024 * 1024;

const BOUNDARY: &str = "runloop-local-test-boundary";

/// Upload path, in directories that do not exist before the upload.
const UPLOAD_PATH: &str = "/tmp/upload-dir/nested/up.bin";

/// Writes `count` bytes of `x` from one reused buffer.
async fn write_filler(socket: &mut TcpStream, count: usize) {
    let filler = vec![b'x'; 1024 * 1024];
    let mut left = count;
    while left > 0 {
        let size = left.min(filler.len());
        socket
            .write_all(&filler[..size])
            .await
            .expect("upload bytes are sent");
        left -= size;
    }
}

#[tokio::test]
async fn snapshot_during_upload_has_no_partial_file() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n{UPLOAD_PATH}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"up.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let length = head.len() + FIRST_PART + SECOND_PART + tail.len();
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST /v1/devboxes/{id}/upload_file HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {TOKEN}\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {length}\r\n\r\n{head}"
    );

    let mut socket = TcpStream::connect(&address).await.expect("server accepts");
    socket
        .write_all(request.as_bytes())
        .await
        .expect("request head is sent");
    write_filler(&mut socket, FIRST_PART).await;

    let snapshot = server.snapshot(&id, json!({ "name": "mid-upload" })).await;

    write_filler(&mut socket, SECOND_PART).await;
    socket
        .write_all(tail.as_bytes())
        .await
        .expect("request end is sent");
    let mut response = String::new();
    socket
        .read_to_string(&mut response)
        .await
        .expect("response is read");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "upload failed: {response}"
    );
    assert_eq!(
        run_ok(&server, &id, &format!("wc -c < {UPLOAD_PATH}")).await,
        format!("{}\n", FIRST_PART + SECOND_PART)
    );

    let restored = server
        .create_running(json!({ "snapshot_id": id_of(&snapshot) }))
        .await;
    let leftovers = run_ok(
        &server,
        &restored,
        // The host's /tmp shows through the base layer, and other tests remove directories
        // there while find walks it, so its complaints about those are ignored.
        "find /tmp /home/user -name '.runloop-upload-*' 2>/dev/null; true",
    )
    .await;
    assert_eq!(
        leftovers, "",
        "the snapshot contains the upload's temporary file"
    );
    let (status, _) = server.read_file(&restored, UPLOAD_PATH).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the upload completed after the snapshot, so the snapshot must not contain it"
    );

    server.stop().await;
}
