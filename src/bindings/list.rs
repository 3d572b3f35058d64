//! `DevboxList` and `SnapshotList`: what `runloop.devbox.list()` and `runloop.snapshot.list()`
//! return. Each fetches one page per `fetchPage` call; `js/protocols.cjs` makes them
//! awaitable and async iterable on top of it.

use std::rc::Rc;

use js_sys::{Array, Promise};
use runloop_types::DevboxListParams;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::convert::{from_js_checked, object, property, request_options, to_js};
use super::devbox::Devbox;
use super::snapshot::Snapshot;
use super::{spawn, JsClient};
use crate::paging::next_cursor;
use crate::resources::snapshots::SnapshotListParams;

/// Devboxes matching a filter, newest first.
///
/// `await` it for the **first page** (like the official SDK), or iterate it with
/// `for await` for every devbox on every page.
///
/// ```ts
/// const firstPage: Devbox[] = await runloop.devbox.list({ limit: 10 });
/// for await (const devbox of runloop.devbox.list({ status: 'running' })) console.log(devbox.id);
/// ```
#[wasm_bindgen]
pub struct DevboxList {
    client: JsClient,
    params: JsValue,
    options: JsValue,
}

impl DevboxList {
    pub(super) fn new(client: JsClient, params: JsValue, options: JsValue) -> Self {
        Self {
            client,
            params,
            options,
        }
    }
}

#[wasm_bindgen]
impl DevboxList {
    /// Fetches the page that starts after `cursor` (the first page when it is `null`).
    /// `nextCursor` is `null` on the last page.
    ///
    /// ```ts
    /// const { items, nextCursor } = await runloop.devbox.list().fetchPage(null);
    /// ```
    #[wasm_bindgen(js_name = fetchPage, unchecked_return_type = "Promise<ListPage<Devbox>>")]
    pub fn fetch_page(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | null")] cursor: JsValue,
    ) -> Promise {
        let client = Rc::clone(&self.client);
        let params = self.params.clone();
        let options = self.options.clone();
        spawn(async move {
            let mut params: DevboxListParams = from_js_checked(&params, "params", &[])?;
            if let Some(cursor) = cursor.as_string() {
                params.starting_after = Some(cursor);
            }
            let options = request_options(&options)?;

            let page = client.devboxes().list(&params, &options).await?;
            let next = next_cursor(
                page.devboxes.last().map(|devbox| devbox.id.as_str()),
                page.has_more,
                params.starting_after.as_deref(),
                "GET /v1/devboxes",
            )?;
            let items = Array::new();
            for view in page.devboxes {
                items.push(&Devbox::new(Rc::clone(&client), view.id).into());
            }
            Ok(page_object(items, next))
        })
    }
}

/// Disk snapshots matching a filter, newest first, each with its listed view as `info`.
///
/// `await` it for **every** matching snapshot (all pages, fetched in turn), or iterate it
/// with `for await`, which fetches one page at a time.
///
/// ```ts
/// const all: Snapshot[] = await runloop.snapshot.list({ devbox_id: devbox.id });
/// for await (const snapshot of runloop.snapshot.list({ metadata: { team: 'a' } })) await snapshot.delete();
/// ```
#[wasm_bindgen]
pub struct SnapshotList {
    client: JsClient,
    params: JsValue,
    options: JsValue,
}

impl SnapshotList {
    pub(super) fn new(client: JsClient, params: JsValue, options: JsValue) -> Self {
        Self {
            client,
            params,
            options,
        }
    }
}

#[wasm_bindgen]
impl SnapshotList {
    /// Fetches the page that starts after `cursor` (the first page when it is `null`).
    /// `nextCursor` is `null` on the last page.
    ///
    /// ```ts
    /// const { items, nextCursor } = await runloop.snapshot.list({ limit: 5 }).fetchPage(null);
    /// ```
    #[wasm_bindgen(js_name = fetchPage, unchecked_return_type = "Promise<ListPage<Snapshot>>")]
    pub fn fetch_page(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | null")] cursor: JsValue,
    ) -> Promise {
        let client = Rc::clone(&self.client);
        let params = self.params.clone();
        let options = self.options.clone();
        spawn(async move {
            let mut params = snapshot_filter(&params, "params", &[])?;
            if let Some(cursor) = cursor.as_string() {
                params.starting_after = Some(cursor);
            }
            let options = request_options(&options)?;

            let page = client.snapshots().list(&params, &options).await?;
            let next = next_cursor(
                page.snapshots.last().map(|snapshot| snapshot.id.as_str()),
                page.has_more,
                params.starting_after.as_deref(),
                "GET /v1/devboxes/disk_snapshots",
            )?;
            let items = Array::new();
            for view in page.snapshots {
                let info = to_js(&view)?;
                items.push(&Snapshot::new(Rc::clone(&client), view.id, info).into());
            }
            Ok(page_object(items, next))
        })
    }
}

/// Builds `{ items, nextCursor }`.
fn page_object(items: Array, next: Option<String>) -> JsValue {
    let next = next.map_or(JsValue::NULL, |cursor| JsValue::from_str(&cursor));
    object(&[("items", &items.into()), ("nextCursor", &next)])
}

/// Reads snapshot list filters. The official client's query names `metadata[key]` and
/// `metadata[key][in]` (a comma-separated string) are folded into `metadata`, and any other
/// unknown key is rejected, so that a misspelled filter never widens a list or a prune.
/// `extra` names the keys that the caller reads itself.
pub(super) fn snapshot_filter(
    value: &JsValue,
    argument: &str,
    extra: &[&str],
) -> crate::error::Result<SnapshotListParams> {
    if !value.is_object() {
        return from_js_checked(value, argument, extra);
    }

    let folded = js_sys::Object::new();
    let metadata = js_sys::Object::new();
    let mut any_metadata = false;
    for key in js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>()).iter() {
        let Some(key) = key.as_string() else { continue };
        let entry = property(value, &key);
        match metadata_key(&key) {
            Some((name, true)) => {
                let entry = match entry.as_string() {
                    Some(text) => text.split(',').map(JsValue::from).collect::<Array>().into(),
                    None => entry,
                };
                let _ = js_sys::Reflect::set(&metadata, &name.into(), &entry);
                any_metadata = true;
            }
            Some((name, false)) => {
                let _ = js_sys::Reflect::set(&metadata, &name.into(), &entry);
                any_metadata = true;
            }
            None => {
                let _ = js_sys::Reflect::set(&folded, &key.as_str().into(), &entry);
            }
        }
    }

    if any_metadata {
        let plain = property(value, "metadata");
        if plain.is_object() {
            js_sys::Object::assign(&metadata, plain.unchecked_ref());
        }
        let _ = js_sys::Reflect::set(&folded, &"metadata".into(), &metadata);
    }
    from_js_checked(&folded, argument, extra)
}

/// Splits `metadata[name]` into `(name, false)` and `metadata[name][in]` into `(name, true)`.
fn metadata_key(key: &str) -> Option<(&str, bool)> {
    let inner = key.strip_prefix("metadata[")?;
    if let Some(name) = inner.strip_suffix("][in]") {
        return (!name.is_empty()).then_some((name, true));
    }
    let name = inner.strip_suffix(']')?;
    (!name.is_empty() && !name.contains(']')).then_some((name, false))
}
