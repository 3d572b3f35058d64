//! The helpers beyond the official SDK (fan-out, fork, checkpoint, prune, scoped devboxes,
//! cleanup and progress) against the in-memory API of [`super::fake_api`].

use std::cell::RefCell;
use std::rc::Rc;

use runloop_types::DevboxCreateParams;
use serde_json::json;

use super::fake_api::{api_client, run, work, ApiSignal, FakeApi};
use crate::error::Error;
use crate::helpers::{
    self, CheckpointOptions, FanOutOptions, FanOutOutcome, KeepDevboxes, PruneOptions, TaskFailure,
};
use crate::progress::{Progress, ProgressEvent};
use crate::resources::snapshots::{MetadataFilter, SnapshotListParams};
use crate::wait::WaitOptions;

type Decide = fn(&[FanOutOutcome<u32, String>]) -> crate::Result<Vec<bool>>;

fn options(concurrency: usize) -> FanOutOptions<ApiSignal> {
    FanOutOptions {
        concurrency,
        timeout_ms: None,
        signal: None,
        progress: None,
    }
}

fn from_snapshot(api: &FakeApi) -> DevboxCreateParams {
    DevboxCreateParams {
        snapshot_id: Some(api.add_snapshot(api.now(), "dbx_source", json!({}))),
        ..DevboxCreateParams::default()
    }
}

/// Records every progress event.
fn recorder(api: &FakeApi) -> (Progress, Rc<RefCell<Vec<ProgressEvent>>>) {
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&events);
    let progress = Progress::new(
        Rc::new(move |event: &ProgressEvent| sink.borrow_mut().push(event.clone())),
        api.now(),
    );
    (progress, events)
}

fn value<T: Copy, E: std::fmt::Debug>(outcome: &FanOutOutcome<T, E>) -> T {
    match &outcome.result {
        Ok(value) => *value,
        Err(failure) => panic!("task {} failed: {failure:?}", outcome.index),
    }
}

#[test]
fn fan_out_runs_every_index_and_shuts_down() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);

    let task = |index: usize, _id: String| work(api, 100.0, Ok::<u32, String>(index as u32 * 10));
    let outcomes = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            3,
            &options(3),
            task,
            KeepDevboxes::<Decide>::None,
        ),
    )
    .unwrap();

    let values: Vec<u32> = outcomes.iter().map(value).collect();
    assert_eq!(values, [0, 10, 20]);
    let indexes: Vec<usize> = outcomes.iter().map(|outcome| outcome.index).collect();
    assert_eq!(indexes, [0, 1, 2]);
    for outcome in &outcomes {
        let id = outcome.devbox_id.as_deref().expect("a devbox was created");
        let devbox = api.devbox(id);
        assert_eq!(devbox.snapshot_id, params.snapshot_id);
        assert!(devbox.ended_ms.is_some(), "{id} was shut down");
        assert!(!outcome.kept);
    }
    assert!(api.alive().is_empty());
}

#[test]
fn fan_out_concurrency_bounds_live_devboxes() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);
    let started = api.now();

    let task = |_: usize, _id: String| work(api, 1_000.0, Ok::<u32, String>(1));
    let outcomes = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            5,
            &options(2),
            task,
            KeepDevboxes::<Decide>::None,
        ),
    )
    .unwrap();

    assert_eq!(outcomes.len(), 5);
    assert_eq!(
        api.max_alive.get(),
        2,
        "two devboxes at most, and two at once"
    );
    assert_eq!(api.devboxes.borrow().len(), 5);
    let elapsed = api.now() - started;
    assert!(
        elapsed > 3_000.0,
        "three rounds of 1 s tasks took {elapsed} ms"
    );
}

#[test]
fn fan_out_task_failure_is_its_outcome() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);

    let task = |index: usize, _id: String| async move {
        match index {
            1 => Err("boom".to_owned()),
            _ => Ok(index as u32),
        }
    };
    let outcomes = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            3,
            &options(3),
            task,
            KeepDevboxes::<Decide>::None,
        ),
    )
    .unwrap();

    assert!(matches!(&outcomes[1].result, Err(TaskFailure::Task(error)) if error == "boom"));
    assert_eq!(value(&outcomes[0]), 0);
    assert_eq!(value(&outcomes[2]), 2);
    assert!(outcomes[1].devbox_id.is_some());
    assert!(api.alive().is_empty());
}

#[test]
fn fan_out_timeout_rejects_unfinished_tasks() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);
    let fan_options = FanOutOptions {
        timeout_ms: Some(2_500),
        ..options(3)
    };

    let task = |index: usize, _id: String| work(api, index as f64 * 1_500.0, Ok::<u32, String>(7));
    let outcomes = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            3,
            &fan_options,
            task,
            KeepDevboxes::<Decide>::None,
        ),
    )
    .unwrap();

    assert_eq!(value(&outcomes[0]), 7);
    assert_eq!(value(&outcomes[1]), 7);
    match &outcomes[2].result {
        Err(TaskFailure::Sdk(Error::PollingTimeout(timeout))) => {
            assert!(timeout.message.contains("2500 ms"), "{}", timeout.message);
            assert!(timeout.message.contains("task 2"), "{}", timeout.message);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        api.alive().is_empty(),
        "the timed-out task's devbox is shut down too"
    );
}

#[test]
fn fan_out_abort_shuts_every_devbox_down() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);
    let signal = ApiSignal::default();
    *api.abort_on_create.borrow_mut() = Some((2, signal.clone()));
    let fan_options = FanOutOptions {
        signal: Some(signal),
        ..options(2)
    };

    let task = |_: usize, _id: String| work(api, 10_000.0, Ok::<u32, String>(1));
    let result = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            5,
            &fan_options,
            task,
            KeepDevboxes::<Decide>::All,
        ),
    );

    assert!(matches!(result, Err(Error::Aborted)), "{result:?}");
    assert_eq!(
        api.devboxes.borrow().len(),
        3,
        "the create in flight when the signal fired completes; no later one starts"
    );
    assert!(api.alive().is_empty(), "still running: {:?}", api.alive());
}

#[test]
fn fan_out_keeps_devboxes_as_decided() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);

    let task = |index: usize, _id: String| work(api, 100.0, Ok::<u32, String>([3, 9, 5][index]));
    let keep_best = |outcomes: &[FanOutOutcome<u32, String>]| {
        let best = outcomes.iter().map(value).max();
        Ok(outcomes
            .iter()
            .map(|outcome| Some(value(outcome)) == best)
            .collect())
    };
    let outcomes = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            3,
            &options(3),
            task,
            KeepDevboxes::Decide(keep_best),
        ),
    )
    .unwrap();

    let kept: Vec<bool> = outcomes.iter().map(|outcome| outcome.kept).collect();
    assert_eq!(kept, [false, true, false]);
    assert_eq!(api.alive(), [outcomes[1].devbox_id.clone().unwrap()]);
}

#[test]
fn fan_out_keep_all_leaves_devboxes_running() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);

    let task = |_: usize, _id: String| async { Ok::<u32, String>(1) };
    let outcomes = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            2,
            &options(2),
            task,
            KeepDevboxes::<Decide>::All,
        ),
    )
    .unwrap();

    assert!(outcomes.iter().all(|outcome| outcome.kept));
    assert_eq!(api.alive().len(), 2);
}

#[test]
fn fan_out_failing_decision_shuts_everything_down() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);

    let task = |_: usize, _id: String| async { Ok::<u32, String>(1) };
    let decide = |_: &[FanOutOutcome<u32, String>]| -> crate::Result<Vec<bool>> {
        Err(Error::InvalidArgument("decision failed".to_owned()))
    };
    let result = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            2,
            &options(2),
            task,
            KeepDevboxes::Decide(decide),
        ),
    );

    assert!(matches!(result, Err(Error::InvalidArgument(message)) if message == "decision failed"));
    assert!(api.alive().is_empty());
}

#[test]
fn fan_out_rejects_failed_boot() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);
    *api.failing_snapshot.borrow_mut() = params.snapshot_id.clone();

    let task = |_: usize, _id: String| async { Ok::<u32, String>(1) };
    let outcomes = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            1,
            &options(1),
            task,
            KeepDevboxes::<Decide>::All,
        ),
    )
    .unwrap();

    assert!(matches!(
        &outcomes[0].result,
        Err(TaskFailure::Sdk(Error::DevboxNotRunning { status, .. })) if status == "failure"
    ));
    assert!(
        !outcomes[0].kept,
        "a devbox that never ran the task is not kept"
    );
}

#[test]
fn fan_out_names_leftover_devboxes() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);
    api.inject("POST", "/shutdown", 500);

    let task = |_: usize, _id: String| async { Ok::<u32, String>(1) };
    let result = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            1,
            &options(1),
            task,
            KeepDevboxes::<Decide>::None,
        ),
    );

    let Err(Error::CleanupFailed { message, cause }) = result else {
        panic!("expected a cleanup failure, got {result:?}");
    };
    assert!(message.contains("dbx_2"), "{message}");
    assert!(message.contains("shutdown()"), "{message}");
    assert_eq!(cause.status(), Some(500));
}

#[test]
fn fan_out_rejects_zero_concurrency() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);

    let task = |_: usize, _id: String| async { Ok::<u32, String>(1) };
    let result = run(
        api,
        helpers::fan_out(
            &client,
            &params,
            2,
            &options(0),
            task,
            KeepDevboxes::<Decide>::None,
        ),
    );

    assert!(
        matches!(result, Err(Error::InvalidArgument(message)) if message.contains("concurrency"))
    );
    assert!(api.devboxes.borrow().is_empty());
}

#[test]
fn fan_out_reports_progress_per_index() {
    let client = api_client();
    let api = client.platform();
    let params = from_snapshot(api);
    let (progress, events) = recorder(api);
    let fan_options = FanOutOptions {
        progress: Some(progress),
        ..options(2)
    };

    let task = |_: usize, _id: String| work(api, 50.0, Ok::<u32, String>(1));
    run(
        api,
        helpers::fan_out(
            &client,
            &params,
            2,
            &fan_options,
            task,
            KeepDevboxes::<Decide>::None,
        ),
    )
    .unwrap();

    let events = events.borrow();
    for index in 0..2 {
        let phases: Vec<&str> = events
            .iter()
            .filter(|event| event.index == Some(index))
            .map(|event| event.phase)
            .collect();
        assert_eq!(
            phases,
            ["creating", "waiting", "waiting", "running", "settled", "shutdown"],
            "task {index}"
        );
    }
    let settled: Vec<Option<u64>> = events
        .iter()
        .filter(|event| event.phase == "settled")
        .map(|event| event.done)
        .collect();
    assert_eq!(settled, [Some(1), Some(2)]);
    let last = events.last().unwrap();
    assert_eq!(last.phase, "done");
    assert!(
        last.elapsed_ms > 500.0,
        "boot and task time: {}",
        last.elapsed_ms
    );
    let waiting: Vec<Option<&str>> = events
        .iter()
        .filter(|event| event.phase == "waiting" && event.index == Some(0))
        .map(|event| event.status.as_deref())
        .collect();
    assert_eq!(waiting, [Some("provisioning"), Some("running")]);
}

#[test]
fn fork_snapshots_the_devbox_and_deletes_the_snapshot() {
    let client = api_client();
    let api = client.platform();
    let source = api.add_devbox();

    let task = |index: usize, _id: String| async move { Ok::<u32, String>(index as u32) };
    let params = DevboxCreateParams::default();
    let outcomes = run(
        api,
        helpers::fork(
            &client,
            &source,
            &params,
            2,
            &options(2),
            false,
            task,
            KeepDevboxes::<Decide>::None,
        ),
    )
    .unwrap();

    let snapshots = api.snapshots.borrow().clone();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].source_devbox_id, source);
    assert!(
        snapshots[0].deleted,
        "the fork's snapshot is deleted afterwards"
    );
    for outcome in &outcomes {
        let devbox = api.devbox(outcome.devbox_id.as_deref().unwrap());
        assert_eq!(
            devbox.snapshot_id.as_deref(),
            Some(snapshots[0].id.as_str())
        );
    }
    assert_eq!(api.alive(), [source], "only the source devbox still runs");
}

#[test]
fn fork_keeps_the_snapshot_when_asked() {
    let client = api_client();
    let api = client.platform();
    let source = api.add_devbox();

    let task = |_: usize, _id: String| async { Ok::<u32, String>(1) };
    let params = DevboxCreateParams::default();
    run(
        api,
        helpers::fork(
            &client,
            &source,
            &params,
            1,
            &options(1),
            true,
            task,
            KeepDevboxes::<Decide>::None,
        ),
    )
    .unwrap();

    assert!(!api.snapshots.borrow()[0].deleted);
}

fn checkpoint_options() -> CheckpointOptions<ApiSignal> {
    CheckpointOptions {
        keep_checkpoint: false,
        timeout_ms: None,
        signal: None,
        progress: None,
    }
}

#[test]
fn checkpoint_success_keeps_the_devbox() {
    let client = api_client();
    let api = client.platform();
    let devbox = api.add_devbox();

    let outcome = run(
        api,
        helpers::checkpoint(&client, &devbox, &checkpoint_options(), || async {
            Ok::<u32, String>(5)
        }),
    )
    .unwrap();

    assert!(matches!(outcome.result, Ok(5)));
    assert_eq!(outcome.devbox_id, devbox);
    assert_eq!(outcome.failed_devbox_id, None);
    assert_eq!(outcome.checkpoint_id, None);
    assert!(
        api.snapshots.borrow()[0].deleted,
        "the checkpoint is deleted"
    );
    assert_eq!(api.alive(), [devbox]);
}

#[test]
fn checkpoint_failure_restores_from_the_snapshot() {
    let client = api_client();
    let api = client.platform();
    let devbox = api.add_devbox();
    let keep = CheckpointOptions {
        keep_checkpoint: true,
        ..checkpoint_options()
    };

    let outcome = run(
        api,
        helpers::checkpoint(&client, &devbox, &keep, || async {
            Err::<u32, String>("broke it".to_owned())
        }),
    )
    .unwrap();

    assert!(matches!(&outcome.result, Err(TaskFailure::Task(error)) if error == "broke it"));
    assert_eq!(outcome.failed_devbox_id.as_deref(), Some(devbox.as_str()));
    let restored = api.devbox(&outcome.devbox_id);
    let checkpoint_id = outcome
        .checkpoint_id
        .clone()
        .expect("the checkpoint is kept");
    assert_eq!(
        restored.snapshot_id.as_deref(),
        Some(checkpoint_id.as_str())
    );
    assert_eq!(restored.name.as_deref(), Some("original"));
    assert_eq!(restored.metadata, json!({ "team": "a" }));
    assert!(
        api.devbox(&devbox).ended_ms.is_some(),
        "the failed devbox is shut down"
    );
    assert!(!api.snapshot(&checkpoint_id).deleted);
    assert_eq!(api.alive(), [outcome.devbox_id]);
}

#[test]
fn checkpoint_timeout_rolls_back() {
    let client = api_client();
    let api = client.platform();
    let devbox = api.add_devbox();
    let bounded = CheckpointOptions {
        timeout_ms: Some(1_000),
        ..checkpoint_options()
    };

    let outcome = run(
        api,
        helpers::checkpoint(&client, &devbox, &bounded, || {
            work(api, 5_000.0, Ok::<u32, String>(1))
        }),
    )
    .unwrap();

    assert!(matches!(
        outcome.result,
        Err(TaskFailure::Sdk(Error::PollingTimeout(_)))
    ));
    assert_ne!(outcome.devbox_id, devbox);
    assert!(api.snapshots.borrow()[0].deleted);
}

#[test]
fn checkpoint_abort_leaves_the_devbox_as_it_is() {
    let client = api_client();
    let api = client.platform();
    let devbox = api.add_devbox();
    let signal = ApiSignal::default();
    let abortable = CheckpointOptions {
        signal: Some(signal.clone()),
        ..checkpoint_options()
    };

    let task = || {
        signal.abort();
        work(api, 5_000.0, Ok::<u32, String>(1))
    };
    let result = run(api, helpers::checkpoint(&client, &devbox, &abortable, task));

    assert!(matches!(result, Err(Error::Aborted)), "{result:?}");
    assert_eq!(api.alive(), [devbox], "nothing is rolled back");
    assert!(api.snapshots.borrow()[0].deleted);
}

#[test]
fn checkpoint_failed_restore_keeps_checkpoint_and_devbox() {
    let client = api_client();
    let api = client.platform();
    let devbox = api.add_devbox();
    api.inject("POST", "create_and_await_running", 500);

    let result = run(
        api,
        helpers::checkpoint(&client, &devbox, &checkpoint_options(), || async {
            Err::<u32, String>("broke it".to_owned())
        }),
    );

    let Err(Error::CleanupFailed { message, .. }) = result else {
        panic!("expected a failed restore, got {result:?}");
    };
    let checkpoint_id = api.snapshots.borrow()[0].id.clone();
    assert!(message.contains(&checkpoint_id), "{message}");
    assert!(message.contains(&devbox), "{message}");
    assert!(!api.snapshot(&checkpoint_id).deleted);
    assert_eq!(api.alive(), [devbox]);
}

/// Adds snapshots of `dbx_a` created at times 1..=count seconds, newest last.
fn add_snapshots(api: &FakeApi, count: usize) -> Vec<String> {
    (1..=count)
        .map(|second| api.add_snapshot(second as f64 * 1_000.0, "dbx_a", json!({ "ci": "true" })))
        .collect()
}

fn prune_options(keep: Option<usize>) -> PruneOptions {
    PruneOptions {
        filter: SnapshotListParams {
            devbox_id: Some("dbx_a".to_owned()),
            limit: Some(2),
            ..SnapshotListParams::default()
        },
        keep,
        ..PruneOptions::default()
    }
}

fn ids(views: &[runloop_types::DevboxSnapshotView]) -> Vec<&String> {
    views.iter().map(|view| &view.id).collect()
}

#[test]
fn prune_keeps_the_newest_across_pages() {
    let client = api_client();
    let api = client.platform();
    let ids_made = add_snapshots(api, 5);

    let report = run(api, helpers::prune(&client, &prune_options(Some(2)))).unwrap();

    assert_eq!(
        ids(&report.deleted),
        [&ids_made[2], &ids_made[1], &ids_made[0]]
    );
    assert_eq!(ids(&report.kept), [&ids_made[4], &ids_made[3]]);
    assert!(report.failed.is_empty());
    assert_eq!(
        api.count("GET /v1/devboxes/disk_snapshots?"),
        3,
        "five snapshots, pages of two"
    );
    for id in &ids_made[..3] {
        assert!(api.snapshot(id).deleted, "{id}");
    }
    assert!(!api.snapshot(&ids_made[4]).deleted);
}

#[test]
fn prune_dry_run_deletes_nothing() {
    let client = api_client();
    let api = client.platform();
    let ids_made = add_snapshots(api, 3);
    let dry = PruneOptions {
        dry_run: true,
        ..prune_options(Some(1))
    };

    let report = run(api, helpers::prune(&client, &dry)).unwrap();

    assert!(report.dry_run);
    assert_eq!(ids(&report.deleted), [&ids_made[1], &ids_made[0]]);
    assert_eq!(api.count("POST /v1/devboxes/disk_snapshots/"), 0);
    assert!(api
        .snapshots
        .borrow()
        .iter()
        .all(|snapshot| !snapshot.deleted));
}

#[test]
fn prune_never_deletes_a_capture_in_progress() {
    let client = api_client();
    let api = client.platform();
    let ids_made = add_snapshots(api, 3);
    api.snapshots.borrow_mut()[0].complete_at_ms = None;
    let newest = api.add_snapshot(9_000.0, "dbx_a", json!({}));
    api.snapshots.borrow_mut()[3].complete_at_ms = None;

    let report = run(api, helpers::prune(&client, &prune_options(Some(1)))).unwrap();

    let skipped: Vec<&str> = report
        .skipped
        .iter()
        .map(|s| s.snapshot.id.as_str())
        .collect();
    assert_eq!(skipped, [newest.as_str(), ids_made[0].as_str()]);
    assert_eq!(
        ids(&report.kept),
        [&ids_made[2]],
        "a capture in progress does not count toward keep"
    );
    assert_eq!(ids(&report.deleted), [&ids_made[1]]);
    assert!(!api.snapshot(&newest).deleted);
    assert!(!api.snapshot(&ids_made[0]).deleted);
    let deletes = api.count("POST /v1/devboxes/disk_snapshots/");
    assert_eq!(deletes, 1, "no delete request for a capture in progress");
}

#[test]
fn prune_by_age_and_metadata() {
    let client = api_client();
    let api = client.platform();
    let ids_made = add_snapshots(api, 4);
    let other = api.add_snapshot(500.0, "dbx_a", json!({ "ci": "false" }));
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("ci".to_owned(), MetadataFilter::Equals("true".to_owned()));
    let by_age = PruneOptions {
        created_before_ms: Some(2_500.0),
        filter: SnapshotListParams {
            metadata: Some(metadata),
            ..SnapshotListParams::default()
        },
        ..PruneOptions::default()
    };

    let report = run(api, helpers::prune(&client, &by_age)).unwrap();

    assert_eq!(ids(&report.deleted), [&ids_made[1], &ids_made[0]]);
    assert_eq!(ids(&report.kept), [&ids_made[3], &ids_made[2]]);
    assert!(
        !api.snapshot(&other).deleted,
        "another metadata value is not considered"
    );
}

#[test]
fn prune_requires_keep_or_age() {
    let client = api_client();
    let api = client.platform();
    add_snapshots(api, 1);

    let result = run(api, helpers::prune(&client, &prune_options(None)));

    assert!(matches!(result, Err(Error::InvalidArgument(message)) if message.contains("keep: 0")));
    assert!(api.requests.borrow().is_empty());
}

#[test]
fn prune_records_a_failed_delete_and_goes_on() {
    let client = api_client();
    let api = client.platform();
    let ids_made = add_snapshots(api, 3);
    api.inject("POST", &format!("{}/delete", ids_made[1]), 500);

    let report = run(api, helpers::prune(&client, &prune_options(Some(0)))).unwrap();

    assert_eq!(ids(&report.deleted), [&ids_made[2], &ids_made[0]]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0.id, ids_made[1]);
    assert_eq!(report.failed[0].1.status(), Some(500));
}

#[test]
fn prune_reports_progress() {
    let client = api_client();
    let api = client.platform();
    add_snapshots(api, 3);
    let (progress, events) = recorder(api);
    let reported = PruneOptions {
        progress: Some(progress),
        ..prune_options(Some(1))
    };

    run(api, helpers::prune(&client, &reported)).unwrap();

    let phases: Vec<(&str, Option<u64>)> = events
        .borrow()
        .iter()
        .map(|event| (event.phase, event.done))
        .collect();
    assert_eq!(
        phases,
        [
            ("listing", Some(2)),
            ("listing", Some(3)),
            ("checking", Some(0)),
            ("checking", Some(1)),
            ("checking", Some(2)),
            ("deleting", Some(0)),
            ("deleting", Some(1)),
            ("done", Some(2)),
        ]
    );
}

#[test]
fn with_devbox_returns_the_value_and_shuts_down() {
    let client = api_client();
    let api = client.platform();
    let params = DevboxCreateParams::default();
    let seen = RefCell::new(None);

    let value = run(
        api,
        helpers::with_devbox(&client, &params, &WaitOptions::default(), |id| {
            *seen.borrow_mut() = Some(id);
            async { Ok::<u32, String>(42) }
        }),
    )
    .unwrap();

    assert_eq!(value, 42);
    let id = seen.borrow().clone().unwrap();
    assert!(api.devbox(&id).ended_ms.is_some());
}

#[test]
fn with_devbox_shuts_down_after_a_failure() {
    let client = api_client();
    let api = client.platform();
    let params = DevboxCreateParams::default();

    let result = run(
        api,
        helpers::with_devbox(&client, &params, &WaitOptions::default(), |_| async {
            Err::<u32, String>("task failed".to_owned())
        }),
    );

    assert!(matches!(result, Err(TaskFailure::Task(error)) if error == "task failed"));
    assert!(api.alive().is_empty());
}

#[test]
fn with_devbox_that_never_runs_is_shut_down() {
    let client = api_client();
    let api = client.platform();
    let params = DevboxCreateParams::default();
    let bounded = WaitOptions {
        timeout_ms: Some(100),
        ..WaitOptions::default()
    };

    let result = run(
        api,
        helpers::with_devbox(&client, &params, &bounded, |_| async {
            Ok::<u32, String>(1)
        }),
    );

    assert!(
        matches!(result, Err(TaskFailure::Sdk(Error::PollingTimeout(_)))),
        "{result:?}"
    );
    assert_eq!(api.devboxes.borrow().len(), 1);
    assert!(api.alive().is_empty());
}

#[test]
fn shutdown_quietly_accepts_an_ended_devbox() {
    let client = api_client();
    let api = client.platform();
    let id = api.add_devbox();
    api.devboxes.borrow_mut()[0].ended_ms = Some(1.0);
    api.inject("POST", "/shutdown", 400);

    run(api, helpers::shutdown_quietly(&client, &id)).unwrap();
    run(api, helpers::shutdown_quietly(&client, "dbx_missing")).unwrap();

    assert_eq!(
        api.count(&format!("GET /v1/devboxes/{id}")),
        1,
        "the status decides"
    );
}

#[test]
fn discard_snapshot_waits_for_a_capture_in_progress() {
    let client = api_client();
    let api = client.platform();
    let id = api.add_snapshot(api.now(), "dbx_a", json!({}));
    api.snapshots.borrow_mut()[0].complete_at_ms = Some(api.now() + 2_000.0);

    run(api, helpers::discard_snapshot(&client, &id)).unwrap();

    assert!(api.snapshot(&id).deleted);
    assert_eq!(
        api.count(&format!("POST /v1/devboxes/disk_snapshots/{id}/delete")),
        2
    );
    run(api, helpers::discard_snapshot(&client, &id)).unwrap();
}

#[test]
fn create_reports_creating_then_each_status() {
    let client = api_client();
    let api = client.platform();
    let (progress, events) = recorder(api);
    let options = WaitOptions {
        progress: Some(progress),
        ..WaitOptions::default()
    };

    run(
        api,
        client
            .devboxes()
            .create_and_await_running(&DevboxCreateParams::default(), &options),
    )
    .unwrap();

    let events = events.borrow();
    let phases: Vec<(&str, Option<&str>)> = events
        .iter()
        .map(|event| (event.phase, event.status.as_deref()))
        .collect();
    assert_eq!(phases, [("creating", None), ("waiting", Some("running"))]);
}

#[test]
fn snapshot_disk_reports_starting_then_each_status() {
    let client = api_client();
    let api = client.platform();
    let devbox = api.add_devbox();
    let (progress, events) = recorder(api);
    let options = WaitOptions {
        progress: Some(progress),
        ..WaitOptions::default()
    };

    run(
        api,
        client.snapshots().snapshot_disk_and_await_completed(
            &devbox,
            &Default::default(),
            &options,
        ),
    )
    .unwrap();

    let events = events.borrow();
    assert_eq!(events[0].phase, "starting");
    assert_eq!(events[0].id.as_deref(), Some(devbox.as_str()));
    let statuses: Vec<&str> = events[1..]
        .iter()
        .map(|event| event.status.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(statuses.last(), Some(&"complete"));
    assert!(statuses[..statuses.len() - 1]
        .iter()
        .all(|status| *status == "in_progress"));
    assert!(events
        .windows(2)
        .all(|pair| pair[0].elapsed_ms <= pair[1].elapsed_ms));
}
