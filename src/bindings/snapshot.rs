//! `Snapshot`: a disk snapshot handle.

use std::rc::Rc;

use runloop_types::SnapshotDiskParams;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::convert::{from_js, to_js, wait_options};
use super::sdk::create_running;
use super::{decode_nothing, send, send_view, spawn, JsClient};
use crate::resources::snapshots;

/// A disk snapshot: a handle holding its id and, when known, the view it was listed or
/// created with.
///
/// ```ts
/// const snapshot = await devbox.snapshotDisk({ name: 'base' });
/// const copy = await snapshot.createDevbox();
/// ```
#[wasm_bindgen]
pub struct Snapshot {
    pub(super) client: JsClient,
    id: String,
    info: JsValue,
}

impl Snapshot {
    /// Wraps a snapshot id; `info` is its view as a JS object, or `undefined`.
    pub(super) fn new(client: JsClient, id: String, info: JsValue) -> Self {
        Self { client, id, info }
    }
}

#[wasm_bindgen]
impl Snapshot {
    /// The snapshot id.
    ///
    /// ```ts
    /// console.log(snapshot.id); // "snp_…"
    /// ```
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// The view this object was made from: set by `runloop.snapshot.list`, `snapshotDisk`
    /// and `snapshotDiskAsync`, `undefined` after `fromId`. It is not refreshed; call
    /// `queryStatus()` for the current state.
    ///
    /// ```ts
    /// const newest = snapshots.sort((a, b) => b.info!.create_time_ms - a.info!.create_time_ms)[0];
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "DevboxSnapshotView | undefined")]
    pub fn info(&self) -> JsValue {
        self.info.clone()
    }

    /// Fetches the snapshot's status (`GET .../disk_snapshots/{id}/status`); the same as
    /// `queryStatus`, named like the official SDK.
    ///
    /// ```ts
    /// const { status, snapshot: view } = await snapshot.getInfo();
    /// ```
    #[wasm_bindgen(
        js_name = getInfo,
        unchecked_return_type = "Promise<DevboxSnapshotAsyncStatusView>"
    )]
    pub fn get_info(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        self.query_status(options)
    }

    /// Fetches the snapshot's status: `in_progress`, `complete` (with the snapshot's view),
    /// `error` (with a message) or `deleted`. A deleted snapshot may also reject with
    /// `NotFoundError`.
    ///
    /// ```ts
    /// const { status } = await snapshot.queryStatus();
    /// ```
    #[wasm_bindgen(
        js_name = queryStatus,
        unchecked_return_type = "Promise<DevboxSnapshotAsyncStatusView>"
    )]
    pub fn query_status(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let request = Ok(snapshots::query_status(&self.id));
        send_view(&self.client, request, options)
    }

    /// Polls the status until the snapshot is complete (first at once, then at pauses that
    /// grow from 10 ms to 1 s). Rejects with `RunloopError` when the capture fails (with the
    /// server's message) or the snapshot is deleted, and with `PollingTimeoutError` when
    /// `options.timeout` runs out.
    ///
    /// ```ts
    /// const { snapshot: view } = await snapshot.awaitCompleted({ timeout: 600_000 });
    /// ```
    #[wasm_bindgen(
        js_name = awaitCompleted,
        unchecked_return_type = "Promise<DevboxSnapshotAsyncStatusView>"
    )]
    pub fn await_completed(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let options = wait_options(&options)?;
            to_js(&client.snapshots().await_completed(&id, &options).await?)
        })
    }

    /// Creates a devbox from this snapshot and resolves once it is running. `options.timeout`
    /// bounds the whole operation.
    ///
    /// ```ts
    /// const devbox = await snapshot.createDevbox({ name: 'from-base' }, { timeout: 120_000 });
    /// ```
    #[wasm_bindgen(js_name = createDevbox, unchecked_return_type = "Promise<Devbox>")]
    pub fn create_devbox(
        &self,
        #[wasm_bindgen(
            unchecked_optional_param_type = "Omit<DevboxCreateParams, 'snapshot_id' | 'blueprint_id' | 'blueprint_name'>"
        )]
        params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        create_running(
            Rc::clone(&self.client),
            params,
            Some(self.id.clone()),
            options,
        )
    }

    /// Replaces the snapshot's name, metadata and commit message with the given ones and
    /// resolves with the updated view.
    ///
    /// ```ts
    /// await snapshot.update({ name: 'release-1.2', metadata: { channel: 'stable' } });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxSnapshotView>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SnapshotDiskParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let request = from_js::<SnapshotDiskParams>(&params, "params")
            .and_then(|params| snapshots::update(&self.id, &params));
        send_view(&self.client, request, options)
    }

    /// Deletes the snapshot. Devboxes already created from it keep working.
    ///
    /// ```ts
    /// await snapshot.delete();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let request = Ok(snapshots::delete(&self.id));
        send(&self.client, request, options, decode_nothing)
    }
}
