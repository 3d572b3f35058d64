//! The client core: headers, retries, backoff, URL joining, error mapping and decoding.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use runloop_types::{DevboxListView, DevboxView, DiskSnapshotListParams};
use serde_json::json;

use super::fake::{block_on, client, client_with, FakePlatform};
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::{ApiError, Error};
use crate::platform::{Method, RequestBody, TransportError};
use crate::resources::files::write_file_contents_host;
use crate::resources::snapshots::{MetadataFilter, SnapshotListParams};
use crate::retry::{parse_http_date_ms, RetryPolicy};
use crate::url::{encode_component, join_url, to_query};

fn devbox_json(id: &str, status: &str) -> serde_json::Value {
    json!({ "id": id, "status": status, "create_time_ms": 1, "end_time_ms": null })
}

fn post(client: &Client<FakePlatform>) -> crate::Result<serde_json::Value> {
    let request = ApiRequest::post("/v1/devboxes").json(&json!({})).unwrap();
    block_on(client.send_json(&request, &RequestOptions::default()))
}

fn get(client: &Client<FakePlatform>) -> crate::Result<serde_json::Value> {
    let request = ApiRequest::get("/v1/devboxes/dbx_1");
    block_on(client.send_json(&request, &RequestOptions::default()))
}

fn api_error(result: crate::Result<serde_json::Value>) -> ApiError {
    match result {
        Err(Error::Api(error)) => *error,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn retry_after_500_reuses_request_id() {
    let client = client();
    client
        .platform()
        .push_json(500, json!({ "message": "boom" }));
    client.platform().push_json(200, json!({ "ok": true }));

    let value = post(&client).unwrap();

    assert_eq!(value, json!({ "ok": true }));
    let fake = client.platform();
    assert_eq!(fake.request_count(), 2);
    let first = fake.request(0);
    let second = fake.request(1);
    let first_id = first
        .header("x-request-id")
        .expect("first attempt has x-request-id");
    assert!(first_id.starts_with("runloop-wasm-retry-"), "{first_id}");
    assert_eq!(second.header("x-request-id"), Some(first_id));
    assert_eq!(first.header("x-stainless-retry-count"), Some("0"));
    assert_eq!(second.header("x-stainless-retry-count"), Some("1"));
    assert_eq!(*fake.sleeps.borrow(), vec![1_000]);
}

#[test]
fn each_call_gets_new_request_id() {
    let client = client();
    client.platform().push_json(200, json!({}));
    client.platform().push_json(200, json!({}));
    client.platform().random_byte.set(1);
    post(&client).unwrap();
    client.platform().random_byte.set(2);
    post(&client).unwrap();

    let first = client.platform().request(0);
    let second = client.platform().request(1);
    assert_ne!(first.header("x-request-id"), second.header("x-request-id"));
}

#[test]
fn not_found_is_not_retried() {
    let client = client();
    client
        .platform()
        .push_json(404, json!({ "message": "Devbox dbx_1 not found" }));

    let error = api_error(get(&client));

    assert_eq!(error.status, 404);
    assert_eq!(error.message, "404 Devbox dbx_1 not found");
    assert_eq!(error.class_name(), "NotFoundError");
    assert_eq!(client.platform().request_count(), 1);
    assert!(client.platform().sleeps.borrow().is_empty());
}

#[test]
fn retryable_statuses() {
    for status in [408, 409, 429, 500, 502, 503] {
        let client = client();
        client
            .platform()
            .push_json(status, json!({ "message": "busy" }));
        client.platform().push_json(200, json!({}));

        assert!(post(&client).is_ok(), "status {status} should be retried");
        assert_eq!(client.platform().request_count(), 2, "status {status}");
    }
    for status in [400, 401, 403, 404, 422] {
        let client = client();
        client
            .platform()
            .push_json(status, json!({ "message": "no" }));

        assert!(post(&client).is_err(), "status {status} should fail");
        assert_eq!(client.platform().request_count(), 1, "status {status}");
    }
}

#[test]
fn should_retry_header_overrides_status() {
    let client = client();
    client
        .platform()
        .push_response(500, &[("x-should-retry", "false")], "{}");
    assert_eq!(api_error(post(&client)).status, 500);
    assert_eq!(client.platform().request_count(), 1);

    let client = self::client();
    client
        .platform()
        .push_response(400, &[("x-should-retry", "true")], "{}");
    client.platform().push_json(200, json!({}));
    assert!(post(&client).is_ok());
    assert_eq!(client.platform().request_count(), 2);
}

#[test]
fn retry_after_seconds_is_honoured() {
    let client = client();
    client
        .platform()
        .push_response(429, &[("retry-after", "3")], "{}");
    client.platform().push_json(200, json!({}));

    post(&client).unwrap();

    assert_eq!(*client.platform().sleeps.borrow(), vec![3_000]);
}

#[test]
fn retry_after_ms_wins_over_retry_after() {
    let client = client();
    client.platform().push_response(
        503,
        &[("retry-after-ms", "250"), ("retry-after", "9")],
        "{}",
    );
    client.platform().push_json(200, json!({}));

    post(&client).unwrap();

    assert_eq!(*client.platform().sleeps.borrow(), vec![250]);
}

#[test]
fn retry_after_is_capped() {
    let client = client();
    client
        .platform()
        .push_response(429, &[("retry-after", "3600")], "{}");
    client.platform().push_json(200, json!({}));

    post(&client).unwrap();

    assert_eq!(*client.platform().sleeps.borrow(), vec![60_000]);
}

#[test]
fn retry_after_http_date_is_relative_to_now() {
    let client = client();
    let now = parse_http_date_ms("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
    client.platform().now_ms.set(now);
    client.platform().push_response(
        503,
        &[("retry-after", "Wed, 21 Oct 2015 07:28:05 GMT")],
        "{}",
    );
    client.platform().push_json(200, json!({}));

    post(&client).unwrap();

    assert_eq!(*client.platform().sleeps.borrow(), vec![5_000]);
}

#[test]
fn http_date_parses_to_unix_ms() {
    assert_eq!(
        parse_http_date_ms("Thu, 01 Jan 1970 00:00:00 GMT"),
        Some(0.0)
    );
    assert_eq!(
        parse_http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT"),
        Some(784_111_777_000.0)
    );
    assert_eq!(parse_http_date_ms("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    assert_eq!(parse_http_date_ms("soon"), None);
}

#[test]
fn backoff_doubles_up_to_cap() {
    let client = client();
    for _ in 0..5 {
        client.platform().push_json(503, json!({}));
    }
    client.platform().push_json(200, json!({}));

    post(&client).unwrap();

    assert_eq!(
        *client.platform().sleeps.borrow(),
        vec![1_000, 2_000, 4_000, 8_000, 16_000]
    );
}

#[test]
fn backoff_formula_with_jitter() {
    let policy = RetryPolicy::default();

    assert_eq!(policy.backoff_ms(0, 0.0), 1_000);
    assert_eq!(policy.backoff_ms(3, 0.0), 8_000);
    assert_eq!(policy.backoff_ms(6, 0.0), 60_000);
    assert_eq!(policy.backoff_ms(40, 0.0), 60_000);
    assert_eq!(policy.backoff_ms(0, 0.5), 875);
    assert_eq!(policy.backoff_ms(2, 0.999_999), 3_000);
}

#[test]
fn jitter_shortens_sleeps() {
    let client = client();
    client.platform().random_byte.set(0xff);
    client.platform().push_json(500, json!({}));
    client.platform().push_json(200, json!({}));

    post(&client).unwrap();

    assert_eq!(*client.platform().sleeps.borrow(), vec![750]);
}

#[test]
fn gives_up_after_max_retries() {
    let client = client_with(|config| config.retry.max_retries = 2);
    for _ in 0..3 {
        client
            .platform()
            .push_json(500, json!({ "message": "still down" }));
    }

    let error = api_error(post(&client));

    assert_eq!(error.class_name(), "InternalServerError");
    assert_eq!(error.message, "500 still down");
    assert_eq!(client.platform().request_count(), 3);
    assert_eq!(client.platform().unused_outcomes(), 0);
}

#[test]
fn network_error_is_retried_then_reported() {
    let client = client_with(|config| config.retry.max_retries = 1);
    for _ in 0..2 {
        client.platform().push_failure(TransportError::Network {
            message: "fetch failed (connect ECONNREFUSED 127.0.0.1:1)".to_owned(),
            cause: None,
        });
    }

    let error = get(&client).unwrap_err();

    assert_eq!(error.class_name(), "APIConnectionError");
    assert!(
        error.to_string().contains("ECONNREFUSED"),
        "message should carry the cause: {error}"
    );
    assert_eq!(client.platform().request_count(), 2);
}

#[test]
fn timeout_is_retried_then_reported() {
    let client = client_with(|config| {
        config.retry.max_retries = 1;
        config.timeout_ms = 5_000;
    });
    client.platform().push_failure(TransportError::Timeout);
    client.platform().push_failure(TransportError::Timeout);

    let error = get(&client).unwrap_err();

    assert!(
        matches!(error, Error::Timeout { timeout_ms: 5_000 }),
        "{error:?}"
    );
    assert_eq!(error.class_name(), "APIConnectionTimeoutError");
    assert_eq!(client.platform().request(0).timeout_ms, 5_000);
}

#[test]
fn aborted_signal_sends_nothing() {
    let client = client();
    let signal = Rc::new(Cell::new(true));
    let options = RequestOptions {
        signal: Some(signal),
        ..RequestOptions::default()
    };

    let result: crate::Result<serde_json::Value> =
        block_on(client.send_json(&ApiRequest::get("/v1/devboxes"), &options));

    assert!(matches!(result, Err(Error::Aborted)), "{result:?}");
    assert_eq!(client.platform().request_count(), 0);
}

#[test]
fn abort_stops_retries() {
    let client = client();
    let signal = Rc::new(Cell::new(false));
    *client.platform().abort_on_request.borrow_mut() = Some((0, Rc::clone(&signal)));
    client.platform().push_json(500, json!({}));
    let options = RequestOptions {
        signal: Some(signal),
        ..RequestOptions::default()
    };

    let result: crate::Result<serde_json::Value> =
        block_on(client.send_json(&ApiRequest::get("/v1/devboxes"), &options));

    assert!(matches!(result, Err(Error::Aborted)), "{result:?}");
    assert_eq!(client.platform().request_count(), 1);
    assert!(client.platform().sleeps.borrow().is_empty());
}

#[test]
fn long_poll_408_is_not_retried() {
    let client = client();
    client
        .platform()
        .push_json(408, json!({ "message": "still waiting" }));
    let request = ApiRequest::post("/v1/devboxes/dbx_1/wait_for_status").long_poll(30_000);

    let result: crate::Result<serde_json::Value> =
        block_on(client.send_json(&request, &RequestOptions::default()));

    assert_eq!(result.unwrap_err().status(), Some(408));
    assert_eq!(client.platform().request_count(), 1);
    assert_eq!(client.platform().request(0).timeout_ms, 40_000);
}

#[test]
fn deadline_limits_attempts_and_retries() {
    let client = client();
    client.platform().latency_ms.set(2_000.0);
    client
        .platform()
        .push_json(500, json!({ "message": "down" }));
    let options = RequestOptions {
        deadline_ms: Some(client.platform().now_ms.get() + 2_500.0),
        ..RequestOptions::default()
    };

    let result: crate::Result<serde_json::Value> =
        block_on(client.send_json(&ApiRequest::get("/v1/devboxes"), &options));

    // The 1 s backoff would end past the deadline, so the 500 is returned instead.
    assert_eq!(result.unwrap_err().status(), Some(500));
    assert_eq!(client.platform().request(0).timeout_ms, 2_500);
    assert!(client.platform().sleeps.borrow().is_empty());
}

#[test]
fn post_headers() {
    let client = client_with(|config| {
        config.default_headers = vec![
            ("X-Team".to_owned(), "infra".to_owned()),
            ("Accept".to_owned(), "application/x-custom".to_owned()),
        ];
    });
    client.platform().push_json(200, json!({}));

    post(&client).unwrap();

    let request = client.platform().request(0);
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, "http://api.test/v1/devboxes");
    assert_eq!(request.header("authorization"), Some("Bearer token"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-team"), Some("infra"));
    assert_eq!(request.header("accept"), Some("application/x-custom"));
    assert_eq!(request.body, Some(RequestBody::Json("{}".to_owned())));
    assert_eq!(request.timeout_ms, 30_000);
}

#[test]
fn host_string_body_retried_whole() {
    let client = client();
    client
        .platform()
        .push_json(503, json!({ "message": "down" }));
    client.platform().push_json(200, json!({}));
    let request =
        write_file_contents_host("dbx_1", "dir/\"quoted\".txt", b"held".to_vec()).unwrap();

    let _: serde_json::Value =
        block_on(client.send_json(&request, &RequestOptions::default())).unwrap();

    for index in 0..2 {
        let sent = client.platform().request(index);
        assert_eq!(sent.header("content-type"), Some("application/json"));
        let Some(RequestBody::JsonWithHostString { head, value, tail }) = sent.body else {
            panic!("attempt {index} has no JSON body around a host string");
        };
        assert_eq!(value, b"held");

        let body: serde_json::Value = serde_json::from_str(&format!("{head}\"x\"{tail}"))
            .expect("head and tail around a string literal are JSON");
        assert_eq!(
            body,
            json!({ "file_path": "dir/\"quoted\".txt", "contents": "x" })
        );
    }
}

#[test]
fn get_has_no_request_id_or_content_type() {
    let client = client();
    client.platform().push_json(200, json!({}));

    get(&client).unwrap();

    let request = client.platform().request(0);
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("x-request-id"), None);
    assert_eq!(request.header("content-type"), None);
    assert_eq!(request.body, None);
}

#[test]
fn base_url_joining() {
    let cases = [
        ("http://h", "/v1/x", "http://h/v1/x"),
        ("http://h/", "/v1/x", "http://h/v1/x"),
        ("http://h/custom/path", "/v1/x", "http://h/custom/path/v1/x"),
        (
            "http://h/custom/path/",
            "/v1/x",
            "http://h/custom/path/v1/x",
        ),
        (
            "http://127.0.0.1:8080",
            "v1/x",
            "http://127.0.0.1:8080/v1/x",
        ),
    ];
    for (base, path, expected) in cases {
        assert_eq!(join_url(base, path, &[]), expected, "{base} + {path}");
    }
}

#[test]
fn query_is_percent_encoded() {
    let query = vec![
        ("devbox_id".to_owned(), "dbx 1/2".to_owned()),
        ("metadata[env]".to_owned(), "prod&test".to_owned()),
    ];

    let url = join_url("http://h", "/v1/devboxes/disk_snapshots", &query);

    assert_eq!(
        url,
        "http://h/v1/devboxes/disk_snapshots?devbox_id=dbx%201%2F2&metadata%5Benv%5D=prod%26test"
    );
}

#[test]
fn path_ids_are_encoded() {
    assert_eq!(encode_component("dbx_1-a.b~c"), "dbx_1-a.b~c");
    assert_eq!(encode_component("../x"), "..%2Fx");
    assert_eq!(encode_component("é"), "%C3%A9");
}

#[test]
fn query_from_params_skips_absent_fields() {
    let params = DiskSnapshotListParams {
        devbox_id: Some("dbx_1".to_owned()),
        limit: Some(50),
        include_total_count: Some(false),
        ..DiskSnapshotListParams::default()
    };

    let query = to_query(&params).unwrap();

    assert_eq!(
        query,
        vec![
            ("devbox_id".to_owned(), "dbx_1".to_owned()),
            ("include_total_count".to_owned(), "false".to_owned()),
            ("limit".to_owned(), "50".to_owned()),
        ]
    );
}

#[test]
fn status_to_error_class() {
    let cases = [
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (403, "PermissionDeniedError"),
        (404, "NotFoundError"),
        (409, "ConflictError"),
        (422, "UnprocessableEntityError"),
        (429, "RateLimitError"),
        (500, "InternalServerError"),
        (503, "InternalServerError"),
        (402, "APIError"),
        (418, "APIError"),
    ];
    for (status, class_name) in cases {
        let error = ApiError::from_response(status, Vec::new(), "{}", None);
        assert_eq!(error.class_name(), class_name, "status {status}");
    }
}

#[test]
fn error_message_formats() {
    let cases = [
        (
            r#"{"message":"Devbox is shut down"}"#,
            "409 Devbox is shut down",
        ),
        (r#"{"error":"nope"}"#, r#"409 {"error":"nope"}"#),
        ("plain text failure", "409 plain text failure"),
        ("", "409 status code (no body)"),
    ];
    for (body, expected) in cases {
        let error = ApiError::from_response(409, Vec::new(), body, None);
        assert_eq!(error.message, expected, "body {body:?}");
    }
}

#[test]
fn error_keeps_body_headers_and_request_id() {
    let client = client_with(|config| config.retry.max_retries = 0);
    client.platform().push_response(
        422,
        &[("x-request-id", "req_server")],
        r#"{"message":"bad name","status":422}"#,
    );

    let error = api_error(post(&client));

    assert_eq!(error.request_id.as_deref(), Some("req_server"));
    assert_eq!(
        error.body,
        Some(json!({ "message": "bad name", "status": 422 }))
    );
    assert_eq!(
        error.headers,
        vec![("x-request-id".to_owned(), "req_server".to_owned())]
    );
}

#[test]
fn error_request_id_falls_back_to_sent_key() {
    let client = client_with(|config| config.retry.max_retries = 0);
    client
        .platform()
        .push_json(400, json!({ "message": "bad" }));

    let error = api_error(post(&client));

    let sent = client.platform().request(0);
    assert_eq!(error.request_id.as_deref(), sent.header("x-request-id"));
}

#[test]
fn decode_error_names_field() {
    let client = client();
    client.platform().push_json(
        200,
        json!({
            "devboxes": [devbox_json("dbx_1", "running"), devbox_json("dbx_2", "exploded")],
            "has_more": false,
        }),
    );
    let request = ApiRequest::get("/v1/devboxes");

    let result: crate::Result<DevboxListView> =
        block_on(client.send_json(&request, &RequestOptions::default()));

    let Err(Error::Decode {
        context,
        type_name,
        path,
        message,
    }) = result
    else {
        panic!("expected a decode error, got {result:?}");
    };
    assert_eq!(context, "GET /v1/devboxes");
    assert_eq!(type_name, "DevboxListView");
    assert_eq!(path, "devboxes[1].status");
    assert!(message.contains("exploded"), "{message}");
}

#[test]
fn decode_error_names_missing_field() {
    let client = client();
    client
        .platform()
        .push_json(200, json!({ "id": "dbx_1", "status": "running" }));
    let request = ApiRequest::get("/v1/devboxes/dbx_1");

    let result: crate::Result<DevboxView> =
        block_on(client.send_json(&request, &RequestOptions::default()));

    let error = result.unwrap_err();
    assert_eq!(error.class_name(), "RunloopError");
    assert!(
        error.to_string().contains("create_time_ms"),
        "message should name the field: {error}"
    );
}

#[test]
fn snapshot_list_encodes_metadata_filters() {
    let client = client();
    client
        .platform()
        .push_json(200, json!({ "snapshots": [], "has_more": false }));
    let filters = BTreeMap::from([
        ("env".to_owned(), MetadataFilter::Equals("prod".to_owned())),
        (
            "team".to_owned(),
            MetadataFilter::AnyOf(vec!["a".to_owned(), "b".to_owned()]),
        ),
    ]);
    let params = SnapshotListParams {
        devbox_id: Some("dbx_1".to_owned()),
        metadata: Some(filters),
        ..SnapshotListParams::default()
    };

    block_on(client.snapshots().list(&params, &RequestOptions::default())).unwrap();

    assert_eq!(
        client.platform().request(0).url,
        "http://api.test/v1/devboxes/disk_snapshots?devbox_id=dbx_1\
         &metadata%5Benv%5D=prod&metadata%5Bteam%5D%5Bin%5D=a%2Cb"
    );
}

#[test]
fn metadata_filter_reads_string_or_array() {
    let one: MetadataFilter = serde_json::from_str("\"a\"").unwrap();
    let many: MetadataFilter = serde_json::from_str("[\"a\",\"b\"]").unwrap();
    let error = serde_json::from_str::<MetadataFilter>("5").unwrap_err();

    assert_eq!(one, MetadataFilter::Equals("a".to_owned()));
    assert_eq!(
        many,
        MetadataFilter::AnyOf(vec!["a".to_owned(), "b".to_owned()])
    );
    assert!(
        error
            .to_string()
            .contains("a string or an array of strings"),
        "{error}"
    );
}
