//! CORS: preflights and responses for allowed origins, a 403 for other origins, and
//! responses without CORS headers when no `Origin` is sent.

use reqwest::{Client, Method, StatusCode};
use runloop_local::Config;

use crate::common::{TestServer, TOKEN};

const ALLOWED: &str = "http://127.0.0.1:5173";

/// Starts a server that allows `origin`. The data dir comes first in the tuple so that it is
/// dropped after the server, even when a test panics.
fn server_allowing(origin: &str) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("temporary data dir can be created");
    let mut config = Config::new(dir.path(), TOKEN);
    config.cors_origins = vec![origin.to_owned()];
    (dir, TestServer::start_with(config))
}

fn preflight(client: &Client, url: &str, origin: &str) -> reqwest::RequestBuilder {
    client
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
}

#[tokio::test]
async fn preflight_from_allowed_origin() {
    let (_dir, mut server) = server_allowing(ALLOWED);
    let url = format!("{}/v1/devboxes", server.base_url);

    let response = preflight(&Client::new(), &url, ALLOWED)
        .send()
        .await
        .expect("preflight is sent");

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], ALLOWED);
    assert_eq!(
        headers["access-control-allow-headers"],
        "authorization, content-type"
    );
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .expect("ASCII header")
        .contains("POST"));
    server.stop().await;
}

#[tokio::test]
async fn preflight_from_other_origin_is_403() {
    let (_dir, mut server) = server_allowing(ALLOWED);
    let url = format!("{}/v1/devboxes", server.base_url);

    let response = preflight(&Client::new(), &url, "http://evil.example")
        .send()
        .await
        .expect("preflight is sent");

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    let message = body["message"].as_str().expect("message is a string");
    assert!(
        message.contains("--cors-origin http://evil.example"),
        "{message}"
    );
    server.stop().await;
}

#[tokio::test]
async fn response_headers_follow_origin() {
    let (_dir, mut server) = server_allowing(ALLOWED);
    let url = format!("{}/v1/devboxes", server.base_url);

    let allowed = server
        .client
        .get(&url)
        .header("origin", ALLOWED)
        .send()
        .await
        .expect("request is sent");
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.headers()["access-control-allow-origin"], ALLOWED);
    assert!(allowed.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ASCII header")
        .contains("x-request-id"));

    let other = server
        .client
        .get(&url)
        .header("origin", "http://other.example")
        .send()
        .await
        .expect("request is sent");
    assert_eq!(other.status(), StatusCode::OK);
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let no_origin = server
        .client
        .get(&url)
        .send()
        .await
        .expect("request is sent");
    assert!(no_origin
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    server.stop().await;
}
