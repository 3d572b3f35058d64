//! `snapshot.fanOut` and `devbox.fork`: the JS side of [`crate::helpers::fan_out`].
//!
//! Their TypeScript declarations are generic, which wasm-bindgen cannot express, so they
//! live in `helper_types.rs` and the methods here skip the generated ones.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect};
use runloop_types::DevboxCreateParams;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use super::convert::{from_js_checked, is_absent, object, optional_flag, property, wait_options};
use super::devbox::Devbox;
use super::errors::error_to_js;
use super::snapshot::Snapshot;
use super::{spawn, JsClient};
use crate::error::{Error, Result};
use crate::helpers::{self, FanOutOptions, FanOutOutcome, KeepDevboxes, TaskFailure};
use crate::platform::ErrorCause;

/// The `Decide` function of a fan-out called from JS.
type JsDecide = Box<dyn FnOnce(&[JsOutcome]) -> Result<Vec<bool>>>;

/// The outcome of a task whose value and error are JS values.
type JsOutcome = FanOutOutcome<JsValue, JsValue>;

/// The future of one task: what the caller's function resolved or rejected with.
type TaskFuture = Pin<Box<dyn Future<Output = std::result::Result<JsValue, JsValue>>>>;

/// The `Devbox` object each task received, by index, so results hand back the same object.
type DevboxObjects = Rc<RefCell<Vec<Option<JsValue>>>>;

#[wasm_bindgen]
impl Snapshot {
    /// Creates `count` devboxes from this snapshot and runs `fn` on each. Declared in
    /// `helper_types.rs`.
    #[wasm_bindgen(js_name = fanOut, skip_typescript)]
    pub fn fan_out(&self, count: JsValue, run: JsValue, options: JsValue) -> Promise {
        let client = Rc::clone(&self.client);
        let snapshot_id = self.id();
        spawn(async move {
            let call = FanOutCall::parse(&count, &run, &options)?;
            let mut params = call.params.clone();
            params.snapshot_id = Some(snapshot_id);
            let (runner, decide, devboxes, cache) = call.callbacks(&client);
            let outcomes =
                helpers::fan_out(&client, &params, call.count, &call.options, runner, decide)
                    .await?;
            Ok(results(&outcomes, &devboxes, &cache))
        })
    }
}

#[wasm_bindgen]
impl Devbox {
    /// Snapshots this devbox and fans out from the snapshot. Declared in
    /// `helper_types.rs`.
    #[wasm_bindgen(skip_typescript)]
    pub fn fork(&self, count: JsValue, run: JsValue, options: JsValue) -> Promise {
        let client = Rc::clone(&self.client);
        let devbox_id = self.id();
        spawn(async move {
            let call = FanOutCall::parse(&count, &run, &options)?;
            let keep_snapshot = optional_flag(&options, "keepSnapshot")?;
            let (runner, decide, devboxes, cache) = call.callbacks(&client);
            let outcomes = helpers::fork(
                &client,
                &devbox_id,
                &call.params,
                call.count,
                &call.options,
                keep_snapshot,
                runner,
                decide,
            )
            .await?;
            Ok(results(&outcomes, &devboxes, &cache))
        })
    }
}

/// The `keepDevboxes` option as the caller gave it.
enum JsKeep {
    None,
    All,
    Decide(Function),
}

/// The parsed arguments of a fan-out or fork.
struct FanOutCall {
    count: usize,
    run: Function,
    options: FanOutOptions<AbortSignal>,
    keep: JsKeep,
    params: DevboxCreateParams,
}

impl FanOutCall {
    fn parse(count: &JsValue, run: &JsValue, options: &JsValue) -> Result<Self> {
        let count = whole_number(count, "count")?;
        let Some(run) = run.dyn_ref::<Function>() else {
            return Err(Error::InvalidArgument(
                "Invalid fn: expected a function (devbox, index, context) => value".to_owned(),
            ));
        };

        let wait = wait_options(options)?;
        let concurrency = match property(options, "concurrency") {
            value if is_absent(&value) => count.max(1),
            value => match whole_number(&value, "options.concurrency")? {
                0 => {
                    return Err(Error::InvalidArgument(
                        "Invalid options.concurrency: expected a whole number of at least 1"
                            .to_owned(),
                    ))
                }
                concurrency => concurrency,
            },
        };
        let keep = match property(options, "keepDevboxes") {
            value if is_absent(&value) || value.as_bool() == Some(false) => JsKeep::None,
            value if value.as_bool() == Some(true) => JsKeep::All,
            value => match value.dyn_into::<Function>() {
                Ok(decide) => JsKeep::Decide(decide),
                Err(_) => {
                    return Err(Error::InvalidArgument(
                        "Invalid options.keepDevboxes: expected a boolean or a function \
                         (result, results) => boolean"
                            .to_owned(),
                    ))
                }
            },
        };
        let params = from_js_checked(&property(options, "params"), "options.params", &[])?;

        Ok(Self {
            count,
            run: run.clone(),
            options: FanOutOptions {
                concurrency,
                timeout_ms: wait.timeout_ms,
                signal: wait.signal,
                progress: wait.progress,
            },
            keep,
            params,
        })
    }

    /// Builds the task runner and the keep decision, with the shared state that turns the
    /// outcomes into JS results afterwards.
    #[allow(clippy::type_complexity)]
    fn callbacks(
        &self,
        client: &JsClient,
    ) -> (
        impl Fn(usize, String) -> TaskFuture,
        KeepDevboxes<JsDecide>,
        DevboxObjects,
        Rc<RefCell<Option<Array>>>,
    ) {
        let devboxes: DevboxObjects = Rc::new(RefCell::new(vec![None; self.count]));
        let cache = Rc::new(RefCell::new(None));
        let runner = task_runner(Rc::clone(client), self.run.clone(), Rc::clone(&devboxes));

        let keep = match &self.keep {
            JsKeep::None => KeepDevboxes::None,
            JsKeep::All => KeepDevboxes::All,
            JsKeep::Decide(decide) => {
                let decide = decide.clone();
                let devboxes = Rc::clone(&devboxes);
                let cache = Rc::clone(&cache);
                let decide: JsDecide = Box::new(move |outcomes: &[JsOutcome]| {
                    let results = Array::new();
                    for outcome in outcomes {
                        let devbox = devboxes.borrow().get(outcome.index).cloned().flatten();
                        results.push(&result_object(outcome, devbox.as_ref()));
                    }
                    let mut flags = Vec::with_capacity(outcomes.len());
                    for result in results.iter() {
                        let keep = decide
                            .call2(&JsValue::UNDEFINED, &result, &results)
                            .map_err(|thrown| Error::Thrown(ErrorCause::new(thrown)))?;
                        flags.push(keep.is_truthy());
                    }
                    *cache.borrow_mut() = Some(results);
                    Ok(flags)
                });
                KeepDevboxes::Decide(decide)
            }
        };
        (runner, keep, devboxes, cache)
    }
}

/// Returns the function that runs the caller's `fn(devbox, index, { signal })` for one
/// task. The signal fires when the fan-out stops waiting for the task (abort or timeout),
/// which is when it drops the task's future.
fn task_runner(
    client: JsClient,
    run: Function,
    devboxes: DevboxObjects,
) -> impl Fn(usize, String) -> TaskFuture {
    move |index, devbox_id| {
        let devbox: JsValue = Devbox::new(Rc::clone(&client), devbox_id).into();
        if let Some(slot) = devboxes.borrow_mut().get_mut(index) {
            *slot = Some(devbox.clone());
        }
        let run = run.clone();
        Box::pin(async move { call_task(&run, &[devbox, JsValue::from(index as u32)]).await })
    }
}

/// Calls a task function with `arguments` and a `{ signal }` context, and awaits what it
/// returns. The signal fires when this future is dropped before it finishes.
pub(super) async fn call_task(
    run: &Function,
    arguments: &[JsValue],
) -> std::result::Result<JsValue, JsValue> {
    let controller = AbortController::new()?;
    let mut guard = AbortOnDrop(Some(controller.clone()));
    let context = object(&[("signal", &controller.signal().into())]);

    let mut arguments = arguments.to_vec();
    arguments.push(context);
    let result = call_async(run, &arguments).await;
    guard.0 = None;
    result
}

/// Calls `run` with `arguments` and awaits what it returns. A synchronous throw counts as a
/// rejection.
pub(super) async fn call_async(
    run: &Function,
    arguments: &[JsValue],
) -> std::result::Result<JsValue, JsValue> {
    let arguments: Array = arguments.iter().collect();
    match run.apply(&JsValue::UNDEFINED, &arguments) {
        Ok(value) => JsFuture::from(Promise::resolve(&value)).await,
        Err(thrown) => Err(thrown),
    }
}

/// Aborts the controller when dropped, unless disarmed by taking it out.
struct AbortOnDrop(Option<AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            controller.abort();
        }
    }
}

/// Builds the JS results, in index order: the ones given to a `keepDevboxes` function when
/// there was one, else new ones. `devbox` is set on kept results only.
fn results(
    outcomes: &[JsOutcome],
    devboxes: &DevboxObjects,
    cache: &Rc<RefCell<Option<Array>>>,
) -> JsValue {
    let results = cache.borrow_mut().take().unwrap_or_else(|| {
        outcomes
            .iter()
            .map(|outcome| result_object(outcome, None))
            .collect()
    });
    for (result, outcome) in results.iter().zip(outcomes) {
        let devbox = match outcome.kept {
            true => devboxes.borrow().get(outcome.index).cloned().flatten(),
            false => None,
        };
        let devbox = devbox.unwrap_or(JsValue::NULL);
        let _ = Reflect::set(&result, &JsValue::from_str("devbox"), &devbox);
    }
    results.into()
}

/// Builds `{ index, devboxId, status, value | error, devbox }` for one outcome.
fn result_object(outcome: &JsOutcome, devbox: Option<&JsValue>) -> JsValue {
    let (status, key, payload) = match &outcome.result {
        Ok(value) => ("fulfilled", "value", value.clone()),
        Err(TaskFailure::Task(error)) => ("rejected", "error", error.clone()),
        Err(TaskFailure::Sdk(error)) => ("rejected", "error", error_to_js(error)),
    };
    let devbox_id = outcome
        .devbox_id
        .as_deref()
        .map_or(JsValue::NULL, JsValue::from_str);
    object(&[
        ("index", &JsValue::from(outcome.index as u32)),
        ("devboxId", &devbox_id),
        ("status", &JsValue::from_str(status)),
        (key, &payload),
        ("devbox", devbox.unwrap_or(&JsValue::NULL)),
    ])
}

/// Reads a whole number of at least 0.
pub(super) fn whole_number(value: &JsValue, name: &str) -> Result<usize> {
    match value.as_f64() {
        Some(number) if number.is_finite() && number >= 0.0 && number.fract() == 0.0 => {
            Ok(number as usize)
        }
        _ => Err(Error::InvalidArgument(format!(
            "Invalid {name}: expected a whole number of at least 0"
        ))),
    }
}
