//! The `RunloopSDK` constructor's options: defaults from the environment in Node, type checks
//! with messages naming the option, and the browser rule.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::convert::{from_js, is_absent, optional_milliseconds, property};
use super::host::global;
use crate::browser::key_allowed_without_opt_in;
use crate::client::{ClientConfig, DEFAULT_BASE_URL};
use crate::error::{Error, Result};

/// Settings read from the `RunloopSDK` constructor's options and the environment.
pub(crate) struct SdkOptions {
    pub config: ClientConfig,
    pub fetch: Option<Function>,
}

/// Reads the `RunloopSDK` options. `bearerToken` and `baseURL` fall back to the
/// `RUNLOOP_API_KEY` and `RUNLOOP_BASE_URL` environment variables where `process.env`
/// exists (Node); a blank `RUNLOOP_BASE_URL` counts as unset.
pub(crate) fn sdk_options(options: &JsValue) -> Result<SdkOptions> {
    if !is_absent(options) && !options.is_object() {
        return Err(Error::InvalidArgument(
            "Invalid RunloopSDK options: expected an object like { bearerToken, baseURL }"
                .to_owned(),
        ));
    }

    let bearer_token = optional_string(options, "bearerToken")?
        .or_else(|| env_var("RUNLOOP_API_KEY"))
        .filter(|token| !token.is_empty())
        .ok_or(Error::MissingBearerToken)?;
    let base_url = optional_string(options, "baseURL")?
        .or_else(|| env_var("RUNLOOP_BASE_URL"))
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    check_base_url(&base_url)?;
    check_browser_use(options, &base_url)?;

    let mut config = ClientConfig::new(bearer_token);
    config.base_url = base_url;
    if let Some(timeout_ms) = optional_milliseconds(options, "timeout")? {
        config.timeout_ms = timeout_ms;
    }
    if let Some(max_retries) = optional_count(options, "maxRetries")? {
        config.retry.max_retries = max_retries;
    }
    config.default_headers = default_headers(options)?;

    let fetch = property(options, "fetch");
    let fetch = if is_absent(&fetch) {
        None
    } else {
        let function = fetch.dyn_into::<Function>().map_err(|_| {
            Error::InvalidArgument("Invalid options.fetch: expected a function".to_owned())
        })?;
        Some(function)
    };

    Ok(SdkOptions { config, fetch })
}

/// Rejects a key used from a browser page (or web worker) unless the options opt in with
/// `dangerouslyAllowBrowser: true` or the base URL keeps the key on the user's machine or
/// site.
fn check_browser_use(options: &JsValue, base_url: &str) -> Result<()> {
    let in_page = !is_absent(&global("document"));
    let in_worker = global("importScripts").is_function();
    if !in_page && !in_worker {
        return Ok(());
    }
    if property(options, "dangerouslyAllowBrowser").as_bool() == Some(true) {
        return Ok(());
    }

    let page_origin = property(&global("location"), "origin").as_string();
    if key_allowed_without_opt_in(base_url, page_origin.as_deref()) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "RunloopSDK refuses to run in a browser with an API key for {base_url}: anyone who \
         loads this page can read the key. Call the API through your own server (a baseURL \
         path on this origin), or pass dangerouslyAllowBrowser: true if every user of this \
         page may hold the key."
    )))
}

/// Checks that `baseURL` is an absolute `http:` or `https:` URL, as the host's `URL`
/// constructor parses it, or a path such as `/api` where a `location` global exists for
/// `fetch` to resolve it against (a page or a worker).
fn check_base_url(base_url: &str) -> Result<()> {
    let is_path = base_url.starts_with('/') && !base_url.starts_with("//");
    if is_path && !is_absent(&global("location")) {
        return Ok(());
    }

    // NOTE: a host without a `URL` constructor gets no check here.
    let Ok(constructor) = global("URL").dyn_into::<Function>() else {
        return Ok(());
    };
    let parsed = Reflect::construct(&constructor, &Array::of1(&JsValue::from_str(base_url)));
    let protocol = parsed
        .ok()
        .and_then(|url| property(&url, "protocol").as_string());
    if matches!(protocol.as_deref(), Some("http:" | "https:")) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "Invalid baseURL: expected an http:// or https:// URL such as {DEFAULT_BASE_URL}, \
         got '{base_url}'. Check options.baseURL or the RUNLOOP_BASE_URL environment variable."
    )))
}

fn default_headers(options: &JsValue) -> Result<Vec<(String, String)>> {
    let headers = property(options, "defaultHeaders");
    if is_absent(&headers) {
        return Ok(Vec::new());
    }
    let map: std::collections::BTreeMap<String, String> =
        from_js(&headers, "options.defaultHeaders")?;
    Ok(map.into_iter().collect())
}

fn optional_string(object: &JsValue, key: &str) -> Result<Option<String>> {
    let value = property(object, key);
    if is_absent(&value) {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| Error::InvalidArgument(format!("Invalid options.{key}: expected a string")))
}

fn optional_count(object: &JsValue, key: &str) -> Result<Option<u32>> {
    let value = property(object, key);
    if is_absent(&value) {
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
    let env = property(&global("process"), "env");
    property(&env, name).as_string()
}
