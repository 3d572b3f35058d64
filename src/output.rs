//! Command output: the last-N-lines rule of `ExecutionResult.stdout(numLines)` and the
//! server-sent events of the output streams.

use runloop_types::ExecutionUpdateChunk;

use crate::client::decode_json;
use crate::error::{ApiError, Error, Result};

/// Returns the last `num_lines` lines of `text`. Trailing empty lines are dropped first and
/// the lines are joined with `\n`, so the result has no final newline. `num_lines <= 0` gives
/// an empty string.
pub fn tail_lines(text: &str, num_lines: i64) -> String {
    if num_lines <= 0 {
        return String::new();
    }

    let mut lines: Vec<&str> = text.split('\n').collect();
    while lines.last() == Some(&"") {
        lines.pop();
    }
    let keep = usize::try_from(num_lines).unwrap_or(usize::MAX);
    let start = lines.len().saturating_sub(keep);
    lines[start..].join("\n")
}

/// Counts the lines of `text` that are not empty.
pub fn count_non_empty_lines(text: &str) -> usize {
    text.split('\n').filter(|line| !line.is_empty()).count()
}

/// Applies the output rule to the text returned with an execution, or returns `None` when the
/// whole stream must be read instead.
///
/// - With `num_lines`: the last lines of `current`, when it is complete or already contains at
///   least `num_lines` non-empty lines.
/// - Without `num_lines`: `current` unchanged, when it is complete.
/// - Otherwise (`current` was truncated by the server): `None`.
pub fn buffered_output(current: &str, truncated: bool, num_lines: Option<i64>) -> Option<String> {
    match num_lines {
        Some(lines) => {
            let enough = usize::try_from(lines)
                .map(|wanted| count_non_empty_lines(current) >= wanted)
                .unwrap_or(true);
            (!truncated || enough).then(|| tail_lines(current, lines))
        }
        None => (!truncated).then(|| current.to_owned()),
    }
}

/// Applies `num_lines` to the complete output read from the stream.
pub fn streamed_output(full: String, num_lines: Option<i64>) -> String {
    match num_lines {
        Some(lines) => tail_lines(&full, lines),
        None => full,
    }
}

/// Concatenates the `output` fields of a complete server-sent event stream of
/// [`ExecutionUpdateChunk`]s.
///
/// An `error` event (JSON `{code, message}`) becomes [`Error::Api`] with `code` as the
/// status. `context` names the request, for messages.
pub fn parse_sse_output(body: &str, context: &str) -> Result<String> {
    let mut output = String::new();
    let mut event = String::new();
    let mut data: Vec<&str> = Vec::new();

    // The final `None` dispatches an event that the stream did not end with a blank line.
    for line in body.lines().map(Some).chain([None]) {
        match line {
            Some(line) if !line.is_empty() => {
                if line.starts_with(':') {
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => event = value.to_owned(),
                    "data" => data.push(value),
                    _ => {}
                }
            }
            _ => {
                if !data.is_empty() {
                    let payload = data.join("\n");
                    dispatch_event(&event, &payload, context, &mut output)?;
                }
                event.clear();
                data.clear();
            }
        }
    }
    Ok(output)
}

fn dispatch_event(event: &str, payload: &str, context: &str, output: &mut String) -> Result<()> {
    if event == "error" {
        return Err(stream_error(payload));
    }
    let chunk: ExecutionUpdateChunk = decode_json(payload, context)?;
    output.push_str(&chunk.output);
    Ok(())
}

/// Builds the error of an `error` event, whose `code` is an HTTP status as a string or number.
fn stream_error(payload: &str) -> Error {
    let parsed: Option<serde_json::Value> = serde_json::from_str(payload).ok();
    let code = parsed.as_ref().and_then(|value| match value.get("code") {
        Some(serde_json::Value::String(code)) => code.parse::<u16>().ok(),
        Some(serde_json::Value::Number(code)) => code.as_u64().and_then(|c| u16::try_from(c).ok()),
        _ => None,
    });
    let status = code.unwrap_or(500);
    Error::Api(Box::new(ApiError::from_response(
        status,
        Vec::new(),
        payload,
        None,
    )))
}
