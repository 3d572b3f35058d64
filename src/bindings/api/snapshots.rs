//! `runloop.api.devboxes.diskSnapshots`.

use std::rc::Rc;

use js_sys::Promise;
use runloop_types::SnapshotDiskParams;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::bindings::convert::{from_js, string_arg, to_js, wait_options};
use crate::bindings::list::snapshot_filter;
use crate::bindings::{decode_nothing, send, send_view, spawn, JsClient};
use crate::resources::snapshots;

/// Disk snapshot endpoints, reached as `runloop.api.devboxes.diskSnapshots`.
#[wasm_bindgen]
pub struct DiskSnapshotsApi {
    client: JsClient,
}

impl DiskSnapshotsApi {
    pub(super) fn new(client: JsClient) -> Self {
        Self { client }
    }
}

#[wasm_bindgen]
impl DiskSnapshotsApi {
    /// `GET /v1/devboxes/disk_snapshots`: one page, newest first. `metadata` filters become
    /// `metadata[key]=value` or, for an array, `metadata[key][in]=a,b`.
    ///
    /// ```ts
    /// const { snapshots, has_more } = await runloop.api.devboxes.diskSnapshots.list({ metadata: { team: 'a' } });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxSnapshotListView>")]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SnapshotListParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let request =
            snapshot_filter(&params, "params", &[]).and_then(|params| snapshots::list(&params));
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/disk_snapshots/{id}`: replaces the name, metadata and commit
    /// message with the given ones.
    ///
    /// ```ts
    /// await runloop.api.devboxes.diskSnapshots.update('snp_123', { name: 'v2' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxSnapshotView>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SnapshotDiskParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js::<SnapshotDiskParams>(&params, "params")
            .and_then(|params| snapshots::update(&id, &params));
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/disk_snapshots/{id}/delete`.
    ///
    /// ```ts
    /// await runloop.api.devboxes.diskSnapshots.delete('snp_123');
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        send(
            &self.client,
            Ok(snapshots::delete(&id)),
            options,
            decode_nothing,
        )
    }

    /// `GET /v1/devboxes/disk_snapshots/{id}/status`.
    ///
    /// ```ts
    /// const { status } = await runloop.api.devboxes.diskSnapshots.queryStatus('snp_123');
    /// ```
    #[wasm_bindgen(
        js_name = queryStatus,
        unchecked_return_type = "Promise<DevboxSnapshotAsyncStatusView>"
    )]
    pub fn query_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = Ok(snapshots::query_status(&id));
        send_view(&self.client, request, options)
    }

    /// Polls the status until the snapshot is complete; rejects on `error` and `deleted`.
    ///
    /// ```ts
    /// await runloop.api.devboxes.diskSnapshots.awaitCompleted('snp_123', { timeout: 600_000 });
    /// ```
    #[wasm_bindgen(
        js_name = awaitCompleted,
        unchecked_return_type = "Promise<DevboxSnapshotAsyncStatusView>"
    )]
    pub fn await_completed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let client = Rc::clone(&self.client);
        spawn(async move {
            let options = wait_options(&options)?;
            to_js(&client.snapshots().await_completed(&id, &options).await?)
        })
    }
}
