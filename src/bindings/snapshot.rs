//! `Snapshot`: a disk snapshot handle.

use std::rc::Rc;

use runloop_types::{DevboxCreateParams, DevboxSnapshotView, SnapshotDiskParams};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::convert::{from_js, from_js_or_default, request_options, to_js, wait_options};
use super::errors::to_js_error;
use super::sdk::create_running;
use super::{spawn, JsClient};

/// A disk snapshot: a handle holding its id and, when known, the view it was listed or
/// created with.
///
/// ```ts
/// const snapshot = await devbox.snapshotDisk({ name: 'base' });
/// const copy = await snapshot.createDevbox();
/// ```
#[wasm_bindgen]
pub struct Snapshot {
    client: JsClient,
    id: String,
    info: Option<DevboxSnapshotView>,
}

impl Snapshot {
    pub(super) fn new(client: JsClient, id: String, info: Option<DevboxSnapshotView>) -> Self {
        Self { client, id, info }
    }
}

#[wasm_bindgen]
impl Snapshot {
    /// The snapshot id.
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
    pub fn info(&self) -> Result<JsValue, JsValue> {
        match &self.info {
            Some(view) => to_js(view).map_err(to_js_error),
            None => Ok(JsValue::UNDEFINED),
        }
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
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let options = request_options(&options)?;
            to_js(&client.snapshots().query_status(&id, &options).await?)
        })
    }

    /// Polls the status until the snapshot is complete (first at once, then at pauses that
    /// grow from 100 ms to 1 s). Rejects with `RunloopError` when the capture fails (with the
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

    /// Creates a devbox from this snapshot and resolves once it is running.
    ///
    /// ```ts
    /// const devbox = await snapshot.createDevbox({ name: 'from-base' });
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
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let mut params: DevboxCreateParams = from_js_or_default(params, "params")?;
            params.snapshot_id = Some(id);
            create_running(client, params, &options).await
        })
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
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let params: SnapshotDiskParams = from_js(params, "params")?;
            let options = request_options(&options)?;
            to_js(&client.snapshots().update(&id, &params, &options).await?)
        })
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
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let options = request_options(&options)?;
            client.snapshots().delete(&id, &options).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
