//! The last-N-lines rule of `ExecutionResult.stdout(numLines)` and the output stream parser.

use crate::error::Error;
use crate::output::{buffered_output, parse_sse_output, streamed_output, tail_lines};

#[test]
fn tail_lines_cases() {
    let cases = [
        ("a\nb\nc\n", 2, "b\nc"),
        ("a\nb\nc", 2, "b\nc"),
        ("a\nb\nc\n\n\n", 1, "c"),
        ("a\n\nb\n", 2, "\nb"),
        ("a\nb\n", 10, "a\nb"),
        ("a\nb\n", 0, ""),
        ("a\nb\n", -3, ""),
        ("", 3, ""),
        ("\n\n", 3, ""),
        ("only", 1, "only"),
    ];
    for (text, lines, expected) in cases {
        assert_eq!(
            tail_lines(text, lines),
            expected,
            "tail_lines({text:?}, {lines})"
        );
    }
}

#[test]
fn complete_output_without_count_is_unchanged() {
    assert_eq!(
        buffered_output("a\nb\n", false, None).as_deref(),
        Some("a\nb\n")
    );
    assert_eq!(buffered_output("", false, None).as_deref(), Some(""));
}

#[test]
fn complete_output_with_count_is_tailed() {
    assert_eq!(
        buffered_output("a\nb\nc\n", false, Some(2)).as_deref(),
        Some("b\nc")
    );
}

#[test]
fn truncated_output_with_enough_lines_is_tailed() {
    assert_eq!(
        buffered_output("x\ny\nz\n", true, Some(2)).as_deref(),
        Some("y\nz")
    );
    assert_eq!(
        buffered_output("x\ny\n", true, Some(0)).as_deref(),
        Some("")
    );
}

#[test]
fn truncated_output_needs_stream() {
    assert_eq!(buffered_output("y\nz\n", true, None), None);
    assert_eq!(buffered_output("y\nz\n", true, Some(3)), None);
    assert_eq!(buffered_output("y\n\n\n", true, Some(2)), None);
}

#[test]
fn streamed_output_applies_count() {
    assert_eq!(streamed_output("1\n2\n3\n".to_owned(), Some(2)), "2\n3");
    assert_eq!(streamed_output("1\n2\n3\n".to_owned(), None), "1\n2\n3\n");
}

#[test]
fn sse_output_is_concatenated() {
    let body = concat!(
        ": keep-alive\n",
        "data: {\"output\":\"hello \",\"offset\":6}\n",
        "\n",
        "event: message\r\n",
        "data: {\"output\":\"world\\n\",\"offset\":12}\r\n",
        "\r\n",
        "data: {\"output\":\"!\"}",
    );

    let output = parse_sse_output(body, "GET stream").unwrap();

    assert_eq!(output, "hello world\n!");
}

#[test]
fn sse_multiline_data_is_joined() {
    let body = "data: {\"output\":\ndata: \"x\"}\n\n";

    assert_eq!(parse_sse_output(body, "GET stream").unwrap(), "x");
}

#[test]
fn sse_error_event_becomes_api_error() {
    let body = concat!(
        "data: {\"output\":\"partial\"}\n\n",
        "event: error\n",
        "data: {\"code\":\"404\",\"message\":\"Execution not found\"}\n\n",
    );

    let error = parse_sse_output(body, "GET stream").unwrap_err();

    let Error::Api(api) = error else {
        panic!("expected an API error, got {error:?}");
    };
    assert_eq!(api.status, 404);
    assert_eq!(api.message, "404 Execution not found");
}

#[test]
fn sse_bad_chunk_names_field() {
    let error = parse_sse_output("data: {\"output\": 5}\n\n", "GET stream").unwrap_err();

    let Error::Decode { path, .. } = error else {
        panic!("expected a decode error, got {error:?}");
    };
    assert_eq!(path, "output");
}
