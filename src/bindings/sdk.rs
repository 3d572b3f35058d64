//! `RunloopSDK` and its `devbox` and `snapshot` namespaces.

use std::rc::Rc;

use runloop_types::{DevboxCreateParams, DiskSnapshotListParams};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::convert::{from_js_or_default, request_options, sdk_options, wait_options};
use super::devbox::Devbox;
use super::errors::to_js_error;
use super::fetch::FetchPlatform;
use super::snapshot::Snapshot;
use super::{spawn, JsClient};
use crate::client::Client;

/// Entry point of the SDK: a configured client with the `devbox` and `snapshot` namespaces.
///
/// ```ts
/// import { RunloopSDK } from 'runloop-wasm';
///
/// const runloop = new RunloopSDK({ bearerToken: process.env.RUNLOOP_API_KEY });
/// const devbox = await runloop.devbox.create({ name: 'my-devbox' });
/// ```
#[wasm_bindgen(js_name = RunloopSDK)]
pub struct RunloopSdk {
    devbox: JsValue,
    snapshot: JsValue,
}

#[wasm_bindgen(js_class = RunloopSDK)]
impl RunloopSdk {
    /// Creates a client. In Node, `bearerToken` and `baseURL` default to the
    /// `RUNLOOP_API_KEY` and `RUNLOOP_BASE_URL` environment variables.
    ///
    /// Throws `RunloopError` when no token is given or found, or when an option has the wrong
    /// type.
    ///
    /// ```ts
    /// const runloop = new RunloopSDK({ baseURL: 'http://127.0.0.1:8080', bearerToken: 't', maxRetries: 2 });
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "ClientOptions")] options: JsValue,
    ) -> Result<RunloopSdk, JsValue> {
        let options = sdk_options(&options).map_err(to_js_error)?;
        let platform = FetchPlatform::new(options.fetch);
        let client: JsClient = Rc::new(Client::new(options.config, platform));

        Ok(Self {
            devbox: DevboxOps {
                client: Rc::clone(&client),
            }
            .into(),
            snapshot: SnapshotOps { client }.into(),
        })
    }

    /// Devbox operations: `create`, `createFromSnapshot`, `fromId`.
    ///
    /// ```ts
    /// const devbox = await runloop.devbox.create();
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "DevboxOps")]
    pub fn devbox(&self) -> JsValue {
        self.devbox.clone()
    }

    /// Disk snapshot operations: `fromId`, `list`.
    ///
    /// ```ts
    /// const snapshots = await runloop.snapshot.list({ devbox_id: devbox.id });
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "SnapshotOps")]
    pub fn snapshot(&self) -> JsValue {
        self.snapshot.clone()
    }
}

/// Devbox operations, reached as `runloop.devbox`.
#[wasm_bindgen]
pub struct DevboxOps {
    client: JsClient,
}

#[wasm_bindgen]
impl DevboxOps {
    /// Creates a devbox and resolves once it is running.
    ///
    /// Sends `POST /v1/devboxes/create_and_await_running`, then long-polls
    /// `wait_for_status` if the devbox is not running yet. `options.timeout` bounds the whole
    /// operation; when it runs out the promise rejects with `PollingTimeoutError`. A devbox
    /// that fails or shuts down instead rejects with `RunloopError`.
    ///
    /// ```ts
    /// const devbox = await runloop.devbox.create({ name: 'builder', launch_parameters: { keep_alive_time_seconds: 600 } });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Devbox>")]
    pub fn create(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "DevboxCreateParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        spawn(async move {
            let params: DevboxCreateParams = from_js_or_default(params, "params")?;
            create_running(client, params, &options).await
        })
    }

    /// Creates a devbox from a disk snapshot and resolves once it is running, like `create`
    /// with `snapshot_id` set.
    ///
    /// ```ts
    /// const restored = await runloop.devbox.createFromSnapshot(snapshot.id, { name: 'restored' });
    /// ```
    #[wasm_bindgen(
        js_name = createFromSnapshot,
        unchecked_return_type = "Promise<Devbox>"
    )]
    pub fn create_from_snapshot(
        &self,
        snapshot_id: String,
        #[wasm_bindgen(
            unchecked_optional_param_type = "Omit<DevboxCreateParams, 'snapshot_id' | 'blueprint_id' | 'blueprint_name'>"
        )]
        params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        spawn(async move {
            let mut params: DevboxCreateParams = from_js_or_default(params, "params")?;
            params.snapshot_id = Some(snapshot_id);
            create_running(client, params, &options).await
        })
    }

    /// Returns a `Devbox` for an existing id without sending a request.
    ///
    /// ```ts
    /// const info = await runloop.devbox.fromId('dbx_123').getInfo();
    /// ```
    #[wasm_bindgen(js_name = fromId)]
    pub fn devbox_by_id(&self, id: String) -> Devbox {
        Devbox::new(Rc::clone(&self.client), id)
    }
}

/// Creates a devbox, waits until it runs and wraps it for JS.
pub(super) async fn create_running(
    client: JsClient,
    params: DevboxCreateParams,
    options: &JsValue,
) -> crate::Result<JsValue> {
    let options = wait_options(options)?;
    let view = client
        .devboxes()
        .create_and_await_running(&params, &options)
        .await?;
    Ok(Devbox::new(client, view.id).into())
}

/// Disk snapshot operations, reached as `runloop.snapshot`.
#[wasm_bindgen]
pub struct SnapshotOps {
    client: JsClient,
}

#[wasm_bindgen]
impl SnapshotOps {
    /// Returns a `Snapshot` for an existing id without sending a request. Its `info` is
    /// `undefined`.
    ///
    /// ```ts
    /// const status = await runloop.snapshot.fromId('snp_123').queryStatus();
    /// ```
    #[wasm_bindgen(js_name = fromId)]
    pub fn snapshot_by_id(&self, id: String) -> Snapshot {
        Snapshot::new(Rc::clone(&self.client), id, None)
    }

    /// Lists disk snapshots over every page (`limit` is the page size), each with the list's
    /// view as `info`.
    ///
    /// ```ts
    /// const snapshots = await runloop.snapshot.list({ devbox_id: devbox.id });
    /// const newestFirst = snapshots.sort((a, b) => b.info!.create_time_ms - a.info!.create_time_ms);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot[]>")]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "DiskSnapshotListParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        spawn(async move {
            let params: DiskSnapshotListParams = from_js_or_default(params, "params")?;
            let options = request_options(&options)?;
            let views = client.snapshots().list_all(&params, &options).await?;

            let snapshots = js_sys::Array::new();
            for view in views {
                let id = view.id.clone();
                snapshots.push(&Snapshot::new(Rc::clone(&client), id, Some(view)).into());
            }
            Ok(snapshots.into())
        })
    }
}
