//! The reconnecting output readers: offsets on reconnect, dropped repeats, 408s, idle
//! timeouts, clean ends before completion, and errors.

use std::rc::Rc;

use serde_json::json;

use super::fake::{block_on, client, FakePlatform};
use crate::client::Client;
use crate::error::Error;
use crate::platform::TransportError;
use crate::resources::OutputStream;
use crate::stream::{ChunkReader, LineReader};

fn event(output: &str, offset: u64) -> String {
    let data = json!({ "output": output, "offset": offset });
    format!("data: {data}\n\n")
}

fn execution(status: &str) -> serde_json::Value {
    json!({ "devbox_id": "dbx_1", "execution_id": "exe_1", "status": status })
}

fn reader(client: &Rc<Client<FakePlatform>>, completed: bool) -> ChunkReader<FakePlatform> {
    ChunkReader::new(
        Rc::clone(client),
        "dbx_1".to_owned(),
        "exe_1".to_owned(),
        OutputStream::Stdout,
        0,
        completed,
        None,
    )
}

fn urls(client: &Client<FakePlatform>) -> Vec<String> {
    client
        .platform()
        .requests
        .borrow()
        .iter()
        .map(|request| {
            request
                .url
                .replace("http://api.test/v1/devboxes/dbx_1/executions/exe_1", "")
        })
        .collect()
}

#[test]
fn network_error_resumes_at_offset_and_drops_repeats() {
    let client = Rc::new(client());
    let fake = client.platform();
    fake.push_stream(vec![
        Ok(event("ab", 2)),
        Err(TransportError::Network {
            message: "reset".to_owned(),
            cause: None,
        }),
    ]);
    fake.push_stream(vec![Ok(event("ab", 2) + &event("cd", 4))]);
    fake.push_json(200, execution("completed"));
    fake.push_stream(vec![Ok(event("e", 5))]);

    let output = block_on(reader(&client, false).read_to_end()).unwrap();

    assert_eq!(output, "abcde");
    assert_eq!(
        urls(&client),
        vec![
            "/stream_stdout_updates?offset=0",
            "/stream_stdout_updates?offset=2",
            "?last_n=1",
            "/stream_stdout_updates?offset=4",
        ]
    );
    assert_eq!(
        fake.sleeps.borrow().len(),
        1,
        "one backoff after the network error"
    );
}

#[test]
fn error_event_408_reopens_at_once() {
    let client = Rc::new(client());
    let fake = client.platform();
    fake.push_stream(vec![Ok(
        event("x", 1) + "event: error\ndata: {\"code\":\"408\",\"message\":\"hold ended\"}\n\n",
    )]);
    fake.push_stream(vec![Ok(event("y", 2))]);

    let output = block_on(reader(&client, true).read_to_end()).unwrap();

    assert_eq!(output, "xy");
    assert_eq!(urls(&client)[1], "/stream_stdout_updates?offset=1");
    assert!(fake.sleeps.borrow().is_empty());
}

#[test]
fn idle_timeout_reopens_without_backoff() {
    let client = Rc::new(client());
    let fake = client.platform();
    fake.push_stream(vec![Ok(event("a", 1)), Err(TransportError::Timeout)]);
    fake.push_stream(vec![Ok(event("b", 2))]);

    let output = block_on(reader(&client, true).read_to_end()).unwrap();

    assert_eq!(output, "ab");
    assert_eq!(fake.request_count(), 2);
    assert!(fake.sleeps.borrow().is_empty());
}

#[test]
fn clean_end_while_running_reopens_after_pause() {
    let client = Rc::new(client());
    let fake = client.platform();
    fake.push_stream(vec![Ok(event("1", 1))]);
    fake.push_json(200, execution("running"));
    fake.push_stream(vec![Ok(event("2", 2))]);
    fake.push_json(200, execution("completed"));
    fake.push_stream(vec![]);

    let output = block_on(reader(&client, false).read_to_end()).unwrap();

    assert_eq!(output, "12");
    assert_eq!(fake.request_count(), 5);
    assert_eq!(*fake.sleeps.borrow(), vec![10]);
}

#[test]
fn completed_execution_needs_one_request() {
    let client = Rc::new(client());
    client.platform().push_stream(vec![Ok(event("all", 3))]);

    let output = block_on(reader(&client, true).read_to_end()).unwrap();

    assert_eq!(output, "all");
    assert_eq!(client.platform().request_count(), 1);
}

#[test]
fn error_event_rejects_with_its_status() {
    let client = Rc::new(client());
    client.platform().push_stream(vec![Ok(
        "event: error\ndata: {\"code\":404,\"message\":\"Execution not found\"}\n\n".to_owned(),
    )]);

    let error = block_on(reader(&client, true).read_to_end()).unwrap_err();

    assert_eq!(error.status(), Some(404));
}

#[test]
fn bad_chunk_names_the_field() {
    let client = Rc::new(client());
    client
        .platform()
        .push_stream(vec![Ok("data: {\"output\": 5}\n\n".to_owned())]);

    let error = block_on(reader(&client, true).read_to_end()).unwrap_err();

    let Error::Decode { path, .. } = error else {
        panic!("expected a decode error, got {error:?}");
    };
    assert_eq!(path, "output");
}

#[test]
fn repeated_network_errors_give_up_after_max_retries() {
    let client = Rc::new(super::fake::client_with(|config| {
        config.retry.max_retries = 1
    }));
    let fake = client.platform();
    for _ in 0..2 {
        fake.push_stream(vec![Err(TransportError::Network {
            message: "reset".to_owned(),
            cause: None,
        })]);
    }

    let error = block_on(reader(&client, true).read_to_end()).unwrap_err();

    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    assert_eq!(fake.request_count(), 2);
}

#[test]
fn lines_span_chunks() {
    let client = Rc::new(client());
    client
        .platform()
        .push_stream(vec![Ok(event("one\ntw", 6)), Ok(event("o\nthree", 13))]);
    let mut lines = LineReader::new(reader(&client, true));

    let mut collected = Vec::new();
    while let Some(line) = block_on(lines.next_line()).unwrap() {
        collected.push(line);
    }

    assert_eq!(collected, vec!["one\n", "two\n", "three"]);
}
