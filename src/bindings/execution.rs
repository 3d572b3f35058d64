//! `ExecutionResult`: a completed command's exit code and output.

use runloop_types::DevboxAsyncExecutionDetailView;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::convert::{request_options, to_js};
use super::{spawn, JsClient};
use crate::error::Error;
use crate::output::{buffered_output, streamed_output};
use crate::resources::OutputStream;

/// The result of a completed command.
///
/// ```ts
/// const result = await devbox.cmd.exec('ls /');
/// console.log(result.exitCode, await result.stdout());
/// ```
#[wasm_bindgen]
pub struct ExecutionResult {
    client: JsClient,
    view: DevboxAsyncExecutionDetailView,
}

impl ExecutionResult {
    pub(super) fn new(client: JsClient, view: DevboxAsyncExecutionDetailView) -> Self {
        Self { client, view }
    }

    fn output(
        &self,
        stream: OutputStream,
        num_lines: JsValue,
        options: JsValue,
    ) -> js_sys::Promise {
        let (current, truncated) = match stream {
            OutputStream::Stdout => (&self.view.stdout, self.view.stdout_truncated),
            OutputStream::Stderr => (&self.view.stderr, self.view.stderr_truncated),
        };
        let current = current.clone().unwrap_or_default();
        let truncated = truncated == Some(true);

        let client = JsClient::clone(&self.client);
        let devbox_id = self.view.devbox_id.clone();
        let execution_id = self.view.execution_id.clone();
        spawn(async move {
            let num_lines = line_count(&num_lines)?;
            if let Some(text) = buffered_output(&current, truncated, num_lines) {
                return Ok(JsValue::from_str(&text));
            }
            let options = request_options(&options)?;
            let full = client
                .executions()
                .read_output(&devbox_id, &execution_id, stream, &options)
                .await?;
            Ok(JsValue::from_str(&streamed_output(full, num_lines)))
        })
    }
}

/// Reads `numLines`: `undefined` or `null` for the whole output, else a number truncated to an
/// integer. `as` saturates, so `Infinity` keeps every line.
fn line_count(value: &JsValue) -> crate::Result<Option<i64>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(lines) if !lines.is_nan() => Ok(Some(lines.trunc() as i64)),
        _ => Err(Error::InvalidArgument(
            "Invalid numLines: expected a number".to_owned(),
        )),
    }
}

#[wasm_bindgen]
impl ExecutionResult {
    /// The exit code, or `null` if the server reported none.
    ///
    /// ```ts
    /// if (result.exitCode === 0) console.log('ok');
    /// ```
    #[wasm_bindgen(getter, js_name = exitCode, unchecked_return_type = "number | null")]
    pub fn exit_code(&self) -> JsValue {
        self.view.exit_status.map_or(JsValue::NULL, JsValue::from)
    }

    /// Whether the command exited with code 0.
    ///
    /// ```ts
    /// if (!result.success) throw new Error(await result.stderr());
    /// ```
    #[wasm_bindgen(getter)]
    pub fn success(&self) -> bool {
        self.view.exit_status == Some(0)
    }

    /// Whether the command exited with a code other than 0.
    ///
    /// ```ts
    /// if (result.failed) console.error(await result.stderr(10));
    /// ```
    #[wasm_bindgen(getter)]
    pub fn failed(&self) -> bool {
        self.view.exit_status.is_some_and(|code| code != 0)
    }

    /// The execution id.
    ///
    /// ```ts
    /// console.log(result.executionId);
    /// ```
    #[wasm_bindgen(getter, js_name = executionId)]
    pub fn execution_id(&self) -> String {
        self.view.execution_id.clone()
    }

    /// The id of the devbox the command ran on.
    ///
    /// ```ts
    /// console.log(result.devboxId);
    /// ```
    #[wasm_bindgen(getter, js_name = devboxId)]
    pub fn devbox_id(&self) -> String {
        self.view.devbox_id.clone()
    }

    /// The execution view the server returned.
    ///
    /// ```ts
    /// console.log(result.result.stdout_truncated);
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "DevboxAsyncExecutionDetailView")]
    pub fn result(&self) -> Result<JsValue, JsValue> {
        to_js(&self.view).map_err(super::errors::to_js_error)
    }

    /// Returns the command's standard output. Without `numLines`, the whole output as returned; with
    /// it, the last `numLines` lines with trailing empty lines dropped and no final newline
    /// (`numLines <= 0` gives `""`). When the server truncated the output and more lines are
    /// needed, reads the full output stream first.
    ///
    /// ```ts
    /// const all = await result.stdout();
    /// const lastTwo = await result.stdout(2);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn stdout(
        &self,
        #[wasm_bindgen(js_name = numLines, unchecked_optional_param_type = "number")]
        num_lines: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        self.output(OutputStream::Stdout, num_lines, options)
    }

    /// Returns the command's standard error, with the same rules as `stdout`.
    ///
    /// ```ts
    /// const lastError = await result.stderr(1);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn stderr(
        &self,
        #[wasm_bindgen(js_name = numLines, unchecked_optional_param_type = "number")]
        num_lines: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> js_sys::Promise {
        self.output(OutputStream::Stderr, num_lines, options)
    }
}
