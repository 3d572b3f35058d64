//! `RunloopSDK` and its `devbox` and `snapshot` namespaces.

use std::rc::Rc;

use runloop_types::DevboxCreateParams;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::api::RunloopApi;
use super::config::sdk_options;
use super::convert::{from_js_checked, string_arg, wait_options};
use super::devbox::Devbox;
use super::errors::to_js_error;
use super::fetch::FetchPlatform;
use super::list::{DevboxList, SnapshotList};
use super::snapshot::Snapshot;
use super::{spawn, JsClient};
use crate::client::Client;

/// Entry point of the SDK: a configured client with the `devbox`, `snapshot` and `api`
/// namespaces.
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
    api: JsValue,
}

#[wasm_bindgen(js_class = RunloopSDK)]
impl RunloopSdk {
    /// Creates a client. In Node, `bearerToken` and `baseURL` default to the
    /// `RUNLOOP_API_KEY` and `RUNLOOP_BASE_URL` environment variables.
    ///
    /// Throws `RunloopError` when no token is given or found, when an option has the wrong
    /// type, when `baseURL` is not an `http:` or `https:` URL, or in a browser page unless
    /// `baseURL` is a loopback address or a path on the page's own origin, or
    /// `dangerouslyAllowBrowser` is `true`.
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
            snapshot: SnapshotOps {
                client: Rc::clone(&client),
            }
            .into(),
            api: RunloopApi::new(client).into(),
        })
    }

    /// Devbox operations: `create`, `createFromSnapshot`, `fromId`, `list`.
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

    /// Raw access to every endpoint, named like the official client's `client.devboxes.*`
    /// methods; each resolves with the wire view.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.retrieve('dbx_123');
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "RunloopApi")]
    pub fn api(&self) -> JsValue {
        self.api.clone()
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
        create_running(Rc::clone(&self.client), params, None, options)
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
        #[wasm_bindgen(unchecked_param_type = "string")] snapshot_id: JsValue,
        #[wasm_bindgen(
            unchecked_optional_param_type = "Omit<DevboxCreateParams, 'snapshot_id' | 'blueprint_id' | 'blueprint_name'>"
        )]
        params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let snapshot_id = check_arg!(string_arg(&snapshot_id, "snapshot_id"));
        create_running(Rc::clone(&self.client), params, Some(snapshot_id), options)
    }

    /// Returns a `Devbox` for an existing id without sending a request. Throws
    /// `RunloopError` when `id` is not a string.
    ///
    /// ```ts
    /// const info = await runloop.devbox.fromId('dbx_123').getInfo();
    /// ```
    #[wasm_bindgen(js_name = fromId)]
    pub fn devbox_by_id(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<Devbox, JsValue> {
        let id = string_arg(&id, "id").map_err(to_js_error)?;
        Ok(Devbox::new(Rc::clone(&self.client), id))
    }

    /// Lists devboxes, newest first. The result is both a promise of the **first page** (of
    /// `limit` devboxes, 20 by default) and an async iterable over every devbox on every
    /// page, fetched page by page as the loop advances.
    ///
    /// ```ts
    /// const firstPage = await runloop.devbox.list({ status: 'running', limit: 50 });
    /// for await (const devbox of runloop.devbox.list({ status: 'running' })) await devbox.shutdown();
    /// ```
    #[wasm_bindgen]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "DevboxListParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> DevboxList {
        DevboxList::new(Rc::clone(&self.client), params, options)
    }

    /// Creates a devbox, runs `fn` on it and shuts it down. Declared in `helper_types.rs`.
    #[wasm_bindgen(js_name = with, skip_typescript)]
    pub fn with_devbox(&self, params: JsValue, run: JsValue, options: JsValue) -> js_sys::Promise {
        super::scoped::with_devbox(Rc::clone(&self.client), params, run, options)
    }
}

/// Creates a devbox (from a snapshot when `snapshot_id` is set), waits until it runs and
/// wraps it for JS.
pub(super) fn create_running(
    client: JsClient,
    params: JsValue,
    snapshot_id: Option<String>,
    options: JsValue,
) -> js_sys::Promise {
    spawn(async move {
        let mut params: DevboxCreateParams = from_js_checked(&params, "params", &[])?;
        if snapshot_id.is_some() {
            params.snapshot_id = snapshot_id;
        }
        let options = wait_options(&options)?;
        let view = client
            .devboxes()
            .create_and_await_running(&params, &options)
            .await?;
        Ok(Devbox::new(client, view.id).into())
    })
}

/// Disk snapshot operations, reached as `runloop.snapshot`.
#[wasm_bindgen]
pub struct SnapshotOps {
    client: JsClient,
}

#[wasm_bindgen]
impl SnapshotOps {
    /// Returns a `Snapshot` for an existing id without sending a request. Its `info` is
    /// `undefined`. Throws `RunloopError` when `id` is not a string.
    ///
    /// ```ts
    /// const status = await runloop.snapshot.fromId('snp_123').queryStatus();
    /// ```
    #[wasm_bindgen(js_name = fromId)]
    pub fn snapshot_by_id(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<Snapshot, JsValue> {
        let id = string_arg(&id, "id").map_err(to_js_error)?;
        Ok(Snapshot::new(
            Rc::clone(&self.client),
            id,
            JsValue::UNDEFINED,
        ))
    }

    /// Lists disk snapshots, newest first, each with the list's view as `info`. Awaiting the
    /// result gives **every** matching snapshot: all pages, fetched in turn, with `limit` as
    /// the page size. Iterating it with `for await` fetches one page at a time.
    ///
    /// Filters: `devbox_id`, `source_blueprint_id`, and `metadata`, where `{ team: 'a' }`
    /// matches one value and `{ team: ['a', 'b'] }` any of several.
    ///
    /// ```ts
    /// const mine = await runloop.snapshot.list({ devbox_id: devbox.id });
    /// for await (const s of runloop.snapshot.list({ metadata: { team: ['a', 'b'] } })) console.log(s.id);
    /// ```
    #[wasm_bindgen]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SnapshotListParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> SnapshotList {
        SnapshotList::new(Rc::clone(&self.client), params, options)
    }

    /// Deletes all but the newest `keep` complete snapshots that match the filter
    /// (`devbox_id`, `metadata`, `source_blueprint_id`), across every page, and resolves
    /// with what it deleted, or with `dryRun: true` what it would delete.
    ///
    /// `olderThan` (milliseconds of age, or a `Date`) limits deletion to snapshots created
    /// before that time; the newest `keep` complete snapshots stay whatever their age. At
    /// least one of `keep` and `olderThan` is required. Every snapshot's status is checked
    /// right before the decision: captures still `in_progress` are never deleted and land in
    /// `skipped`, and they and failed captures do not count toward `keep`. A deletion that
    /// fails lands in `failed` and the prune goes on.
    ///
    /// `onProgress` phases: `listing` (after each page), `checking` (before each status
    /// request), `deleting` (before each deletion), `done`.
    ///
    /// ```ts
    /// const { deleted } = await runloop.snapshot.prune({ devbox_id: devbox.id, keep: 3 });
    /// const plan = await runloop.snapshot.prune({ metadata: { ci: 'true' }, olderThan: 7 * 86_400_000, dryRun: true });
    /// console.log(plan.deleted.map((s) => s.id));
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<PruneResult>")]
    pub fn prune(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PruneParams")] params: JsValue,
    ) -> js_sys::Promise {
        super::prune::prune(Rc::clone(&self.client), params)
    }
}
