//! JSON decoding with errors that name the offending field.
//!
//! serde_json reports where in the text decoding failed (line and column) but not which
//! field. Instead of tracking the path during decoding, which would double the code of
//! every `Deserialize` implementation in the wasm build, [`path_at`] rescans the text up to
//! the failure and rebuilds the path from the open objects and arrays.

use serde::de::DeserializeOwned;

/// A JSON text that did not decode into the expected type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Path of the field where decoding failed, such as `devboxes[0].status`; empty for the
    /// whole value.
    pub path: String,
    /// serde_json's description of the mismatch, without its line and column.
    pub message: String,
}

/// Decodes `text` as a `T`, failing with the path of the field that did not match.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    serde_json::from_str(text).map_err(|error| {
        let offset = byte_offset(text, error.line(), error.column());
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(end) => message[..end].to_owned(),
            None => message,
        };
        JsonError {
            path: path_at(text, offset),
            message,
        }
    })
}

/// Converts serde_json's 1-based line and byte column into a byte offset in `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(index, _)| index + 1)
    };
    (line_start + column).min(text.len())
}

/// One open container while scanning.
enum Frame {
    /// An object and the key whose value is being read, if any.
    Object(Option<String>),
    /// An array and the index of the element being read.
    Array(usize),
}

/// Returns the path of the value being read at byte `offset` of a JSON `text`: the keys of
/// the enclosing objects and the indices of the enclosing arrays, such as
/// `launch_parameters.resource_size_request` or `snapshots[2].id`. Returns `""` at the top
/// level. Malformed text gives the path of the part that scanned cleanly.
pub fn path_at(text: &str, offset: usize) -> String {
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut index = 0;

    while index < end {
        match bytes[index] {
            b'{' => stack.push(Frame::Object(None)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(position)) => *position += 1,
                Some(Frame::Object(key)) => *key = None,
                None => {}
            },
            b'"' => {
                let (string, next) = scan_string(text, index + 1);
                if let Some(Frame::Object(key @ None)) = stack.last_mut() {
                    *key = Some(string);
                }
                index = next;
                continue;
            }
            _ => {}
        }
        index += 1;
    }

    render_path(&stack)
}

/// Reads a JSON string whose opening quote precedes `start`. Returns its decoded text (escapes
/// other than `\"` and `\\` are kept as written) and the index after the closing quote.
fn scan_string(text: &str, start: usize) -> (String, usize) {
    let bytes = text.as_bytes();
    let mut index = start;
    let mut value = Vec::new();

    while index < bytes.len() {
        match bytes[index] {
            b'"' => return (String::from_utf8_lossy(&value).into_owned(), index + 1),
            b'\\' if index + 1 < bytes.len() => {
                let escaped = bytes[index + 1];
                if !matches!(escaped, b'"' | b'\\') {
                    value.push(b'\\');
                }
                value.push(escaped);
                index += 2;
            }
            byte => {
                value.push(byte);
                index += 1;
            }
        }
    }
    (String::from_utf8_lossy(&value).into_owned(), index)
}

fn render_path(stack: &[Frame]) -> String {
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object(None) => {}
            Frame::Array(position) => {
                path.push('[');
                path.push_str(&position.to_string());
                path.push(']');
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
        #[serde(default)]
        extra: BTreeMap<String, String>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        id: String,
        count: u32,
    }

    #[test]
    fn wrong_type_names_nested_field() {
        let text = r#"{"items":[{"id":"a","count":1},{"id":"b","count":"two"}]}"#;

        let error = decode::<Outer>(text).unwrap_err();

        assert_eq!(error.path, "items[1].count");
        assert!(error.message.contains("invalid type"), "{}", error.message);
        assert!(!error.message.contains("line"), "{}", error.message);
    }

    #[test]
    fn missing_field_names_object() {
        let text = "{\n  \"items\": [\n    {\"id\": \"a\"}\n  ]\n}";

        let error = decode::<Outer>(text).unwrap_err();

        assert_eq!(error.path, "items[0]");
        assert!(
            error.message.contains("missing field `count`"),
            "{}",
            error.message
        );
    }

    #[test]
    fn top_level_error_has_empty_path() {
        let error = decode::<Outer>("[]").unwrap_err();

        assert_eq!(error.path, "");
    }

    #[test]
    fn escaped_keys_and_map_values() {
        let text = r#"{"items":[],"extra":{"a\"b":7}}"#;

        let error = decode::<Outer>(text).unwrap_err();

        assert_eq!(error.path, "extra.a\"b");
    }

    #[test]
    fn path_at_skips_strings_with_brackets() {
        let text = r#"{"a":"[{,","b":[1,2,{"c":"#;

        assert_eq!(path_at(text, text.len()), "b[2].c");
    }
}
