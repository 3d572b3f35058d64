//! stream_stdout_updates and stream_stderr_updates: server-sent events with byte offsets.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;
use crate::executions_support::{
    execution_id, open_stream, read_chunks, read_until, send_stdin, start_async, try_open_stream,
    wait_completed,
};

/// Output of `seq 1 count`.
fn seq_output(count: u32) -> String {
    (1..=count).map(|n| format!("{n}\n")).collect()
}

#[tokio::test]
async fn completed_stream_replays_from_every_offset() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let view = server
        .exec(&id, "echo out-a; echo err >&2; printf 'é€😀\\n'")
        .await;
    let execution = execution_id(&view);
    let expected = "out-a\né€😀\n";

    let chunks = read_chunks(&server, &id, &execution, "stdout", None).await;
    let whole: String = chunks.iter().map(|(text, _)| text.as_str()).collect();
    assert_eq!(whole, expected);
    assert_eq!(
        chunks.last().map(|(_, end)| *end),
        Some(expected.len() as u64)
    );

    let stderr = read_chunks(&server, &id, &execution, "stderr", Some(0)).await;
    assert_eq!(stderr, vec![("err\n".to_owned(), 4)]);

    // Every character boundary: the rest of the output, exactly once.
    for (boundary, _) in expected.char_indices().skip(1) {
        let rest = read_chunks(&server, &id, &execution, "stdout", Some(boundary as u64)).await;
        let text: String = rest.iter().map(|(text, _)| text.as_str()).collect();
        assert_eq!(text, expected[boundary..], "resumed at {boundary}");
    }

    let at_end = read_chunks(
        &server,
        &id,
        &execution,
        "stdout",
        Some(expected.len() as u64),
    )
    .await;
    assert!(at_end.is_empty(), "{at_end:?}");

    server.stop().await;
}

#[tokio::test]
async fn offset_inside_character_resends_it_whole() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let view = server.exec(&id, "printf 'a\\342\\202\\254b'").await;
    let execution = execution_id(&view);

    for inside in [2, 3] {
        let chunks = read_chunks(&server, &id, &execution, "stdout", Some(inside)).await;
        assert_eq!(chunks, vec![("€b".to_owned(), 5)], "resumed at {inside}");
    }

    server.stop().await;
}

#[tokio::test]
async fn live_character_split_across_writes_stays_whole() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(
        &server,
        &id,
        json!({
            "command": "printf 'x\\342\\202'; read _; printf '\\254y\\n'",
            "attach_stdin": true,
        }),
    )
    .await;
    let execution = execution_id(&started);

    let mut stdout = open_stream(&server, &id, &execution, "stdout", None).await;
    let first = stdout.next().await.expect("a first chunk").chunk();
    assert_eq!(
        first,
        ("x".to_owned(), 1),
        "the split character is held back"
    );

    send_stdin(&server, &id, &execution, json!({ "text": "go\n" })).await;
    let rest = stdout.rest().await;
    let chunks: Vec<(String, u64)> = rest.iter().map(|event| event.chunk()).collect();
    assert_eq!(chunks, vec![("€y\n".to_owned(), 6)]);

    server.stop().await;
}

#[tokio::test]
async fn reconnect_mid_stream_loses_and_repeats_nothing() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(
        &server,
        &id,
        json!({ "command": "cat", "attach_stdin": true }),
    )
    .await;
    let execution = execution_id(&started);

    send_stdin(&server, &id, &execution, json!({ "text": "one\n" })).await;
    let mut first = open_stream(&server, &id, &execution, "stdout", Some(0)).await;
    let (seen, offset) = read_until(&mut first, "one\n").await;
    assert_eq!((seen.as_str(), offset), ("one\n", 4));
    drop(first);

    // Output written while no client is connected arrives after the reconnect.
    send_stdin(&server, &id, &execution, json!({ "text": "two\n" })).await;
    let mut second = open_stream(&server, &id, &execution, "stdout", Some(offset)).await;
    let (seen, offset) = read_until(&mut second, "two\n").await;
    assert_eq!((seen.as_str(), offset), ("two\n", 8));

    send_stdin(
        &server,
        &id,
        &execution,
        json!({ "text": "three\n", "signal": "EOF" }),
    )
    .await;
    let rest: Vec<(String, u64)> = second.rest().await.iter().map(|e| e.chunk()).collect();
    assert_eq!(rest, vec![("three\n".to_owned(), 14)]);

    let completed = wait_completed(&server, &id, &execution).await;
    assert_eq!(completed["stdout"], "one\ntwo\nthree\n");

    server.stop().await;
}

#[tokio::test]
async fn truncated_output_is_complete_in_stream() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;

    // About 12 MB: past twice the 4 MiB memory window, so the oldest output is spilled.
    let count = 1_500_000;
    let (status, view) = server
        .post(
            &format!("/v1/devboxes/{id}/execute?last_n=2"),
            json!({ "command": format!("seq 1 {count}") }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let execution = execution_id(&view);
    let view = wait_completed(&server, &id, &execution).await;
    assert_eq!(view["stdout_truncated"], true);
    assert_eq!(view["stderr_truncated"], false);

    let (status, tail) = server
        .get(&format!(
            "/v1/devboxes/{id}/executions/{execution}?last_n=2"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tail["stdout"], format!("{}\n{count}\n", count - 1));

    let expected = seq_output(count);
    let chunks = read_chunks(&server, &id, &execution, "stdout", None).await;
    let mut previous_end = 0;
    for (text, end) in &chunks {
        assert_eq!(
            *end,
            previous_end + text.len() as u64,
            "offsets are chunk ends"
        );
        previous_end = *end;
    }
    let whole: String = chunks.into_iter().map(|(text, _)| text).collect();
    assert_eq!(whole.len(), expected.len());
    assert!(whole == expected, "streamed output differs from seq output");

    server.stop().await;
}

#[tokio::test]
async fn spilled_output_gone_after_shutdown_is_error_event() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let view = server.exec(&id, "seq 1 1500000").await;
    let execution = execution_id(&view);

    let (status, _) = server
        .post(&format!("/v1/devboxes/{id}/shutdown"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let events = open_stream(&server, &id, &execution, "stdout", Some(0))
        .await
        .rest()
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event.as_deref(), Some("error"));
    let error: serde_json::Value = serde_json::from_str(&events[0].data).expect("JSON data");
    assert_eq!(error["code"], "410");
    let message = error["message"].as_str().expect("message");
    let resume_at: u64 = message
        .rsplit("offset=")
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("message names the offset to resume at: {message}"));

    let expected = seq_output(1_500_000);
    let rest = read_chunks(&server, &id, &execution, "stdout", Some(resume_at)).await;
    let text: String = rest.into_iter().map(|(text, _)| text).collect();
    assert!(
        text == expected[resume_at as usize..],
        "kept output differs"
    );

    server.stop().await;
}

#[tokio::test]
async fn bad_offsets_and_ids_are_json_errors() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let view = server.exec(&id, "echo hi").await;
    let execution = execution_id(&view);

    let (status, _) = try_open_stream(&server, &id, &execution, "stdout", Some(4)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = try_open_stream(&server, &id, "exe_missing", "stdout", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let response = server
        .client
        .get(format!(
            "{}/v1/devboxes/{id}/executions/{execution}/stream_stderr_updates?offset=abc",
            server.base_url
        ))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("offset"));

    server.stop().await;
}

#[tokio::test]
async fn stream_ends_when_server_stops() {
    let mut server = TestServer::start();
    let id = server.create_running(json!({})).await;
    let started = start_async(&server, &id, json!({ "command": "echo up; sleep 300" })).await;
    let execution = execution_id(&started);
    let mut stdout = open_stream(&server, &id, &execution, "stdout", None).await;
    read_until(&mut stdout, "up\n").await;

    let reader = tokio::spawn(stdout.rest());
    server.stop().await;
    let events = reader.await.expect("reader task finished");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event.as_deref(), Some("error"));
    let error: serde_json::Value = serde_json::from_str(&events[0].data).expect("JSON data");
    assert_eq!(error["code"], "503");
}
