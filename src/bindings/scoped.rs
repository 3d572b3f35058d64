//! Scoped cleanup: the body of `runloop.devbox.with` and the functions behind
//! `Symbol.asyncDispose`,
//! which `js/protocols.cjs` installs because wasm-bindgen cannot name a method by a symbol.

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::convert::{from_js_checked, wait_options};
use super::devbox::Devbox;
use super::fan_out::call_async;
use super::snapshot::Snapshot;
use super::{spawn, JsClient};
use crate::error::Error;
use crate::helpers::{self, TaskFailure};
use crate::platform::ErrorCause;

/// Creates a devbox with `params`, runs `run(devbox)` on it and shuts it down; the body of
/// `runloop.devbox.with`.
pub(super) fn with_devbox(
    client: JsClient,
    params: JsValue,
    run: JsValue,
    options: JsValue,
) -> Promise {
    spawn(async move {
        let Some(run) = run.dyn_ref::<Function>().cloned() else {
            return Err(Error::InvalidArgument(
                "Invalid fn: expected a function (devbox) => value".to_owned(),
            ));
        };
        let params = from_js_checked(&params, "params", &[])?;
        let options = wait_options(&options)?;

        let task_client = Rc::clone(&client);
        let task = |devbox_id: String| async move {
            let devbox: JsValue = Devbox::new(task_client, devbox_id).into();
            call_async(&run, &[devbox]).await
        };
        match helpers::with_devbox(&client, &params, &options, task).await {
            Ok(value) => Ok(value),
            Err(TaskFailure::Task(thrown)) => Err(Error::Thrown(ErrorCause::new(thrown))),
            Err(TaskFailure::Sdk(error)) => Err(error),
        }
    })
}

/// Shuts a devbox down for `Symbol.asyncDispose`; an ended or missing devbox counts as done.
#[wasm_bindgen(js_name = "__disposeDevbox", skip_typescript)]
pub fn dispose_devbox(devbox: &Devbox) -> Promise {
    let client = Rc::clone(&devbox.client);
    let id = devbox.id();
    spawn(async move {
        helpers::shutdown_quietly(&client, &id).await?;
        Ok(JsValue::UNDEFINED)
    })
}

/// Deletes a snapshot for `snapshot.disposable()`; a deleted snapshot counts as done, and
/// a capture in progress is awaited first.
#[wasm_bindgen(js_name = "__disposeSnapshot", skip_typescript)]
pub fn dispose_snapshot(snapshot: &Snapshot) -> Promise {
    let client = Rc::clone(&snapshot.client);
    let id = snapshot.id();
    spawn(async move {
        helpers::discard_snapshot(&client, &id).await?;
        Ok(JsValue::UNDEFINED)
    })
}
