//! `runloop.api.devboxes.executions`.

use std::rc::Rc;

use js_sys::Promise;
use runloop_types::{ExecutionKillParams, SendStdInParams};
use serde::Deserialize;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::LastN;
use crate::bindings::convert::{
    from_js, from_js_or_default, request_options, string_arg, to_js, wait_options,
};
use crate::bindings::errors::to_js_error;
use crate::bindings::output::OutputChunks;
use crate::bindings::{send_view, spawn, JsClient};
use crate::resources::{executions, OutputStream};

/// The `offset` query parameter of the output streams.
#[derive(Debug, Default, Deserialize)]
struct Offset {
    #[serde(default)]
    offset: Option<u64>,
}

/// Execution endpoints, reached as `runloop.api.devboxes.executions`.
#[wasm_bindgen]
pub struct ExecutionsApi {
    client: JsClient,
}

impl ExecutionsApi {
    pub(super) fn new(client: JsClient) -> Self {
        Self { client }
    }

    fn stream(
        &self,
        devbox_id: String,
        execution_id: String,
        query: &JsValue,
        options: &JsValue,
        stream: OutputStream,
    ) -> Result<OutputChunks, JsValue> {
        let query: Offset = from_js_or_default(query, "query").map_err(to_js_error)?;
        let options = request_options(options).map_err(to_js_error)?;
        OutputChunks::new(
            Rc::clone(&self.client),
            devbox_id,
            execution_id,
            stream,
            query.offset.unwrap_or(0),
            options.signal,
        )
        .map_err(to_js_error)
    }
}

#[wasm_bindgen]
impl ExecutionsApi {
    /// `GET /v1/devboxes/{id}/executions/{execution_id}`.
    ///
    /// ```ts
    /// const { status } = await runloop.api.devboxes.executions.retrieve(devboxId, executionId);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>")]
    pub fn retrieve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] devbox_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] execution_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ last_n?: number }")] query: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let devbox_id = check_arg!(string_arg(&devbox_id, "devbox_id"));
        let execution_id = check_arg!(string_arg(&execution_id, "execution_id"));
        let request = from_js_or_default::<LastN>(&query, "query")
            .map(|query| executions::retrieve(&devbox_id, &execution_id, query.last_n));
        send_view(&self.client, request, options)
    }

    /// Long-polls until the execution has completed.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.executions.awaitCompleted(devboxId, executionId);
    /// ```
    #[wasm_bindgen(
        js_name = awaitCompleted,
        unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>"
    )]
    pub fn await_completed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] devbox_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] execution_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> Promise {
        let devbox_id = check_arg!(string_arg(&devbox_id, "devbox_id"));
        let execution_id = check_arg!(string_arg(&execution_id, "execution_id"));
        let client = Rc::clone(&self.client);
        spawn(async move {
            let options = wait_options(&options)?;
            let view = client
                .executions()
                .await_completed(&devbox_id, &execution_id, None, None, &options)
                .await?;
            to_js(&view)
        })
    }

    /// `POST .../executions/{execution_id}/kill`.
    ///
    /// ```ts
    /// await runloop.api.devboxes.executions.kill(devboxId, executionId, { kill_process_group: true });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>")]
    pub fn kill(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] devbox_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] execution_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ExecutionKillParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let devbox_id = check_arg!(string_arg(&devbox_id, "devbox_id"));
        let execution_id = check_arg!(string_arg(&execution_id, "execution_id"));
        let request = from_js_or_default::<ExecutionKillParams>(&params, "params")
            .and_then(|params| executions::kill(&devbox_id, &execution_id, &params));
        send_view(&self.client, request, options)
    }

    /// `POST .../executions/{execution_id}/send_std_in`.
    ///
    /// ```ts
    /// await runloop.api.devboxes.executions.sendStdIn(devboxId, executionId, { text: 'y\n' });
    /// ```
    #[wasm_bindgen(js_name = sendStdIn, unchecked_return_type = "Promise<SendStdInResult>")]
    pub fn send_std_in(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] devbox_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] execution_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SendStdInParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let devbox_id = check_arg!(string_arg(&devbox_id, "devbox_id"));
        let execution_id = check_arg!(string_arg(&execution_id, "execution_id"));
        let request = from_js::<SendStdInParams>(&params, "params")
            .and_then(|params| executions::send_std_in(&devbox_id, &execution_id, &params));
        send_view(&self.client, request, options)
    }

    /// `GET .../executions/{execution_id}/stream_stdout_updates`: the stdout chunks from byte
    /// `query.offset` (0 by default) until the execution completes, reconnecting from the
    /// last chunk's `offset` when the connection drops. `options.signal` stops the stream.
    ///
    /// ```ts
    /// for await (const chunk of runloop.api.devboxes.executions.streamStdoutUpdates(devboxId, executionId)) {
    ///   process.stdout.write(chunk.output);
    /// }
    /// ```
    #[wasm_bindgen(js_name = streamStdoutUpdates)]
    pub fn stream_stdout_updates(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] devbox_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] execution_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ offset?: number }")] query: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "StreamOptions")] options: JsValue,
    ) -> Result<OutputChunks, JsValue> {
        let devbox_id = string_arg(&devbox_id, "devbox_id").map_err(to_js_error)?;
        let execution_id = string_arg(&execution_id, "execution_id").map_err(to_js_error)?;
        self.stream(
            devbox_id,
            execution_id,
            &query,
            &options,
            OutputStream::Stdout,
        )
    }

    /// `GET .../executions/{execution_id}/stream_stderr_updates`: the stderr chunks, like
    /// `streamStdoutUpdates`.
    ///
    /// ```ts
    /// for await (const chunk of runloop.api.devboxes.executions.streamStderrUpdates(devboxId, executionId)) {
    ///   process.stderr.write(chunk.output);
    /// }
    /// ```
    #[wasm_bindgen(js_name = streamStderrUpdates)]
    pub fn stream_stderr_updates(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] devbox_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] execution_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ offset?: number }")] query: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "StreamOptions")] options: JsValue,
    ) -> Result<OutputChunks, JsValue> {
        let devbox_id = string_arg(&devbox_id, "devbox_id").map_err(to_js_error)?;
        let execution_id = string_arg(&execution_id, "execution_id").map_err(to_js_error)?;
        self.stream(
            devbox_id,
            execution_id,
            &query,
            &options,
            OutputStream::Stderr,
        )
    }
}
