//! `runloop.api.devboxes` and `runloop.api.devboxes.logs`.

use std::rc::Rc;

use js_sys::Promise;
use runloop_types::{
    DevboxCreateParams, DevboxListParams, DevboxUpdateParams, DevboxWaitParams, ExecuteAsyncParams,
    ExecuteParams, SnapshotDiskParams,
};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::executions::ExecutionsApi;
use super::snapshots::DiskSnapshotsApi;
use super::LastN;
use crate::bindings::convert::{
    from_js, from_js_checked, from_js_or_default, optional_flag, string_arg, to_js, wait_options,
};
use crate::bindings::files::{download_file, read_file, upload_file, write_file};
use crate::bindings::list::snapshot_filter;
use crate::bindings::{decode_nothing, decode_unknown, send, send_view, spawn, JsClient};
use crate::resources::devboxes::{self, DevboxLogsParams};
use crate::resources::executions;
use crate::resources::snapshots;

/// Devbox endpoints, reached as `runloop.api.devboxes`.
#[wasm_bindgen]
pub struct DevboxesApi {
    client: JsClient,
    executions: JsValue,
    disk_snapshots: JsValue,
    logs: JsValue,
}

impl DevboxesApi {
    pub(super) fn new(client: JsClient) -> Self {
        Self {
            executions: ExecutionsApi::new(Rc::clone(&client)).into(),
            disk_snapshots: DiskSnapshotsApi::new(Rc::clone(&client)).into(),
            logs: LogsApi {
                client: Rc::clone(&client),
            }
            .into(),
            client,
        }
    }
}

#[wasm_bindgen]
impl DevboxesApi {
    /// Execution endpoints.
    ///
    /// ```ts
    /// await runloop.api.devboxes.executions.kill(devboxId, executionId);
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "ExecutionsApi")]
    pub fn executions(&self) -> JsValue {
        self.executions.clone()
    }

    /// Disk snapshot endpoints.
    ///
    /// ```ts
    /// const { status } = await runloop.api.devboxes.diskSnapshots.queryStatus(snapshotId);
    /// ```
    #[wasm_bindgen(getter, js_name = diskSnapshots, unchecked_return_type = "DiskSnapshotsApi")]
    pub fn disk_snapshots(&self) -> JsValue {
        self.disk_snapshots.clone()
    }

    /// Log endpoints.
    ///
    /// ```ts
    /// const { logs } = await runloop.api.devboxes.logs.list(devboxId);
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "LogsApi")]
    pub fn logs(&self) -> JsValue {
        self.logs.clone()
    }

    /// `POST /v1/devboxes`: creates a devbox and resolves at once, usually `provisioning`.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.create({ name: 'raw' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn create(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "DevboxCreateParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let request = from_js_checked::<DevboxCreateParams>(&params, "params", &[])
            .and_then(|params| devboxes::create(&params));
        send_view(&self.client, request, options)
    }

    /// Creates a devbox and long-polls until it is running; `options.timeout` bounds both.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.createAndAwaitRunning({}, { timeout: 120_000 });
    /// ```
    #[wasm_bindgen(
        js_name = createAndAwaitRunning,
        unchecked_return_type = "Promise<DevboxView>"
    )]
    pub fn create_and_await_running(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "DevboxCreateParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> Promise {
        let client = Rc::clone(&self.client);
        spawn(async move {
            let params: DevboxCreateParams = from_js_checked(&params, "params", &[])?;
            let options = wait_options(&options)?;
            let view = client
                .devboxes()
                .create_and_await_running(&params, &options)
                .await?;
            to_js(&view)
        })
    }

    /// `GET /v1/devboxes/{id}`.
    ///
    /// ```ts
    /// const { status } = await runloop.api.devboxes.retrieve('dbx_123');
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn retrieve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        send_view(&self.client, Ok(devboxes::retrieve(&id)), options)
    }

    /// `POST /v1/devboxes/{id}`: changes the name or metadata given (`name: ''` and
    /// `metadata: {}` clear them).
    ///
    /// ```ts
    /// await runloop.api.devboxes.update('dbx_123', { metadata: { team: 'a' } });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "DevboxUpdateParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js::<DevboxUpdateParams>(&params, "params")
            .and_then(|params| devboxes::update(&id, &params));
        send_view(&self.client, request, options)
    }

    /// `GET /v1/devboxes`: one page, newest first.
    ///
    /// ```ts
    /// const { devboxes, has_more } = await runloop.api.devboxes.list({ status: 'running', limit: 50 });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxListView>")]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "DevboxListParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let request = from_js_checked::<DevboxListParams>(&params, "params", &[])
            .and_then(|params| devboxes::list(&params));
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/{id}/shutdown`; `force: true` also cancels snapshots in progress.
    ///
    /// ```ts
    /// await runloop.api.devboxes.shutdown('dbx_123', { force: true });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn shutdown(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ force?: boolean }")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = optional_flag(&params, "force").map(|force| devboxes::shutdown(&id, force));
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/{id}/suspend`.
    ///
    /// ```ts
    /// await runloop.api.devboxes.suspend('dbx_123');
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn suspend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        send_view(&self.client, Ok(devboxes::suspend(&id)), options)
    }

    /// `POST /v1/devboxes/{id}/resume`.
    ///
    /// ```ts
    /// await runloop.api.devboxes.resume('dbx_123');
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxView>")]
    pub fn resume(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        send_view(&self.client, Ok(devboxes::resume(&id)), options)
    }

    /// `POST /v1/devboxes/{id}/keep_alive`; resolves with the server's response, whose shape
    /// the API does not specify.
    ///
    /// ```ts
    /// await runloop.api.devboxes.keepAlive('dbx_123');
    /// ```
    #[wasm_bindgen(js_name = keepAlive, unchecked_return_type = "Promise<unknown>")]
    pub fn keep_alive(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        send(
            &self.client,
            Ok(devboxes::keep_alive(&id)),
            options,
            decode_unknown,
        )
    }

    /// `GET /v1/devboxes/{id}/usage`.
    ///
    /// ```ts
    /// const { total_active_seconds } = await runloop.api.devboxes.retrieveResourceUsage('dbx_123');
    /// ```
    #[wasm_bindgen(
        js_name = retrieveResourceUsage,
        unchecked_return_type = "Promise<DevboxResourceUsageView>"
    )]
    pub fn retrieve_resource_usage(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = Ok(devboxes::retrieve_resource_usage(&id));
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/{id}/wait_for_status`: one long poll. Resolves when the devbox
    /// reaches one of `params.statuses`; rejects with a 408 `APIError` when the server's hold
    /// ends first.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.waitForStatus('dbx_123', { statuses: ['running'] });
    /// ```
    #[wasm_bindgen(js_name = waitForStatus, unchecked_return_type = "Promise<DevboxView>")]
    pub fn wait_for_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "DevboxWaitParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js::<DevboxWaitParams>(&params, "params")
            .and_then(|params| devboxes::wait_for_status(&id, &params));
        send_view(&self.client, request, options)
    }

    /// Long-polls until the devbox is running.
    ///
    /// ```ts
    /// await runloop.api.devboxes.awaitRunning('dbx_123', { timeout: 60_000 });
    /// ```
    #[wasm_bindgen(js_name = awaitRunning, unchecked_return_type = "Promise<DevboxView>")]
    pub fn await_running(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let client = Rc::clone(&self.client);
        spawn(async move {
            let options = wait_options(&options)?;
            to_js(&client.devboxes().await_running(&id, &options).await?)
        })
    }

    /// Long-polls until the devbox is suspended.
    ///
    /// ```ts
    /// await runloop.api.devboxes.awaitSuspended('dbx_123', { timeout: 60_000 });
    /// ```
    #[wasm_bindgen(js_name = awaitSuspended, unchecked_return_type = "Promise<DevboxView>")]
    pub fn await_suspended(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let client = Rc::clone(&self.client);
        spawn(async move {
            let options = wait_options(&options)?;
            to_js(&client.devboxes().await_suspended(&id, &options).await?)
        })
    }

    /// `POST /v1/devboxes/{id}/execute`: starts a command and resolves when it completes or
    /// after `optimistic_timeout` seconds (25 by default), whichever comes first. A
    /// `command_id` (UUIDv7) is generated when none is given.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.execute('dbx_123', { command: 'ls', last_n: 10 });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>")]
    pub fn execute(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ExecuteParams & { last_n?: number }")]
        params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js::<ExecuteParams>(&params, "params").and_then(|mut execute| {
            let query: LastN = from_js(&params, "params")?;
            if execute.command_id.is_none() {
                execute.command_id = Some(self.client.executions().new_command_id());
            }
            executions::execute(&id, &execute, query.last_n)
        });
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/{id}/execute_async`: starts a command and resolves at once.
    ///
    /// ```ts
    /// const { execution_id } = await runloop.api.devboxes.executeAsync('dbx_123', { command: 'sleep 60' });
    /// ```
    #[wasm_bindgen(
        js_name = executeAsync,
        unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>"
    )]
    pub fn execute_async(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ExecuteAsyncParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js::<ExecuteAsyncParams>(&params, "params")
            .and_then(|params| executions::execute_async(&id, &params));
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/{id}/execute_sync` (deprecated by the API): runs a command in one
    /// request, which gets 10 minutes unless `options.timeout` sets another limit.
    ///
    /// ```ts
    /// const { exit_status, stdout } = await runloop.api.devboxes.executeSync('dbx_123', { command: 'uname' });
    /// ```
    #[wasm_bindgen(
        js_name = executeSync,
        unchecked_return_type = "Promise<DevboxExecutionDetailView>"
    )]
    pub fn execute_sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ExecuteAsyncParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js::<ExecuteAsyncParams>(&params, "params")
            .and_then(|params| executions::execute_sync(&id, &params));
        send_view(&self.client, request, options)
    }

    /// Runs a command to completion: `execute`, then the execution long poll.
    /// `options.timeout` bounds both.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.executeAndAwaitCompletion('dbx_123', { command: 'make' });
    /// ```
    #[wasm_bindgen(
        js_name = executeAndAwaitCompletion,
        unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>"
    )]
    pub fn execute_and_await_completion(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ExecuteParams & { last_n?: number }")]
        params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let client = Rc::clone(&self.client);
        spawn(async move {
            let execute: ExecuteParams = from_js(&params, "params")?;
            let query: LastN = from_js(&params, "params")?;
            let options = wait_options(&options)?;
            let view = client
                .executions()
                .execute_and_await_completion(&id, execute, query.last_n, &options)
                .await?;
            to_js(&view)
        })
    }

    /// `POST .../executions/{execution_id}/wait_for_status`: one long poll. Resolves when the
    /// execution reaches one of `params.statuses`; rejects with a 408 `APIError` when the
    /// server's hold ends first.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.waitForCommand(devboxId, executionId, { statuses: ['completed'] });
    /// ```
    #[wasm_bindgen(
        js_name = waitForCommand,
        unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>"
    )]
    pub fn wait_for_command(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] devbox_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] execution_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ExecutionWaitParams & { last_n?: number }")]
        params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let devbox_id = check_arg!(string_arg(&devbox_id, "devbox_id"));
        let execution_id = check_arg!(string_arg(&execution_id, "execution_id"));
        let request = from_js(&params, "params").and_then(|wait| {
            let query: LastN = from_js(&params, "params")?;
            executions::wait_for_status(&devbox_id, &execution_id, &wait, query.last_n)
        });
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/{id}/read_file_contents`: a file as UTF-8 text.
    ///
    /// ```ts
    /// const text = await runloop.api.devboxes.readFileContents('dbx_123', { file_path: 'a.txt' });
    /// ```
    #[wasm_bindgen(js_name = readFileContents, unchecked_return_type = "Promise<string>")]
    pub fn read_file_contents(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ReadFileParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        read_file(&self.client, &id, params, options)
    }

    /// `POST /v1/devboxes/{id}/write_file_contents`: replaces a file with UTF-8 text.
    ///
    /// ```ts
    /// await runloop.api.devboxes.writeFileContents('dbx_123', { file_path: 'a.txt', contents: 'hi' });
    /// ```
    #[wasm_bindgen(
        js_name = writeFileContents,
        unchecked_return_type = "Promise<DevboxExecutionDetailView>"
    )]
    pub fn write_file_contents(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "FileWriteParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        write_file(&self.client, &id, params, options)
    }

    /// `POST /v1/devboxes/{id}/upload_file`: replaces a file with bytes.
    ///
    /// ```ts
    /// await runloop.api.devboxes.uploadFile('dbx_123', { path: 'a.bin', file: new Uint8Array([0]) });
    /// ```
    #[wasm_bindgen(js_name = uploadFile, unchecked_return_type = "Promise<unknown>")]
    pub fn upload_file(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "FileUploadParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        upload_file(&self.client, &id, params, options)
    }

    /// `POST /v1/devboxes/{id}/download_file`. Declared in `typescript.rs`, with one
    /// overload per result type.
    #[wasm_bindgen(js_name = downloadFile, skip_typescript)]
    pub fn download_file(&self, id: JsValue, params: JsValue, options: JsValue) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        download_file(&self.client, &id, params, options)
    }

    /// `POST /v1/devboxes/{id}/snapshot_disk`: takes a snapshot in one request, which gets
    /// 10 minutes unless `options.timeout` sets another limit.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.snapshotDisk('dbx_123', { name: 'base' });
    /// ```
    #[wasm_bindgen(js_name = snapshotDisk, unchecked_return_type = "Promise<DevboxSnapshotView>")]
    pub fn snapshot_disk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SnapshotDiskParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js_or_default::<SnapshotDiskParams>(&params, "params")
            .and_then(|params| snapshots::snapshot_disk(&id, &params));
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/{id}/snapshot_disk_async`: starts a snapshot and resolves at once.
    ///
    /// ```ts
    /// const { id: snapshotId } = await runloop.api.devboxes.snapshotDiskAsync('dbx_123');
    /// ```
    #[wasm_bindgen(
        js_name = snapshotDiskAsync,
        unchecked_return_type = "Promise<DevboxSnapshotView>"
    )]
    pub fn snapshot_disk_async(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SnapshotDiskParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js_or_default::<SnapshotDiskParams>(&params, "params")
            .and_then(|params| snapshots::snapshot_disk_async(&id, &params));
        send_view(&self.client, request, options)
    }

    /// `GET /v1/devboxes/disk_snapshots`: one page; the same as `diskSnapshots.list`.
    ///
    /// ```ts
    /// const { snapshots } = await runloop.api.devboxes.listDiskSnapshots({ devbox_id: 'dbx_123' });
    /// ```
    #[wasm_bindgen(
        js_name = listDiskSnapshots,
        unchecked_return_type = "Promise<DevboxSnapshotListView>"
    )]
    pub fn list_disk_snapshots(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SnapshotListParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let request =
            snapshot_filter(&params, "params", &[]).and_then(|params| snapshots::list(&params));
        send_view(&self.client, request, options)
    }

    /// `POST /v1/devboxes/disk_snapshots/{id}/delete`; the same as `diskSnapshots.delete`.
    ///
    /// ```ts
    /// await runloop.api.devboxes.deleteDiskSnapshot('snp_123');
    /// ```
    #[wasm_bindgen(js_name = deleteDiskSnapshot, unchecked_return_type = "Promise<void>")]
    pub fn delete_disk_snapshot(
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
}

/// Log endpoints, reached as `runloop.api.devboxes.logs`.
#[wasm_bindgen]
pub struct LogsApi {
    client: JsClient,
}

#[wasm_bindgen]
impl LogsApi {
    /// `GET /v1/devboxes/{id}/logs`, optionally only those of one execution or shell.
    ///
    /// ```ts
    /// const { logs } = await runloop.api.devboxes.logs.list('dbx_123', { shell_name: 'main' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxLogsView>")]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "DevboxLogsParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let id = check_arg!(string_arg(&id, "id"));
        let request = from_js_or_default::<DevboxLogsParams>(&params, "params")
            .and_then(|params| devboxes::logs(&id, &params));
        send_view(&self.client, request, options)
    }
}
