//! `devbox.checkpoint`: the JS side of [`crate::helpers::checkpoint`]. Its generic
//! TypeScript declaration lives in `helper_types.rs`.

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::convert::{object, optional_flag, wait_options};
use super::devbox::Devbox;
use super::errors::error_to_js;
use super::fan_out::call_task;
use super::snapshot::Snapshot;
use super::spawn;
use crate::error::Error;
use crate::helpers::{self, CheckpointOptions, TaskFailure};

#[wasm_bindgen]
impl Devbox {
    /// Snapshots this devbox, runs `fn` on it and rolls back to the snapshot when `fn`
    /// fails. Declared in `helper_types.rs`.
    #[wasm_bindgen(skip_typescript)]
    pub fn checkpoint(&self, run: JsValue, options: JsValue) -> Promise {
        let client = Rc::clone(&self.client);
        let devbox_id = self.id();
        spawn(async move {
            let Some(run) = run.dyn_ref::<Function>().cloned() else {
                return Err(Error::InvalidArgument(
                    "Invalid fn: expected a function (devbox, context) => value".to_owned(),
                ));
            };
            let wait = wait_options(&options)?;
            let options = CheckpointOptions {
                keep_checkpoint: optional_flag(&options, "keepCheckpoint")?,
                timeout_ms: wait.timeout_ms,
                signal: wait.signal,
                progress: wait.progress,
            };

            let devbox: JsValue = Devbox::new(Rc::clone(&client), devbox_id.clone()).into();
            let task_devbox = devbox.clone();
            let task = || async move { call_task(&run, &[task_devbox]).await };
            let outcome = helpers::checkpoint(&client, &devbox_id, &options, task).await?;

            let restored = outcome.failed_devbox_id.is_some();
            let devbox = match restored {
                true => Devbox::new(Rc::clone(&client), outcome.devbox_id).into(),
                false => devbox,
            };
            let checkpoint = match outcome.checkpoint_id {
                Some(id) => Snapshot::new(Rc::clone(&client), id, JsValue::UNDEFINED).into(),
                None => JsValue::NULL,
            };
            let failed = outcome
                .failed_devbox_id
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str);
            let (status, key, payload) = match outcome.result {
                Ok(value) => ("fulfilled", "value", value),
                Err(TaskFailure::Task(error)) => ("rejected", "error", error),
                Err(TaskFailure::Sdk(error)) => ("rejected", "error", error_to_js(&error)),
            };
            Ok(object(&[
                ("status", &JsValue::from_str(status)),
                (key, &payload),
                ("devbox", &devbox),
                ("restored", &JsValue::from_bool(restored)),
                ("failedDevboxId", &failed),
                ("checkpoint", &checkpoint),
            ]))
        })
    }
}
