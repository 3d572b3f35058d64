//! Conversions between JS values and Rust types: views out, params and options in.

use js_sys::{Function, Object, Reflect};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::client::{ClientConfig, RequestOptions, DEFAULT_BASE_URL};
use crate::error::{Error, Result};
use crate::wait::WaitOptions;

/// Serializes a value for JS: maps become plain objects and `None` becomes `null`, as the
/// generated TypeScript types declare.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_maps_as_objects(true)
        .serialize_missing_as_null(true);
    value
        .serialize(&serializer)
        .map_err(|error| Error::InvalidResponse {
            context: "conversion to JS".to_owned(),
            message: error.to_string(),
        })
}

/// Deserializes a JS argument; `undefined` and `null` give `T::default()`. The error names the
/// argument and the path of the offending field.
pub(crate) fn from_js_or_default<T: DeserializeOwned + Default>(
    value: JsValue,
    argument: &str,
) -> Result<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    from_js(value, argument)
}

/// Deserializes a required JS argument. The error names the argument and the path of the
/// offending field.
pub(crate) fn from_js<T: DeserializeOwned>(value: JsValue, argument: &str) -> Result<T> {
    let deserializer = serde_wasm_bindgen::Deserializer::from(value);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let location = if path == "." {
            argument.to_owned()
        } else {
            format!("{argument}.{path}")
        };
        // serde-wasm-bindgen messages come from a JS `Error` and start with its name.
        let message = error.inner().to_string();
        let message = message.strip_prefix("Error: ").unwrap_or(&message);
        Error::InvalidArgument(format!("Invalid {location}: {message}"))
    })
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
    Ok(WaitOptions { timeout_ms, signal })
}

fn timeout_and_signal(value: &JsValue) -> Result<(Option<u64>, Option<AbortSignal>)> {
    if value.is_undefined() || value.is_null() {
        return Ok((None, None));
    }
    if !value.is_object() {
        return Err(Error::InvalidArgument(
            "Invalid options: expected an object like { timeout, signal }".to_owned(),
        ));
    }

    let timeout_ms = optional_milliseconds(value, "timeout", "options.timeout")?;
    let signal = property(value, "signal");
    let signal = if signal.is_undefined() || signal.is_null() {
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

/// Settings read from the `RunloopSDK` constructor's options and the environment.
pub(crate) struct SdkOptions {
    pub config: ClientConfig,
    pub fetch: Option<Function>,
}

/// Reads the `RunloopSDK` options. `bearerToken` and `baseURL` fall back to the
/// `RUNLOOP_API_KEY` and `RUNLOOP_BASE_URL` environment variables where `process.env`
/// exists (Node); a blank `RUNLOOP_BASE_URL` counts as unset.
pub(crate) fn sdk_options(value: &JsValue) -> Result<SdkOptions> {
    let has_options = !(value.is_undefined() || value.is_null());
    if has_options && !value.is_object() {
        return Err(Error::InvalidArgument(
            "Invalid RunloopSDK options: expected an object like { bearerToken, baseURL }"
                .to_owned(),
        ));
    }
    let options = if has_options {
        value.clone()
    } else {
        Object::new().into()
    };

    let bearer_token = optional_string(&options, "bearerToken")?
        .or_else(|| env_var("RUNLOOP_API_KEY"))
        .filter(|token| !token.is_empty())
        .ok_or(Error::MissingBearerToken)?;
    let base_url = optional_string(&options, "baseURL")?
        .or_else(|| env_var("RUNLOOP_BASE_URL"))
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());

    let mut config = ClientConfig::new(bearer_token);
    config.base_url = base_url;
    if let Some(timeout_ms) = optional_milliseconds(&options, "timeout", "options.timeout")? {
        config.timeout_ms = timeout_ms;
    }
    if let Some(max_retries) = optional_count(&options, "maxRetries")? {
        config.retry.max_retries = max_retries;
    }
    config.default_headers = default_headers(&options)?;

    let fetch = property(&options, "fetch");
    let fetch = if fetch.is_undefined() || fetch.is_null() {
        None
    } else {
        let function = fetch.dyn_into::<Function>().map_err(|_| {
            Error::InvalidArgument("Invalid options.fetch: expected a function".to_owned())
        })?;
        Some(function)
    };

    Ok(SdkOptions { config, fetch })
}

fn default_headers(options: &JsValue) -> Result<Vec<(String, String)>> {
    let headers = property(options, "defaultHeaders");
    if headers.is_undefined() || headers.is_null() {
        return Ok(Vec::new());
    }
    let map: std::collections::BTreeMap<String, String> =
        from_js(headers, "options.defaultHeaders")?;
    Ok(map.into_iter().collect())
}

fn property(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn optional_string(object: &JsValue, key: &str) -> Result<Option<String>> {
    let value = property(object, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| Error::InvalidArgument(format!("Invalid options.{key}: expected a string")))
}

/// Reads a duration in milliseconds: a finite number of at least 0, rounded up.
fn optional_milliseconds(object: &JsValue, key: &str, name: &str) -> Result<Option<u64>> {
    let value = property(object, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some(ms.ceil() as u64)),
        _ => Err(Error::InvalidArgument(format!(
            "Invalid {name}: expected a number of milliseconds of at least 0"
        ))),
    }
}

fn optional_count(object: &JsValue, key: &str) -> Result<Option<u32>> {
    let value = property(object, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(count) if count.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&count) => {
            Ok(Some(count as u32))
        }
        _ => Err(Error::InvalidArgument(format!(
            "Invalid options.{key}: expected a whole number of at least 0"
        ))),
    }
}

/// Reads `process.env[name]` when the runtime has `process` (Node); `None` in browsers.
fn env_var(name: &str) -> Option<String> {
    let process = property(&js_sys::global(), "process");
    if !process.is_object() {
        return None;
    }
    let env = property(&process, "env");
    if !env.is_object() {
        return None;
    }
    property(&env, name).as_string()
}
