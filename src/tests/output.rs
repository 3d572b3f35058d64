//! The last-N-lines rule of `ExecutionResult.stdout(numLines)`, the event stream parser and
//! the line splitter.

use std::collections::VecDeque;

use crate::error::Error;
use crate::output::{buffered_output, streamed_output, tail_lines};
use crate::sse::{event_error, LineSplitter, SseEvent, SseParser};

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
fn sse_events_survive_any_split() {
    let body = concat!(
        ": keep-alive\n",
        "data: {\"output\":\"hello \",\"offset\":6}\n",
        "\n",
        "event: message\r\n",
        "data: {\"output\":\"world\\n\",\"offset\":12}\r\n",
        "\r\n",
        "data: a\rdata: b\r\r",
        "data: last",
    );
    let expected = vec![
        SseEvent {
            event: String::new(),
            data: "{\"output\":\"hello \",\"offset\":6}".to_owned(),
        },
        SseEvent {
            event: "message".to_owned(),
            data: "{\"output\":\"world\\n\",\"offset\":12}".to_owned(),
        },
        SseEvent {
            event: String::new(),
            data: "a\nb".to_owned(),
        },
        SseEvent {
            event: String::new(),
            data: "last".to_owned(),
        },
    ];

    for split in 0..=body.len() {
        let mut parser = SseParser::default();
        let mut events = VecDeque::new();
        parser.feed(&body[..split], &mut events);
        parser.feed(&body[split..], &mut events);
        parser.finish(&mut events);

        assert_eq!(Vec::from(events), expected, "split at {split}");
    }
}

#[test]
fn sse_event_without_data_is_dropped() {
    let mut parser = SseParser::default();
    let mut events = VecDeque::new();

    parser.feed("event: ping\n\nid: 3\n\n", &mut events);
    parser.finish(&mut events);

    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn error_event_becomes_api_error() {
    let error = event_error("{\"code\":\"404\",\"message\":\"Execution not found\"}");

    let Error::Api(api) = error else {
        panic!("expected an API error, got {error:?}");
    };
    assert_eq!(api.status, 404);
    assert_eq!(api.message, "404 Execution not found");
    assert_eq!(event_error("{\"code\":408}").status(), Some(408));
    assert_eq!(event_error("not json").status(), Some(500));
}

#[test]
fn lines_keep_newlines_and_join_to_output() {
    let chunks = ["he", "llo\nwor", "ld\n\n", "tail"];
    let mut splitter = LineSplitter::default();
    let mut lines = VecDeque::new();

    for chunk in chunks {
        splitter.push(chunk, &mut lines);
    }
    let last = splitter.finish();

    assert_eq!(Vec::from(lines), vec!["hello\n", "world\n", "\n"]);
    assert_eq!(last.as_deref(), Some("tail"));
    assert_eq!(splitter.finish(), None);
}
