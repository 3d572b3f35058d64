//! `runloop.snapshot.prune`: the JS side of [`crate::helpers::prune`].

use js_sys::{Array, Promise};
use wasm_bindgen::{JsCast, JsValue};

use super::convert::{is_absent, object, optional_flag, property, to_js};
use super::errors::error_to_js;
use super::fan_out::whole_number;
use super::list::snapshot_filter;
use super::progress::progress_option;
use super::{spawn, JsClient};
use crate::error::{Error, Result};
use crate::helpers::{self, PruneOptions, PruneReport};

/// Runs a prune with the JS `params`; the body of `runloop.snapshot.prune`.
pub(super) fn prune(client: JsClient, params: JsValue) -> Promise {
    spawn(async move {
        let options = prune_options(&params)?;
        let report = helpers::prune(&client, &options).await?;
        report_object(report)
    })
}

/// Reads the prune parameters: the list filter plus `keep`, `olderThan`, `dryRun` and
/// `onProgress`.
fn prune_options(params: &JsValue) -> Result<PruneOptions> {
    if !params.is_object() {
        return Err(Error::InvalidArgument(
            "Invalid params: expected an object like { devbox_id, keep, olderThan }".to_owned(),
        ));
    }
    let own_keys = ["keep", "olderThan", "dryRun", "onProgress"];
    let filter = snapshot_filter(params, "params", &own_keys)?;
    if filter.starting_after.is_some() || filter.include_total_count.is_some() {
        return Err(Error::InvalidArgument(
            "Invalid params: prune reads every page itself; remove starting_after and \
             include_total_count"
                .to_owned(),
        ));
    }

    let keep = match property(params, "keep") {
        value if is_absent(&value) => None,
        value => Some(whole_number(&value, "params.keep")?),
    };
    Ok(PruneOptions {
        filter,
        keep,
        created_before_ms: cutoff(&property(params, "olderThan"))?,
        dry_run: optional_flag(params, "dryRun")?,
        progress: progress_option(params)?,
    })
}

/// Turns `olderThan` into a creation-time cutoff: a `Date` as is, a number of milliseconds
/// as that long before now.
fn cutoff(older_than: &JsValue) -> Result<Option<f64>> {
    if is_absent(older_than) {
        return Ok(None);
    }
    if let Some(date) = older_than.dyn_ref::<js_sys::Date>() {
        let time = date.get_time();
        if time.is_nan() {
            return Err(Error::InvalidArgument(
                "Invalid params.olderThan: the Date is invalid".to_owned(),
            ));
        }
        return Ok(Some(time));
    }
    match older_than.as_f64() {
        Some(age) if age.is_finite() && age >= 0.0 => Ok(Some(js_sys::Date::now() - age)),
        _ => Err(Error::InvalidArgument(
            "Invalid params.olderThan: expected milliseconds of age (a number of at least 0) \
             or a Date"
                .to_owned(),
        )),
    }
}

/// Builds `{ dryRun, deleted, kept, skipped, failed }`.
fn report_object(report: PruneReport) -> Result<JsValue> {
    let skipped = Array::new();
    for entry in &report.skipped {
        let snapshot = to_js(&entry.snapshot)?;
        let status = JsValue::from_str(entry.status.as_str());
        skipped.push(&object(&[("snapshot", &snapshot), ("status", &status)]));
    }
    let failed = Array::new();
    for (snapshot, error) in &report.failed {
        let snapshot = to_js(snapshot)?;
        failed.push(&object(&[
            ("snapshot", &snapshot),
            ("error", &error_to_js(error)),
        ]));
    }
    Ok(object(&[
        ("dryRun", &JsValue::from_bool(report.dry_run)),
        ("deleted", &to_js(&report.deleted)?),
        ("kept", &to_js(&report.kept)?),
        ("skipped", &skipped.into()),
        ("failed", &failed.into()),
    ]))
}
