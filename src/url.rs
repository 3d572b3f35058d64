//! Base URL joining, path segments and query strings.

use serde::Serialize;

use crate::error::{Error, Result};

/// Joins a base URL and an API path. A path prefix in the base is kept and a trailing `/` on
/// the base is not doubled: `http://h/custom/` + `/v1/x` gives `http://h/custom/v1/x`.
pub fn join_url(base_url: &str, path: &str, query: &[(String, String)]) -> String {
    let base = base_url.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    let mut url = format!("{base}/{path}");

    for (index, (key, value)) in query.iter().enumerate() {
        url.push(if index == 0 { '?' } else { '&' });
        url.push_str(&encode_component(key));
        url.push('=');
        url.push_str(&encode_component(value));
    }
    url
}

/// Percent-encodes everything but the RFC 3986 unreserved characters, for one path segment
/// or one query key or value.
pub fn encode_component(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Turns a flat serializable struct into query pairs, sorted by key. `null` fields are left
/// out; strings, numbers and booleans are written as in JSON without quotes. Nested arrays
/// and objects are rejected, because the Runloop API has no encoding for them.
pub fn to_query<T: Serialize>(params: &T) -> Result<Vec<(String, String)>> {
    // Going through JSON text reuses the serializer of request bodies.
    let invalid = |error: serde_json::Error| {
        Error::InvalidArgument(format!("invalid query parameters: {error}"))
    };
    let text = serde_json::to_string(params).map_err(invalid)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(invalid)?;
    let serde_json::Value::Object(fields) = value else {
        return Err(Error::InvalidArgument(
            "invalid query parameters: expected an object".to_owned(),
        ));
    };

    let mut pairs = Vec::with_capacity(fields.len());
    for (key, value) in fields {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => text,
            serde_json::Value::Bool(flag) => flag.to_string(),
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(Error::InvalidArgument(format!(
                    "invalid query parameter `{key}`: arrays and objects cannot be sent in a query"
                )))
            }
        };
        pairs.push((key, text));
    }
    Ok(pairs)
}
