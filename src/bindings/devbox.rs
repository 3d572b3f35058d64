//! `Devbox` and its `cmd` and `file` namespaces.

use std::rc::Rc;

use runloop_types::{ExecuteParams, ReadFileParams, SnapshotDiskParams, WriteFileParams};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::convert::{from_js, from_js_or_default, request_options, to_js, wait_options};
use super::execution::ExecutionResult;
use super::snapshot::Snapshot;
use super::typescript::ExecParams;
use super::{spawn, JsClient};

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
    client: JsClient,
    id: String,
    cmd: JsValue,
    file: JsValue,
}

impl Devbox {
    pub(super) fn new(client: JsClient, id: String) -> Self {
        let cmd = DevboxCmdOps {
            client: Rc::clone(&client),
            devbox_id: id.clone(),
        };
        let file = DevboxFileOps {
            client: Rc::clone(&client),
            devbox_id: id.clone(),
        };
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
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Command execution: `exec`.
    ///
    /// ```ts
    /// const result = await devbox.cmd.exec('ls -la');
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "DevboxCmdOps")]
    pub fn cmd(&self) -> JsValue {
        self.cmd.clone()
    }

    /// File access: `read`, `write`.
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
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let options = request_options(&options)?;
            to_js(&client.devboxes().retrieve(&id, &options).await?)
        })
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

    /// Shuts the devbox down (`POST /v1/devboxes/{id}/shutdown`) and resolves with its view.
    ///
    /// ```ts
    /// const { status } = await devbox.shutdown(); // "shutdown"
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn shutdown(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let id = self.id.clone();
        spawn(async move {
            let options = request_options(&options)?;
            to_js(&client.devboxes().shutdown(&id, &options).await?)
        })
    }

    /// Takes a disk snapshot and resolves once it is complete.
    ///
    /// Starts it with `snapshot_disk_async`, then polls its status. `options.timeout` bounds
    /// both; when it runs out the promise rejects with `PollingTimeoutError`. A failed capture
    /// rejects with `RunloopError` carrying the server's message.
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
            let params: SnapshotDiskParams = from_js_or_default(params, "params")?;
            let options = wait_options(&options)?;
            let view = client
                .snapshots()
                .snapshot_disk_and_await_completed(&id, &params, &options)
                .await?;
            let snapshot_id = view.id.clone();
            Ok(Snapshot::new(client, snapshot_id, Some(view)).into())
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
            let params: SnapshotDiskParams = from_js_or_default(params, "params")?;
            let options = request_options(&options)?;
            let view = client
                .snapshots()
                .snapshot_disk_async(&id, &params, &options)
                .await?;
            let snapshot_id = view.id.clone();
            Ok(Snapshot::new(client, snapshot_id, Some(view)).into())
        })
    }
}

/// Command execution on one devbox, reached as `devbox.cmd`.
#[wasm_bindgen]
pub struct DevboxCmdOps {
    client: JsClient,
    devbox_id: String,
}

#[wasm_bindgen]
impl DevboxCmdOps {
    /// Runs a shell command and resolves once it has completed, whatever its exit code.
    ///
    /// Sends `POST /execute` with a fresh UUIDv7 `command_id` (so a retried request does not
    /// run the command twice), then long-polls the execution. `options.timeout` bounds the
    /// whole run; when it runs out the promise rejects with `PollingTimeoutError` and the
    /// command keeps running.
    ///
    /// ```ts
    /// const result = await devbox.cmd.exec('npm test', { shell_name: 'main' });
    /// if (result.failed) console.error(await result.stderr(20));
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<ExecutionResult>")]
    pub fn exec(
        &self,
        command: String,
        #[wasm_bindgen(unchecked_optional_param_type = "ExecParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let devbox_id = self.devbox_id.clone();
        spawn(async move {
            let params: ExecParams = from_js_or_default(params, "params")?;
            let options = wait_options(&options)?;
            let execute = ExecuteParams {
                command,
                command_id: None,
                optimistic_timeout: params.optimistic_timeout,
                shell_name: params.shell_name,
            };

            let view = client
                .executions()
                .execute_and_await_completion(&devbox_id, execute, params.last_n, &options)
                .await?;
            Ok(ExecutionResult::new(client, view).into())
        })
    }
}

/// File access on one devbox, reached as `devbox.file`.
#[wasm_bindgen]
pub struct DevboxFileOps {
    client: JsClient,
    devbox_id: String,
}

#[wasm_bindgen]
impl DevboxFileOps {
    /// Reads a file as UTF-8 text. Relative paths start at the user's home directory.
    ///
    /// ```ts
    /// const text = await devbox.file.read('hello.txt');
    /// const same = await devbox.file.read({ file_path: 'hello.txt' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn read(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | ReadFileParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let devbox_id = self.devbox_id.clone();
        spawn(async move {
            let params = match params.as_string() {
                Some(file_path) => ReadFileParams { file_path },
                None => from_js(params, "params")?,
            };
            let options = request_options(&options)?;
            let text = client
                .files()
                .read_file_contents(&devbox_id, &params, &options)
                .await?;
            Ok(JsValue::from_str(&text))
        })
    }

    /// Replaces a file with UTF-8 text, creating it if needed.
    ///
    /// ```ts
    /// await devbox.file.write({ file_path: 'config.json', contents: JSON.stringify({ debug: true }) });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxExecutionDetailView>")]
    pub fn write(
        &self,
        #[wasm_bindgen(unchecked_param_type = "WriteFileParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.client);
        let devbox_id = self.devbox_id.clone();
        spawn(async move {
            let params: WriteFileParams = from_js(params, "params")?;
            let options = request_options(&options)?;
            let view = client
                .files()
                .write_file_contents(&devbox_id, &params, &options)
                .await?;
            to_js(&view)
        })
    }
}
