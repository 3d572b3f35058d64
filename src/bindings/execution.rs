//! Commands: `devbox.cmd`, `Execution` (a command that may still run) and `ExecutionResult`
//! (a completed one).

use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use runloop_types::{
    DevboxAsyncExecutionDetailView, ExecuteAsyncParams, ExecuteParams, ExecutionKillParams,
    SendStdInParams,
};
use serde::Deserialize;
use tsify::Tsify;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::convert::{
    from_js, from_js_or_default, is_absent, property, request_options, string_arg, to_js,
    wait_options,
};
use super::errors::to_js_error;
use super::output::{deliver_lines, OutputLines};
use super::{send_view, spawn, JsClient};
use crate::error::{Error, Result};
use crate::output::{buffered_output, streamed_output};
use crate::platform::ErrorCause;
use crate::resources::{executions, OutputStream};
use crate::stream::{ChunkReader, LineReader};

/// Parameters of `devbox.cmd.exec`, besides the command and the output callbacks.
#[derive(Debug, Clone, Default, Deserialize, Tsify)]
pub struct ExecParams {
    /// Persistent shell to run in; its working directory and environment carry over between
    /// commands.
    #[serde(default)]
    #[tsify(optional)]
    pub shell_name: Option<String>,
    /// Seconds the first request waits for the command before the long poll takes over
    /// (at most 25, the default). Not used with output callbacks.
    #[serde(default)]
    #[tsify(optional)]
    pub optimistic_timeout: Option<f64>,
    /// Number of trailing output lines the server returns (default 100); `stdout()` and
    /// `stderr()` read the full stream when they need more.
    #[serde(default)]
    #[tsify(optional)]
    pub last_n: Option<u32>,
}

/// Parameters of `devbox.cmd.execAsync`, besides the command and the output callbacks.
#[derive(Debug, Clone, Default, Deserialize, Tsify)]
pub struct ExecAsyncParams {
    /// Persistent shell to run in.
    #[serde(default)]
    #[tsify(optional)]
    pub shell_name: Option<String>,
    /// Keeps the command's stdin open for `execution.sendStdIn()`.
    #[serde(default)]
    #[tsify(optional)]
    pub attach_stdin: Option<bool>,
}

/// The output callbacks of `exec` and `execAsync`: each is called once per line.
struct Callbacks {
    stdout: Vec<Function>,
    stderr: Vec<Function>,
}

impl Callbacks {
    /// Reads `stdout`, `stderr` and `output` from the params; `output` receives the lines of
    /// both streams.
    fn read(params: &JsValue) -> Result<Self> {
        let mut callbacks = Self {
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        for key in ["stdout", "stderr", "output"] {
            let value = property(params, key);
            if is_absent(&value) {
                continue;
            }
            let function = value.dyn_into::<Function>().map_err(|_| {
                Error::InvalidArgument(format!("Invalid params.{key}: expected a function"))
            })?;
            if key != "stderr" {
                callbacks.stdout.push(function.clone());
            }
            if key != "stdout" {
                callbacks.stderr.push(function);
            }
        }
        Ok(callbacks)
    }

    fn is_empty(&self) -> bool {
        self.stdout.is_empty() && self.stderr.is_empty()
    }

    /// Starts delivering the output lines in the background. The promise always fulfills:
    /// with `undefined`, or with the JS error of the first stream that failed.
    fn start(self, client: &JsClient, devbox_id: &str, execution_id: &str) -> Promise {
        let streams = Array::new();
        for (stream, callbacks) in [
            (OutputStream::Stdout, self.stdout),
            (OutputStream::Stderr, self.stderr),
        ] {
            if callbacks.is_empty() {
                continue;
            }
            let reader = ChunkReader::new(
                Rc::clone(client),
                devbox_id.to_owned(),
                execution_id.to_owned(),
                stream,
                0,
                false,
                None,
            );
            let delivery = wasm_bindgen_futures::future_to_promise(async move {
                match deliver_lines(LineReader::new(reader), callbacks).await {
                    Ok(()) => Ok(JsValue::UNDEFINED),
                    Err(error) => Ok(to_js_error(error)),
                }
            });
            streams.push(&delivery);
        }
        Promise::all(&streams)
    }
}

/// Waits for the output callbacks started by [`Callbacks::start`]; fails with the first
/// error a stream or callback produced.
async fn finish_delivery(delivery: Promise) -> Result<()> {
    let outcomes = JsFuture::from(delivery)
        .await
        .map_err(|error| Error::Thrown(ErrorCause::new(error)))?;
    let outcomes: Array = outcomes.unchecked_into();
    match outcomes.iter().find(|outcome| !outcome.is_undefined()) {
        Some(error) => Err(Error::Thrown(ErrorCause::new(error))),
        None => Ok(()),
    }
}

/// Command execution on one devbox, reached as `devbox.cmd`.
#[wasm_bindgen]
pub struct DevboxCmdOps {
    client: JsClient,
    devbox_id: String,
}

impl DevboxCmdOps {
    pub(super) fn new(client: JsClient, devbox_id: String) -> Self {
        Self { client, devbox_id }
    }
}

#[wasm_bindgen]
impl DevboxCmdOps {
    /// Runs a shell command and resolves once it has completed, whatever its exit code.
    ///
    /// Without callbacks it sends `POST /execute` with a fresh UUIDv7 `command_id` (so a
    /// retried request does not run the command twice), then long-polls the execution. With
    /// `stdout`, `stderr` or `output` callbacks it starts the command with `execute_async`
    /// and streams its output while it runs. Each callback is called once per line, the line
    /// ending in `"\n"` except a last unterminated one. The promise resolves after the last
    /// line was delivered. A callback that throws stops its stream, and the promise rejects
    /// with what it threw once the command completes.
    ///
    /// `options.timeout` bounds the whole run. When it runs out, the promise rejects with
    /// `PollingTimeoutError`, and the command keeps running (and any callbacks keep receiving
    /// its lines until it completes).
    ///
    /// ```ts
    /// const result = await devbox.cmd.exec('npm test', { shell_name: 'main' });
    /// if (result.failed) console.error(await result.stderr(20));
    /// await devbox.cmd.exec('make', { output: (line) => process.stdout.write(line) });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<ExecutionResult>")]
    pub fn exec(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] command: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ExecParams & ExecuteStreamingCallbacks")]
        params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> Promise {
        let command = check_arg!(string_arg(&command, "command"));
        let client = Rc::clone(&self.client);
        let devbox_id = self.devbox_id.clone();
        spawn(async move {
            let exec: ExecParams = from_js_or_default(&params, "params")?;
            let callbacks = Callbacks::read(&params)?;
            let options = wait_options(&options)?;

            if callbacks.is_empty() {
                let execute = ExecuteParams {
                    command,
                    command_id: None,
                    optimistic_timeout: exec.optimistic_timeout,
                    shell_name: exec.shell_name,
                };
                let view = client
                    .executions()
                    .execute_and_await_completion(&devbox_id, execute, exec.last_n, &options)
                    .await?;
                return Ok(ExecutionResult::new(client, view).into());
            }

            let execute = ExecuteAsyncParams {
                command,
                shell_name: exec.shell_name,
                attach_stdin: None,
            };
            let start_options = request_options(&JsValue::UNDEFINED).map(|mut start| {
                start.signal.clone_from(&options.signal);
                start
            })?;
            let started = client
                .executions()
                .execute_async(&devbox_id, &execute, &start_options)
                .await?;
            let delivery = callbacks.start(&client, &devbox_id, &started.execution_id);

            let execution_id = started.execution_id.clone();
            let view = client
                .executions()
                .await_completed(
                    &devbox_id,
                    &execution_id,
                    Some(started),
                    exec.last_n,
                    &options,
                )
                .await?;
            finish_delivery(delivery).await?;
            Ok(ExecutionResult::new(client, view).into())
        })
    }

    /// Starts a shell command (`POST /execute_async`) and resolves at once with an
    /// `Execution` to follow it: stream its output, send it input, kill it, or await its
    /// `result()`. With `stdout`, `stderr` or `output` callbacks, its output is delivered
    /// line by line in the background, and `result()` resolves after the last line.
    ///
    /// ```ts
    /// const job = await devbox.cmd.execAsync('./build.sh', {
    ///   stderr: (line) => console.error(line),
    /// });
    /// await job.kill({ kill_process_group: true });
    /// ```
    #[wasm_bindgen(js_name = execAsync, unchecked_return_type = "Promise<Execution>")]
    pub fn exec_async(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] command: JsValue,
        #[wasm_bindgen(
            unchecked_optional_param_type = "ExecAsyncParams & ExecuteStreamingCallbacks"
        )]
        params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let command = check_arg!(string_arg(&command, "command"));
        let client = Rc::clone(&self.client);
        let devbox_id = self.devbox_id.clone();
        spawn(async move {
            let exec: ExecAsyncParams = from_js_or_default(&params, "params")?;
            let callbacks = Callbacks::read(&params)?;
            let options = request_options(&options)?;

            let execute = ExecuteAsyncParams {
                command,
                shell_name: exec.shell_name,
                attach_stdin: exec.attach_stdin,
            };
            let started = client
                .executions()
                .execute_async(&devbox_id, &execute, &options)
                .await?;
            let delivery = (!callbacks.is_empty())
                .then(|| callbacks.start(&client, &devbox_id, &started.execution_id));
            Ok(Execution::new(client, started, delivery).into())
        })
    }
}

/// A command started with `execAsync`, which may still be running.
///
/// ```ts
/// const execution = await devbox.cmd.execAsync('npm install');
/// for await (const line of execution.stdout) console.log(line.trimEnd());
/// const result = await execution.result();
/// ```
#[wasm_bindgen]
pub struct Execution {
    client: JsClient,
    started: DevboxAsyncExecutionDetailView,
    /// The background delivery to the output callbacks, if any.
    delivery: Option<Promise>,
}

impl Execution {
    pub(super) fn new(
        client: JsClient,
        started: DevboxAsyncExecutionDetailView,
        delivery: Option<Promise>,
    ) -> Self {
        Self {
            client,
            started,
            delivery,
        }
    }

    fn output(&self, stream: OutputStream) -> Result<OutputLines, JsValue> {
        OutputLines::new(
            Rc::clone(&self.client),
            self.started.devbox_id.clone(),
            self.started.execution_id.clone(),
            stream,
            false,
        )
        .map_err(to_js_error)
    }
}

#[wasm_bindgen]
impl Execution {
    /// The execution id.
    ///
    /// ```ts
    /// console.log(execution.executionId);
    /// ```
    #[wasm_bindgen(getter, js_name = executionId)]
    pub fn execution_id(&self) -> String {
        self.started.execution_id.clone()
    }

    /// The id of the devbox the command runs on.
    ///
    /// ```ts
    /// console.log(execution.devboxId);
    /// ```
    #[wasm_bindgen(getter, js_name = devboxId)]
    pub fn devbox_id(&self) -> String {
        self.started.devbox_id.clone()
    }

    /// The command's standard output as an async iterable of lines, read from the start.
    /// Each access returns a new iterator; each line keeps its `"\n"`.
    ///
    /// ```ts
    /// for await (const line of execution.stdout) process.stdout.write(line);
    /// ```
    #[wasm_bindgen(getter)]
    pub fn stdout(&self) -> Result<OutputLines, JsValue> {
        self.output(OutputStream::Stdout)
    }

    /// The command's standard error as an async iterable of lines, like `stdout`.
    ///
    /// ```ts
    /// for await (const line of execution.stderr) process.stderr.write(line);
    /// ```
    #[wasm_bindgen(getter)]
    pub fn stderr(&self) -> Result<OutputLines, JsValue> {
        self.output(OutputStream::Stderr)
    }

    /// Long-polls until the command has completed and resolves with its result; with output
    /// callbacks, also waits until their last line was delivered. `options.timeout` bounds
    /// the wait (`PollingTimeoutError`), and `options.signal` aborts it; neither stops the
    /// command.
    ///
    /// ```ts
    /// const result = await execution.result({ timeout: 600_000 });
    /// console.log(result.exitCode);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<ExecutionResult>")]
    pub fn result(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: JsValue,
    ) -> Promise {
        let client = Rc::clone(&self.client);
        let started = self.started.clone();
        let delivery = self.delivery.clone();
        spawn(async move {
            let options = wait_options(&options)?;
            let devbox_id = started.devbox_id.clone();
            let execution_id = started.execution_id.clone();
            let view = client
                .executions()
                .await_completed(&devbox_id, &execution_id, Some(started), None, &options)
                .await?;
            if let Some(delivery) = delivery {
                finish_delivery(delivery).await?;
            }
            Ok(ExecutionResult::new(client, view).into())
        })
    }

    /// Fetches the execution's current view: its status, and its output and exit code once
    /// it has completed.
    ///
    /// ```ts
    /// const { status } = await execution.getState();
    /// ```
    #[wasm_bindgen(
        js_name = getState,
        unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>"
    )]
    pub fn get_state(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let request =
            executions::retrieve(&self.started.devbox_id, &self.started.execution_id, None);
        send_view(&self.client, Ok(request), options)
    }

    /// Stops the command and resolves with the execution's view. With
    /// `kill_process_group: true`, every process the command started is stopped too.
    ///
    /// ```ts
    /// await execution.kill({ kill_process_group: true });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxAsyncExecutionDetailView>")]
    pub fn kill(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ExecutionKillParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let request =
            from_js_or_default::<ExecutionKillParams>(&params, "params").and_then(|params| {
                executions::kill(&self.started.devbox_id, &self.started.execution_id, &params)
            });
        send_view(&self.client, request, options)
    }

    /// Writes text to the command's stdin, or sends `{ signal: 'EOF' }` to close it or
    /// `{ signal: 'INTERRUPT' }` to interrupt the command. The command must have been started
    /// with `attach_stdin: true`.
    ///
    /// ```ts
    /// const cat = await devbox.cmd.execAsync('cat', { attach_stdin: true });
    /// await cat.sendStdIn('hello\n');
    /// await cat.sendStdIn({ signal: 'EOF' });
    /// ```
    #[wasm_bindgen(js_name = sendStdIn, unchecked_return_type = "Promise<SendStdInResult>")]
    pub fn send_std_in(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | SendStdInParams")] input: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        let params = match input.as_string() {
            Some(text) => Ok(SendStdInParams {
                text: Some(text),
                signal: None,
            }),
            None => from_js::<SendStdInParams>(&input, "input"),
        };
        let request = params.and_then(|params| {
            executions::send_std_in(&self.started.devbox_id, &self.started.execution_id, &params)
        });
        send_view(&self.client, request, options)
    }
}

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

    fn output(&self, stream: OutputStream, num_lines: JsValue, options: JsValue) -> Promise {
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
            let mut reader = ChunkReader::new(
                client,
                devbox_id,
                execution_id,
                stream,
                0,
                true,
                options.signal,
            );
            let full = reader.read_to_end().await?;
            Ok(JsValue::from_str(&streamed_output(full, num_lines)))
        })
    }
}

/// Reads `numLines`: `undefined` or `null` for the whole output, else a whole number of at
/// least 0. `as` saturates, so `Infinity` keeps every line.
fn line_count(value: &JsValue) -> Result<Option<i64>> {
    if is_absent(value) {
        return Ok(None);
    }
    match value.as_f64() {
        Some(lines) if lines.is_finite() && lines >= 0.0 && lines.fract() != 0.0 => {
            Err(Error::InvalidArgument(format!(
                "Invalid numLines: expected a whole number of lines, got {lines}"
            )))
        }
        Some(lines) if lines >= 0.0 => Ok(Some(lines as i64)),
        Some(lines) => Err(Error::InvalidArgument(format!(
            "Invalid numLines: expected a number of lines of at least 0, got {lines}"
        ))),
        None => Err(Error::InvalidArgument(
            "Invalid numLines: expected a number of lines".to_owned(),
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
        to_js(&self.view).map_err(to_js_error)
    }

    /// Returns the command's standard output. Without `numLines`, the whole output; with
    /// it, the last `numLines` lines with trailing empty lines dropped and no final newline
    /// (`numLines` 0 gives `""`). Rejects with `RunloopError` when `numLines` is negative,
    /// fractional or `NaN`. When the server truncated the output (see
    /// `result.stdout_truncated`) and more lines are needed, reads the full output stream
    /// first.
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
    ) -> Promise {
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
    ) -> Promise {
        self.output(OutputStream::Stderr, num_lines, options)
    }
}
