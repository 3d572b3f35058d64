//! `OutputLines` and `OutputChunks`: async iterators over an execution's output stream.
//! `js/protocols.cjs` adds `[Symbol.asyncIterator]` to both, so `for await` works.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use web_sys::{AbortController, AbortSignal};

use super::convert::{object, to_js};
use super::fetch::{AbortListener, FetchPlatform};
use super::{spawn, JsClient};
use crate::error::{Error, Result};
use crate::platform::ErrorCause;
use crate::resources::OutputStream;
use crate::stream::{ChunkReader, LineReader};

/// A source of iterator values: lines or chunks.
pub(super) trait NextValue {
    /// Returns the next value as a JS value, or `None` at the end.
    async fn next_value(&mut self) -> Result<Option<JsValue>>;
}

impl NextValue for LineReader<FetchPlatform> {
    async fn next_value(&mut self) -> Result<Option<JsValue>> {
        Ok(self.next_line().await?.map(|line| JsValue::from_str(&line)))
    }
}

impl NextValue for ChunkReader<FetchPlatform> {
    async fn next_value(&mut self) -> Result<Option<JsValue>> {
        match self.next_chunk().await? {
            Some(chunk) => Ok(Some(to_js(&chunk)?)),
            None => Ok(None),
        }
    }
}

/// State of an iterator: ready with its reader, inside a `next()` call, or finished.
enum State<R> {
    Idle(R),
    Busy,
    Finished,
}

/// The state shared by an iterator object and its pending `next()` call.
struct Iteration<R> {
    state: Rc<RefCell<State<R>>>,
    /// Aborts the reader's request when `return()` is called during a `next()` call.
    controller: Option<AbortController>,
}

impl<R: NextValue + 'static> Iteration<R> {
    fn new(reader: R, controller: Option<AbortController>) -> Self {
        Self {
            state: Rc::new(RefCell::new(State::Idle(reader))),
            controller,
        }
    }

    fn next(&self) -> Promise {
        let state = Rc::clone(&self.state);
        spawn(async move {
            let current = std::mem::replace(&mut *state.borrow_mut(), State::Busy);
            let mut reader = match current {
                State::Idle(reader) => reader,
                State::Busy => {
                    return Err(Error::InvalidArgument(
                        "next() was called again before the previous call settled".to_owned(),
                    ))
                }
                State::Finished => {
                    *state.borrow_mut() = State::Finished;
                    return Ok(iterator_result(JsValue::UNDEFINED, true));
                }
            };

            let outcome = reader.next_value().await;
            let mut current = state.borrow_mut();
            let returned = matches!(*current, State::Finished);
            match outcome {
                Ok(Some(value)) if !returned => {
                    *current = State::Idle(reader);
                    Ok(iterator_result(value, false))
                }
                Ok(_) => {
                    *current = State::Finished;
                    Ok(iterator_result(JsValue::UNDEFINED, true))
                }
                Err(_) if returned => Ok(iterator_result(JsValue::UNDEFINED, true)),
                Err(error) => {
                    *current = State::Finished;
                    Err(error)
                }
            }
        })
    }

    fn finish(&self) -> Promise {
        let previous = std::mem::replace(&mut *self.state.borrow_mut(), State::Finished);
        if matches!(previous, State::Busy) {
            if let Some(controller) = &self.controller {
                controller.abort();
            }
        }
        // Dropping an idle reader stops its request.
        drop(previous);
        Promise::resolve(&iterator_result(JsValue::UNDEFINED, true))
    }
}

/// Builds `{ value, done }`.
fn iterator_result(value: JsValue, done: bool) -> JsValue {
    object(&[("value", &value), ("done", &JsValue::from_bool(done))])
}

/// Returns a new abort controller, or an error naming the missing host API.
fn new_controller() -> Result<AbortController> {
    AbortController::new().map_err(|error| Error::Thrown(ErrorCause::new(error)))
}

/// The lines of one output stream of an execution, read from the start as the command
/// writes them. Each line keeps its `"\n"`, so the lines join to the exact output. The last
/// line has none when the output does not end with a newline. The iteration ends when the
/// command has completed and all its output was read. Reading reconnects after network
/// errors and server timeouts without losing or repeating output.
///
/// ```ts
/// for await (const line of execution.stdout) process.stdout.write(line);
/// ```
#[wasm_bindgen]
pub struct OutputLines {
    iteration: Iteration<LineReader<FetchPlatform>>,
}

impl OutputLines {
    /// Creates an iterator over `stream` of an execution, from its start.
    pub(super) fn new(
        client: JsClient,
        devbox_id: String,
        execution_id: String,
        stream: OutputStream,
        completed: bool,
    ) -> Result<Self> {
        let controller = new_controller()?;
        let reader = ChunkReader::new(
            client,
            devbox_id,
            execution_id,
            stream,
            0,
            completed,
            Some(controller.signal()),
        );
        Ok(Self {
            iteration: Iteration::new(LineReader::new(reader), Some(controller)),
        })
    }
}

#[wasm_bindgen]
impl OutputLines {
    /// Resolves with the next line, or `{ done: true }` after the last one. Called by
    /// `for await`; call it directly only to read lines one at a time.
    ///
    /// ```ts
    /// const first = await execution.stdout.next(); // { value: 'hello\n', done: false }
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<IteratorResult<string, undefined>>")]
    pub fn next(&self) -> Promise {
        self.iteration.next()
    }

    /// Stops reading and closes the connection. `for await` calls it when the loop exits
    /// early (`break`, `return` or an exception).
    ///
    /// ```ts
    /// const lines = execution.stdout;
    /// await lines.next();
    /// await lines.return();
    /// ```
    #[wasm_bindgen(
        js_name = "return",
        unchecked_return_type = "Promise<IteratorResult<string, undefined>>"
    )]
    pub fn finish(&self) -> Promise {
        self.iteration.finish()
    }
}

/// The chunks (`ExecutionUpdateChunk`) of one output stream of an execution, as the server
/// sends them, from a given offset. Reading reconnects from the last chunk's `offset` after
/// network errors and server timeouts without losing or repeating output.
///
/// ```ts
/// for await (const chunk of runloop.api.devboxes.executions.streamStdoutUpdates(devboxId, executionId)) {
///   process.stdout.write(chunk.output);
/// }
/// ```
#[wasm_bindgen]
pub struct OutputChunks {
    iteration: Iteration<ChunkReader<FetchPlatform>>,
    /// Stops the reader when the caller's signal fires; removed when the iterator is freed.
    _link: Option<AbortListener>,
}

impl OutputChunks {
    /// Creates an iterator over `stream` of an execution, from byte `offset`. The caller's
    /// `signal`, if any, stops it.
    pub(super) fn new(
        client: JsClient,
        devbox_id: String,
        execution_id: String,
        stream: OutputStream,
        offset: u64,
        signal: Option<AbortSignal>,
    ) -> Result<Self> {
        let controller = new_controller()?;
        if signal.as_ref().is_some_and(AbortSignal::aborted) {
            controller.abort();
        }
        let link = signal.map(|signal| {
            let controller = controller.clone();
            AbortListener::add(&signal, move || controller.abort())
        });
        let reader = ChunkReader::new(
            client,
            devbox_id,
            execution_id,
            stream,
            offset,
            false,
            Some(controller.signal()),
        );
        Ok(Self {
            iteration: Iteration::new(reader, Some(controller)),
            _link: link,
        })
    }
}

#[wasm_bindgen]
impl OutputChunks {
    /// Resolves with the next chunk, or `{ done: true }` after the last one. Called by
    /// `for await`.
    ///
    /// ```ts
    /// const { value } = await chunks.next();
    /// ```
    #[wasm_bindgen(
        unchecked_return_type = "Promise<IteratorResult<ExecutionUpdateChunk, undefined>>"
    )]
    pub fn next(&self) -> Promise {
        self.iteration.next()
    }

    /// Stops reading and closes the connection. `for await` calls it when the loop exits
    /// early.
    ///
    /// ```ts
    /// await chunks.return();
    /// ```
    #[wasm_bindgen(
        js_name = "return",
        unchecked_return_type = "Promise<IteratorResult<ExecutionUpdateChunk, undefined>>"
    )]
    pub fn finish(&self) -> Promise {
        self.iteration.finish()
    }
}

/// Reads `lines` to the end and calls every function of `callbacks` with each line. Stops at
/// the first callback that throws, with what it threw.
pub(super) async fn deliver_lines(
    mut lines: LineReader<FetchPlatform>,
    callbacks: Vec<Function>,
) -> Result<()> {
    while let Some(line) = lines.next_line().await? {
        let line = JsValue::from_str(&line);
        for callback in &callbacks {
            callback
                .call1(&JsValue::UNDEFINED, &line)
                .map_err(|thrown| Error::Thrown(ErrorCause::new(thrown)))?;
        }
    }
    Ok(())
}
