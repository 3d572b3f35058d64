//! Command output: the last-N-lines rule of `ExecutionResult.stdout(numLines)`.

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
