//! Conversions between JS values and Rust types, through JSON text.
//!
//! Values cross as JSON (`JSON.stringify` in, `JSON.parse` out), so every wire type has one
//! `Deserialize` and one `Serialize` implementation in the build, shared with request and
//! response bodies. Maps become plain objects, `None` becomes `null` or an absent key as the
//! generated TypeScript types declare, and integers such as timestamps become numbers.

use js_sys::{Object, Reflect, JSON};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use super::progress::progress_option;
use crate::client::RequestOptions;
use crate::error::{Error, Result};
use crate::json;
use crate::wait::WaitOptions;

/// Converts a value to a JS value.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    let text = serde_json::to_string(value).map_err(|error| Error::InvalidResponse {
        context: "conversion to JS".to_owned(),
        message: error.to_string(),
    })?;
    JSON::parse(&text).map_err(|_| Error::InvalidResponse {
        context: "conversion to JS".to_owned(),
        message: "JSON.parse rejected the SDK's own output".to_owned(),
    })
}

/// Converts a JS argument; `undefined` and `null` give `T::default()`. The error names the
/// argument and the path of the offending field.
pub(crate) fn from_js_or_default<T: DeserializeOwned + Default>(
    value: &JsValue,
    argument: &str,
) -> Result<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    from_js(value, argument)
}

/// Converts a required JS argument. The error names the argument and the path of the
/// offending field, such as `Invalid params.launch_parameters.resource_size_request`.
pub(crate) fn from_js<T: DeserializeOwned>(value: &JsValue, argument: &str) -> Result<T> {
    let text = JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "Invalid {argument}: expected a value that JSON.stringify accepts"
            ))
        })?;

    json::decode(&text).map_err(|error| {
        let location = if error.path.is_empty() {
            argument.to_owned()
        } else {
            format!("{argument}.{}", error.path)
        };
        Error::InvalidArgument(format!("Invalid {location}: {}", error.message))
    })
}

/// Returns `object[key]`, or `undefined` when it is missing or `object` is not an object.
pub(crate) fn property(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Returns whether `value` is `undefined` or `null`.
pub(crate) fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// Builds a plain object from key and value pairs.
pub(crate) fn object(entries: &[(&str, &JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in entries {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// Reads `{ timeout?, signal? }` as the options of a single request.
pub(crate) fn request_options(value: &JsValue) -> Result<RequestOptions<AbortSignal>> {
    let (timeout_ms, signal) = timeout_and_signal(value)?;
    Ok(RequestOptions {
        timeout_ms,
        signal,
        ..RequestOptions::default()
    })
}

/// Reads `{ timeout?, signal? }` as the options of a wait, where `timeout` bounds the whole
/// wait.
pub(crate) fn wait_options(value: &JsValue) -> Result<WaitOptions<AbortSignal>> {
    let (timeout_ms, signal) = timeout_and_signal(value)?;
    let progress = progress_option(value)?;
    Ok(WaitOptions {
        timeout_ms,
        signal,
        progress,
    })
}

/// Reads an optional boolean option, such as `force`.
pub(crate) fn optional_flag(options: &JsValue, key: &str) -> Result<bool> {
    let value = property(options, key);
    if is_absent(&value) {
        return Ok(false);
    }
    value
        .as_bool()
        .ok_or_else(|| Error::InvalidArgument(format!("Invalid options.{key}: expected a boolean")))
}

fn timeout_and_signal(value: &JsValue) -> Result<(Option<u64>, Option<AbortSignal>)> {
    if is_absent(value) {
        return Ok((None, None));
    }
    if !value.is_object() {
        return Err(Error::InvalidArgument(
            "Invalid options: expected an object like { timeout, signal }".to_owned(),
        ));
    }

    let timeout_ms = optional_milliseconds(value, "timeout")?;
    let signal = property(value, "signal");
    let signal = if is_absent(&signal) {
        None
    } else if is_abort_signal(&signal) {
        Some(signal.unchecked_into::<AbortSignal>())
    } else {
        return Err(Error::InvalidArgument(
            "Invalid options.signal: expected an AbortSignal".to_owned(),
        ));
    };
    Ok((timeout_ms, signal))
}

/// Checks the shape rather than `instanceof`, so that signals from another realm (an iframe,
/// a `vm` context) are accepted.
fn is_abort_signal(value: &JsValue) -> bool {
    property(value, "aborted").as_bool().is_some()
        && property(value, "addEventListener").is_function()
}

/// Reads a duration in milliseconds: a finite number of at least 0, rounded up.
pub(crate) fn optional_milliseconds(object: &JsValue, key: &str) -> Result<Option<u64>> {
    let value = property(object, key);
    if is_absent(&value) {
        return Ok(None);
    }
    match value.as_f64() {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some(ms.ceil() as u64)),
        _ => Err(Error::InvalidArgument(format!(
            "Invalid options.{key}: expected a number of milliseconds of at least 0"
        ))),
    }
}

/// Converts a JS argument like [`from_js_or_default`], after checking that every key of the
/// object that is set (not `undefined` or `null`) is a field of `T` or one of `extra`. A
/// misspelled filter would otherwise be dropped, and a list or prune would act on everything.
pub(crate) fn from_js_checked<T: DeserializeOwned + Default>(
    value: &JsValue,
    argument: &str,
    extra: &[&str],
) -> Result<T> {
    if value.is_object() && !js_sys::Array::is_array(value) {
        let fields = field_names::<T>();
        for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
            let Some(key) = key.as_string() else { continue };
            let known = fields.contains(&key.as_str()) || extra.contains(&key.as_str());
            if !known && !is_absent(&property(value, &key)) {
                return Err(Error::InvalidArgument(format!(
                    "Invalid {argument}.{key}: unknown field; expected one of {}",
                    fields
                        .iter()
                        .chain(extra)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    from_js_or_default(value, argument)
}

/// Returns the field names that `T`'s `Deserialize` implementation declares, by asking it to
/// read from a deserializer that records them and reads nothing.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that records the field list of the struct asked for and fails.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("field names only"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(serde::de::Error::custom("field names only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Reads a required string argument such as an id or a command. wasm-bindgen's glue for a
/// `String` parameter does not check the type, so exports take a `JsValue` and check here.
pub(crate) fn string_arg(value: &JsValue, argument: &str) -> Result<String> {
    value.as_string().ok_or_else(|| {
        let found = if value.is_null() {
            "null".to_owned()
        } else {
            value.js_typeof().as_string().unwrap_or_default()
        };
        Error::InvalidArgument(format!(
            "Invalid {argument}: expected a string, got {found}"
        ))
    })
}
