//! Request bodies over a route's limit: a JSON 413 that names the limit, whether
//! `Content-Length` announces the size or a chunked body grows past it.
//!
//! The requests are written by hand on a TCP socket, so a test can announce a size it never
//! sends and can stream a large body from one small buffer.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestServer, TOKEN};

/// Limit of write_file_contents bodies, in bytes.
const WRITE_LIMIT: u64 = 256 * 1024 * 1024;

/// Limit of the other JSON routes, in bytes.
const DEFAULT_LIMIT: u64 = 2 * 1024 * 1024;

/// Size of each chunk of a streamed body.
const CHUNK: usize = 1024 * 1024;

/// How a hand-written request frames its body.
enum Framing {
    /// Sends `Content-Length` with this value and no body.
    Announced(u64),
    /// Sends this many bytes with chunked transfer encoding.
    Chunked(u64),
}

/// Sends a POST to `path` framed as `framing`; returns the status and JSON body.
async fn post_raw(server: &TestServer, path: &str, framing: Framing) -> (StatusCode, Value) {
    let address = server.base_url.trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).await.expect("server accepts");
    let length_header = match framing {
        Framing::Announced(length) => format!("Content-Length: {length}"),
        Framing::Chunked(_) => "Transfer-Encoding: chunked".to_owned(),
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nConnection: close\r\n{length_header}\r\n\r\n"
    );
    socket
        .write_all(head.as_bytes())
        .await
        .expect("request head is sent");

    if let Framing::Chunked(total) = framing {
        // A failed write means the server has sent its response and stopped reading. The
        // response is read below either way.
        let _ = send_chunked(&mut socket, total).await;
    }

    let mut response = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(count) = socket.read(&mut buffer).await {
        if count == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..count]);
    }
    parse_response(&response)
}

/// Writes `total` bytes of a JSON-looking body in chunks of [`CHUNK`] bytes, reusing one
/// buffer, then the last-chunk marker.
async fn send_chunked(socket: &mut TcpStream, total: u64) -> std::io::Result<()> {
    let filler = vec![b'a'; CHUNK];
    let mut first = filler.clone();
    let prefix = br#"{"file_path":"/tmp/big","contents":""#;
    first[..prefix.len()].copy_from_slice(prefix);

    let mut sent = 0u64;
    while sent < total {
        let size = (total - sent).min(CHUNK as u64) as usize;
        let data = if sent == 0 { &first } else { &filler };
        let mut frame = format!("{size:x}\r\n").into_bytes();
        frame.extend_from_slice(&data[..size]);
        frame.extend_from_slice(b"\r\n");
        sent += size as u64;
        if sent == total {
            frame.extend_from_slice(b"0\r\n\r\n");
        }
        socket.write_all(&frame).await?;
    }
    Ok(())
}

fn parse_response(response: &[u8]) -> (StatusCode, Value) {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response: {text:?}"));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let status = StatusCode::from_u16(code).expect("valid status");
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
    (status, body)
}

/// Asserts a JSON 413 whose message names `limit` in bytes and MiB.
fn assert_names_limit(status: StatusCode, body: &Value, limit: u64) {
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["status"], 413, "{body}");
    let message = body["message"].as_str().expect("JSON error with a message");
    assert!(message.contains(&format!("{limit} bytes")), "{message}");
    let mib = limit / (1024 * 1024);
    assert!(message.contains(&format!("({mib} MiB)")), "{message}");
}

#[tokio::test]
async fn announced_oversize_write_is_413() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let path = format!("/v1/devboxes/{id}/write_file_contents");

    let (status, body) = post_raw(&server, &path, Framing::Announced(WRITE_LIMIT + 1)).await;
    assert_names_limit(status, &body, WRITE_LIMIT);
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("write_file_contents"), "{message}");

    server.stop().await;
}

#[tokio::test]
async fn streamed_oversize_write_is_413() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let path = format!("/v1/devboxes/{id}/write_file_contents");

    let (status, body) = post_raw(&server, &path, Framing::Chunked(WRITE_LIMIT + 1)).await;
    assert_names_limit(status, &body, WRITE_LIMIT);

    let (status, _) = server.read_file(&id, "/tmp/big").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a rejected body writes nothing"
    );

    server.stop().await;
}

#[tokio::test]
async fn default_limit_is_413_on_other_routes() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let path = format!("/v1/devboxes/{id}/execute");

    let (status, body) = post_raw(&server, &path, Framing::Chunked(DEFAULT_LIMIT + 1)).await;
    assert_names_limit(status, &body, DEFAULT_LIMIT);

    let (status, body) = post_raw(&server, &path, Framing::Announced(DEFAULT_LIMIT + 1)).await;
    assert_names_limit(status, &body, DEFAULT_LIMIT);

    let (status, body) = post_raw(&server, &path, Framing::Chunked(DEFAULT_LIMIT)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a body at the limit is read and parsed: {body}"
    );

    server.stop().await;
}
