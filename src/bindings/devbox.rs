//! `Devbox`: lifecycle, logs and snapshots of one devbox, with its `cmd` and `file`
//! namespaces.

use std::rc::Rc;

use runloop_types::SnapshotDiskParams;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::convert::{from_js_or_default, optional_flag, request_options, to_js, wait_options};
use super::execution::DevboxCmdOps;
use super::files::DevboxFileOps;
use super::snapshot::Snapshot;
use super::{decode_unknown, send, send_view, spawn, JsClient};
use crate::resources::devboxes::{self, DevboxLogsParams};

/// A devbox: a handle holding its id. Each method sends requests; none caches state.
///
/// ```ts
/// const devbox = await runloop.devbox.create();
/// const result = await devbox.cmd.exec('echo hello');
/// console.log(await result.stdout()); // "hello\n"
/// await devbox.shutdown();
/// ```
#[wasm_bindgen]
pub struct Devbox {
    pub(super) client: JsClient,
    id: String,
    cmd: JsValue,
    file: JsValue,
}

impl Devbox {
    pub(super) fn new(client: JsClient, id: String) -> Self {
        let cmd = DevboxCmdOps::new(Rc::clone(&client), id.clone());
        let file = DevboxFileOps::new(Rc::clone(&client), id.clone());
        Self {
            client,
            id,
            cmd: cmd.into(),
            file: file.into(),
        }
    }
}

#[wasm_bindgen]
impl Devbox {
    /// The devbox id.
    ///
    /// ```ts
    /// console.log(devbox.id); // "dbx_…"
    /// ```
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Command execution: `exec`, `execAsync`.
    ///
    /// ```ts
    /// const result = await devbox.cmd.exec('ls -la');
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "DevboxCmdOps")]
    pub fn cmd(&self) -> JsValue {
        self.cmd.clone()
    }

    /// File access: `read`, `write`, `upload`, `download`.
    ///
    /// ```ts
    /// await devbox.file.write({ file_path: 'notes.txt', contents: 'hi' });
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "DevboxFileOps")]
    pub fn file(&self) -> JsValue {
        self.file.clone()
    }

    /// Fetches the devbox's current view (`GET /v1/devboxes/{id}`).
    ///
    /// ```ts
    /// const { status } = await devbox.getInfo();
    /// ```
    #[wasm_bindgen(js_name = getInfo, unchecked_return_type = "Promise<DevboxView>")]
    pub fn get_info(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        send_view(&self.client, Ok(devboxes::retrieve(&self.id)), options)
    }

    /// Long-polls until the devbox is running and resolves with its view. Rejects with
    /// `RunloopError` if it fails, shuts down or is suspended instead, and with
    /// `PollingTimeoutError` when `options.timeout` runs out.
    ///
    /// ```ts
    /// const view = await devbox.awaitRunning({ timeout: 120_000 });
    /// ```
    #[wasm_bindgen(js_name = awaitRunning, unchecked_return_type = "Promise<DevboxView>")]
    pub fn await_running(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let options = wait_options(&options)?;
            to_js(&client.devboxes().await_running(&id, &options).await?)
        })
    }

    /// Long-polls until the devbox is suspended and resolves with its view. Rejects with
    /// `RunloopError` if it fails or shuts down instead, and with `PollingTimeoutError` when
    /// `options.timeout` runs out.
    ///
    /// ```ts
    /// await devbox.suspend();
    /// await devbox.awaitSuspended({ timeout: 60_000 });
    /// ```
    #[wasm_bindgen(js_name = awaitSuspended, unchecked_return_type = "Promise<DevboxView>")]
    pub fn await_suspended(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let options = wait_options(&options)?;
            to_js(&client.devboxes().await_suspended(&id, &options).await?)
        })
    }

    /// Asks the devbox to suspend (`POST /v1/devboxes/{id}/suspend`) and resolves with its
    /// view at once; call `awaitSuspended()` to wait for `suspended`.
    ///
    /// ```ts
    /// await devbox.suspend();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn suspend(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        send_view(&self.client, Ok(devboxes::suspend(&self.id)), options)
    }

    /// Resumes a suspended devbox and resolves once it is running. `options.timeout` bounds
    /// both steps.
    ///
    /// ```ts
    /// const { status } = await devbox.resume(); // "running"
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn resume(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let options = wait_options(&options)?;
            let view = client
                .devboxes()
                .resume_and_await_running(&id, &options)
                .await?;
            to_js(&view)
        })
    }

    /// Asks a suspended devbox to resume (`POST /v1/devboxes/{id}/resume`) without waiting
    /// for it to run.
    ///
    /// ```ts
    /// await devbox.resumeAsync();
    /// await devbox.awaitRunning();
    /// ```
    #[wasm_bindgen(js_name = resumeAsync, unchecked_return_type = "Promise<DevboxView>")]
    pub fn resume_async(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        send_view(&self.client, Ok(devboxes::resume(&self.id)), options)
    }

    /// Resets the devbox's idle timer (`POST /v1/devboxes/{id}/keep_alive`) and resolves
    /// with the server's response, whose shape the API does not specify.
    ///
    /// ```ts
    /// setInterval(() => devbox.keepAlive(), 60_000);
    /// ```
    #[wasm_bindgen(js_name = keepAlive, unchecked_return_type = "Promise<unknown>")]
    pub fn keep_alive(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        send(
            &self.client,
            Ok(devboxes::keep_alive(&self.id)),
            options,
            decode_unknown,
        )
    }

    /// Shuts the devbox down (`POST /v1/devboxes/{id}/shutdown`) and resolves with its view.
    /// While a snapshot is in progress the server rejects the call with 409
    /// (`ConflictError`) unless `force` is `true`, which cancels the snapshot.
    ///
    /// ```ts
    /// const { status } = await devbox.shutdown(); // "shutdown"
    /// await other.shutdown({ force: true });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn shutdown(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ShutdownOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let request =
            optional_flag(&options, "force").map(|force| devboxes::shutdown(&self.id, force));
        send_view(&self.client, request, options)
    }

    /// Fetches the devbox's logs, optionally only those of one execution or shell.
    ///
    /// ```ts
    /// const { logs } = await devbox.logs({ execution_id: execution.executionId });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxLogsView>")]
    pub fn logs(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "DevboxLogsParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let request = from_js_or_default::<DevboxLogsParams>(&params, "params")
            .and_then(|params| devboxes::logs(&self.id, &params));
        send_view(&self.client, request, options)
    }

    /// Takes a disk snapshot and resolves once it is complete.
    ///
    /// Starts it with `snapshot_disk_async`, then polls its status. `options.timeout` bounds
    /// both, and `options.signal` aborts either; when the timeout runs out the promise
    /// rejects with `PollingTimeoutError`. A failed capture rejects with `RunloopError`
    /// carrying the server's message.
    ///
    /// ```ts
    /// const snapshot = await devbox.snapshotDisk({ name: 'after-setup' }, { timeout: 300_000 });
    /// ```
    #[wasm_bindgen(js_name = snapshotDisk, unchecked_return_type = "Promise<Snapshot>")]
    pub fn snapshot_disk(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SnapshotDiskParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let params: SnapshotDiskParams = from_js_or_default(&params, "params")?;
            let options = wait_options(&options)?;
            let view = client
                .snapshots()
                .snapshot_disk_and_await_completed(&id, &params, &options)
                .await?;
            let info = to_js(&view)?;
            Ok(Snapshot::new(client, view.id, info).into())
        })
    }

    /// Starts a disk snapshot and resolves at once with a `Snapshot` that may still be in
    /// progress; call `awaitCompleted()` on it to wait.
    ///
    /// ```ts
    /// const snapshot = await devbox.snapshotDiskAsync({ name: 'nightly' });
    /// await snapshot.awaitCompleted();
    /// ```
    #[wasm_bindgen(js_name = snapshotDiskAsync, unchecked_return_type = "Promise<Snapshot>")]
    pub fn snapshot_disk_async(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SnapshotDiskParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let params: SnapshotDiskParams = from_js_or_default(&params, "params")?;
            let options = request_options(&options)?;
            let view = client
                .snapshots()
                .snapshot_disk_async(&id, &params, &options)
                .await?;
            let info = to_js(&view)?;
            Ok(Snapshot::new(client, view.id, info).into())
        })
    }
}
