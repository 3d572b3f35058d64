//! Fan-out: one task on each of `count` devboxes created from one snapshot, at most
//! `concurrency` at a time, and fork, which first snapshots a live devbox.
//!
//! Progress phases: `snapshotting` (fork only, then `waiting` events of the capture),
//! `creating`, `waiting` (each status of the new devbox), `running` (the task starts),
//! `settled` (with `status` `fulfilled` or `rejected`, and `done`/`total` tasks), `shutdown`
//! (a devbox is being shut down) and `done`. Events of a task carry its `index`.

use std::cell::Cell;
use std::future::Future;

use futures_util::stream::{self, StreamExt};
use runloop_types::{DevboxCreateParams, SnapshotDiskParams};

use super::cleanup::{cleanup_error, discard_snapshot, shutdown_quietly};
use super::limits::{Limits, Stop};
use super::TaskFailure;
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::progress::{report, Progress, ProgressEvent};
use crate::wait::Waiter;

/// How to shut down devboxes and remove them by hand, for cleanup errors.
const DEVBOX_REMEDY: &str = "runloop.devbox.fromId(id).shutdown()";

/// Settings of a fan-out.
#[derive(Debug, Clone)]
pub struct FanOutOptions<S> {
    /// Tasks in progress at most at once, each from the creation of its devbox until its
    /// devbox is shut down (or, when devboxes may be kept, until the task settles). At
    /// least 1.
    pub concurrency: usize,
    /// Time allowed for the whole fan-out in milliseconds. Tasks still running when it runs
    /// out settle as rejected with a timeout, and tasks not yet started are not started.
    pub timeout_ms: Option<u64>,
    /// Aborts the fan-out: no new task starts, running ones are abandoned, every devbox is
    /// shut down and the fan-out fails with [`Error::Aborted`].
    pub signal: Option<S>,
    /// Receives the fan-out's progress events.
    pub progress: Option<Progress>,
}

/// Choice of the devboxes that outlive the fan-out. Only devboxes on which the task ran can
/// be kept, so a devbox that failed to start is always shut down.
pub enum KeepDevboxes<D> {
    /// Shut each devbox down as soon as its task settles.
    None,
    /// Keep every devbox on which the task ran.
    All,
    /// Once every task has settled, keep the devboxes for which the function returns true.
    /// It gets every outcome, in index order, and returns one decision per outcome.
    Decide(D),
}

/// Outcome of one fan-out task.
#[derive(Debug)]
pub struct FanOutOutcome<T, E> {
    /// The task's index, from 0.
    pub index: usize,
    /// The devbox created for the task; `None` when it was never created.
    pub devbox_id: Option<String>,
    /// The task's value or why there is none.
    pub result: Result<T, TaskFailure<E>>,
    /// Whether the devbox was kept running.
    pub kept: bool,
}

/// Cleanup state of one task, beside its outcome.
#[derive(Debug, Default)]
struct Cleanup {
    /// Whether the task ran on its devbox, which makes the devbox eligible for keeping.
    ran: bool,
    /// Whether the devbox has been shut down (or its shutdown attempted).
    shut_down: bool,
    /// A failed shutdown, with the devbox id.
    failure: Option<(String, Error)>,
}

/// Creates `count` devboxes with `params` (which name the snapshot), runs `run(index,
/// devbox_id)` on each, and returns one outcome per index, in index order.
///
/// Fails only when the fan-out as a whole fails: invalid options, an abort, a `Decide`
/// function that fails, or a cleanup that leaves devboxes behind ([`Error::CleanupFailed`]).
/// The failure of a single task is its outcome.
pub async fn fan_out<P, T, E, Run, Fut, Decide>(
    client: &Client<P>,
    params: &DevboxCreateParams,
    count: usize,
    options: &FanOutOptions<P::Signal>,
    run: Run,
    keep: KeepDevboxes<Decide>,
) -> Result<Vec<FanOutOutcome<T, E>>>
where
    P: Platform,
    Run: Fn(usize, String) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    Decide: FnOnce(&[FanOutOutcome<T, E>]) -> Result<Vec<bool>>,
{
    let limits = Limits::start(
        client.platform(),
        options.timeout_ms,
        options.signal.clone(),
    );
    let fan_out = FanOut::new(client, params, count, options, limits)?;
    fan_out.run(run, keep).await
}

/// Snapshots the devbox `devbox_id`, fans out from that snapshot like [`fan_out`], and
/// deletes the snapshot afterwards unless `keep_snapshot` is set. `options.timeout_ms`
/// covers the snapshot too.
#[allow(clippy::too_many_arguments)]
pub async fn fork<P, T, E, Run, Fut, Decide>(
    client: &Client<P>,
    devbox_id: &str,
    params: &DevboxCreateParams,
    count: usize,
    options: &FanOutOptions<P::Signal>,
    keep_snapshot: bool,
    run: Run,
    keep: KeepDevboxes<Decide>,
) -> Result<Vec<FanOutOutcome<T, E>>>
where
    P: Platform,
    Run: Fn(usize, String) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    Decide: FnOnce(&[FanOutOutcome<T, E>]) -> Result<Vec<bool>>,
{
    check_concurrency(options.concurrency)?;
    let limits = Limits::start(
        client.platform(),
        options.timeout_ms,
        options.signal.clone(),
    );
    let progress = options.progress.as_ref();
    report(
        progress,
        client.platform().now_ms(),
        ProgressEvent::new("snapshotting").id(devbox_id),
    );
    let snapshot_id = take_snapshot(client, devbox_id, &limits, options.progress.clone()).await?;

    let mut params = params.clone();
    params.snapshot_id = Some(snapshot_id.clone());
    let outcomes = match FanOut::new(client, &params, count, options, limits) {
        Ok(fan_out) => fan_out.run(run, keep).await,
        Err(error) => Err(error),
    };
    if keep_snapshot {
        return outcomes;
    }
    match discard_snapshot(client, &snapshot_id).await {
        Ok(()) => outcomes,
        Err(error) => Err(snapshot_left_behind(&snapshot_id, error)),
    }
}

/// Starts a snapshot of `devbox_id` and waits within `limits` until it is complete.
/// Returns its id; on failure the snapshot is deleted.
pub(crate) async fn take_snapshot<P: Platform>(
    client: &Client<P>,
    devbox_id: &str,
    limits: &Limits<P::Signal>,
    progress: Option<Progress>,
) -> Result<String> {
    if let Some(stop) = limits.check(client.platform()) {
        return Err(limits.stop_error(stop, "the snapshot"));
    }
    // The start is not abortable, so that an abort cannot leave a snapshot whose id was
    // never seen.
    let started = client
        .snapshots()
        .snapshot_disk_async(
            devbox_id,
            &SnapshotDiskParams::default(),
            &RequestOptions::default(),
        )
        .await?;

    let wait = limits.wait_options(client.platform(), progress);
    let Err(error) = client.snapshots().await_completed(&started.id, &wait).await else {
        return Ok(started.id);
    };
    match discard_snapshot(client, &started.id).await {
        Ok(()) => Err(error),
        Err(cleanup) => Err(snapshot_left_behind(&started.id, cleanup)),
    }
}

/// The error of a snapshot the helper could not delete.
pub(crate) fn snapshot_left_behind(snapshot_id: &str, error: Error) -> Error {
    Error::CleanupFailed {
        message: format!(
            "The helper could not delete snapshot {snapshot_id}; delete it with \
             runloop.snapshot.fromId('{snapshot_id}').delete()"
        ),
        cause: Box::new(error),
    }
}

/// Fails unless at least one task may run at a time.
fn check_concurrency(concurrency: usize) -> Result<()> {
    if concurrency == 0 {
        return Err(Error::InvalidArgument(
            "Invalid options.concurrency: expected a whole number of at least 1".to_owned(),
        ));
    }
    Ok(())
}

/// One fan-out in progress.
struct FanOut<'a, P: Platform> {
    client: &'a Client<P>,
    params: &'a DevboxCreateParams,
    count: usize,
    concurrency: usize,
    limits: Limits<P::Signal>,
    progress: Option<Progress>,
    settled: Cell<usize>,
}

impl<'a, P: Platform> FanOut<'a, P> {
    fn new(
        client: &'a Client<P>,
        params: &'a DevboxCreateParams,
        count: usize,
        options: &FanOutOptions<P::Signal>,
        limits: Limits<P::Signal>,
    ) -> Result<Self> {
        check_concurrency(options.concurrency)?;
        Ok(Self {
            client,
            params,
            count,
            concurrency: options.concurrency,
            limits,
            progress: options.progress.clone(),
            settled: Cell::new(0),
        })
    }

    fn report(&self, progress: Option<&Progress>, event: ProgressEvent) {
        let progress = progress.or(self.progress.as_ref());
        report(progress, self.client.platform().now_ms(), event);
    }

    /// Runs every task, then keeps or shuts down their devboxes.
    async fn run<T, E, Run, Fut, Decide>(
        &self,
        run: Run,
        keep: KeepDevboxes<Decide>,
    ) -> Result<Vec<FanOutOutcome<T, E>>>
    where
        Run: Fn(usize, String) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        Decide: FnOnce(&[FanOutOutcome<T, E>]) -> Result<Vec<bool>>,
    {
        let shut_down_each = matches!(keep, KeepDevboxes::None);
        let mut tasks: Vec<(FanOutOutcome<T, E>, Cleanup)> = stream::iter(0..self.count)
            .map(|index| self.task(index, &run, shut_down_each))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        tasks.sort_by_key(|(outcome, _)| outcome.index);
        let (mut outcomes, mut cleanups): (Vec<_>, Vec<_>) = tasks.into_iter().unzip();

        let aborted = outcomes
            .iter()
            .any(|outcome| matches!(outcome.result, Err(TaskFailure::Sdk(Error::Aborted))));
        let decisions = if aborted {
            Err(Error::Aborted)
        } else {
            match keep {
                KeepDevboxes::None => Ok(vec![false; outcomes.len()]),
                KeepDevboxes::All => Ok(vec![true; outcomes.len()]),
                KeepDevboxes::Decide(decide) => decide(&outcomes),
            }
        };
        let keep_flags = decisions.as_deref().unwrap_or(&[]);

        self.shut_down_unkept(&mut outcomes, &mut cleanups, keep_flags)
            .await;
        let failures: Vec<(String, Error)> = cleanups
            .into_iter()
            .filter_map(|cleanup| cleanup.failure)
            .collect();
        if let Some(error) = cleanup_error("The fan-out", failures, "devboxes", DEVBOX_REMEDY) {
            return Err(error);
        }
        decisions?;

        self.report(
            None,
            ProgressEvent::new("done").count(self.count as u64, Some(self.count as u64)),
        );
        Ok(outcomes)
    }

    /// Creates one devbox, runs the task on it and, when `shut_down_each` is set or the
    /// devbox never ran the task, shuts it down.
    async fn task<T, E, Run, Fut>(
        &self,
        index: usize,
        run: &Run,
        shut_down_each: bool,
    ) -> (FanOutOutcome<T, E>, Cleanup)
    where
        Run: Fn(usize, String) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let progress = self
            .progress
            .as_ref()
            .map(|progress| progress.for_index(index));
        let mut cleanup = Cleanup::default();
        let (devbox_id, result) = self
            .start_and_run(index, run, progress.clone(), &mut cleanup)
            .await;

        let done = self.settled.get() + 1;
        self.settled.set(done);
        let status = if result.is_ok() {
            "fulfilled"
        } else {
            "rejected"
        };
        let mut event = ProgressEvent::new("settled")
            .status(status)
            .count(done as u64, Some(self.count as u64));
        event.id = devbox_id.clone();
        self.report(progress.as_ref(), event);

        if let Some(id) = &devbox_id {
            if shut_down_each || !cleanup.ran {
                self.shut_down(id, progress.as_ref(), &mut cleanup).await;
            }
        }
        let outcome = FanOutOutcome {
            index,
            devbox_id,
            result,
            kept: false,
        };
        (outcome, cleanup)
    }

    /// Creates and awaits the devbox of task `index`, then runs the task on it. Returns the
    /// devbox id (once known) and the task's result.
    async fn start_and_run<T, E, Run, Fut>(
        &self,
        index: usize,
        run: &Run,
        progress: Option<Progress>,
        cleanup: &mut Cleanup,
    ) -> (Option<String>, Result<T, TaskFailure<E>>)
    where
        Run: Fn(usize, String) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let platform = self.client.platform();
        if let Some(stop) = self.limits.check(platform) {
            return (None, Err(self.stopped(stop, index)));
        }

        // The create request is not abortable, so that an abort cannot leave a devbox whose
        // id was never seen; the wait for `running` is.
        self.report(progress.as_ref(), ProgressEvent::new("creating"));
        let created = match self
            .client
            .devboxes()
            .create(self.params, &RequestOptions::default())
            .await
        {
            Ok(created) => created,
            Err(error) => return (None, Err(TaskFailure::Sdk(error))),
        };
        let id = created.id.clone();

        let wait = self.limits.wait_options(platform, progress.clone());
        let mut waiter = Waiter::start(self.client, &wait);
        if let Err(error) = waiter.devbox_running(&id, Some(created)).await {
            let error = match self.limits.check(platform) {
                Some(stop) => self.stopped(stop, index),
                None => TaskFailure::Sdk(error),
            };
            return (Some(id), Err(error));
        }

        self.report(progress.as_ref(), ProgressEvent::new("running").id(&id));
        cleanup.ran = true;
        let result = match self.limits.race(platform, run(index, id.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(TaskFailure::Task(error)),
            Err(stop) => Err(self.stopped(stop, index)),
        };
        (Some(id), result)
    }

    fn stopped<E>(&self, stop: Stop, index: usize) -> TaskFailure<E> {
        let what = format!("fan-out task {index}");
        TaskFailure::Sdk(self.limits.stop_error(stop, &what))
    }

    async fn shut_down(&self, id: &str, progress: Option<&Progress>, cleanup: &mut Cleanup) {
        self.report(progress, ProgressEvent::new("shutdown").id(id));
        cleanup.shut_down = true;
        if let Err(error) = shutdown_quietly(self.client, id).await {
            cleanup.failure = Some((id.to_owned(), error));
        }
    }

    /// Marks the kept devboxes and shuts down every other one still running, up to
    /// `concurrency` at once. A missing decision counts as "shut down".
    async fn shut_down_unkept<T, E>(
        &self,
        outcomes: &mut [FanOutOutcome<T, E>],
        cleanups: &mut [Cleanup],
        keep_flags: &[bool],
    ) {
        let mut pending = Vec::new();
        for (position, (outcome, cleanup)) in outcomes.iter_mut().zip(cleanups.iter()).enumerate() {
            let Some(id) = &outcome.devbox_id else {
                continue;
            };
            if cleanup.shut_down {
                continue;
            }
            if cleanup.ran && keep_flags.get(position).copied().unwrap_or(false) {
                outcome.kept = true;
                continue;
            }
            pending.push((position, id.clone()));
        }

        let finished: Vec<(usize, Cleanup)> = stream::iter(pending)
            .map(|(position, id)| async move {
                let progress = self.progress.as_ref().map(|p| p.for_index(position));
                let mut cleanup = Cleanup::default();
                self.shut_down(&id, progress.as_ref(), &mut cleanup).await;
                (position, cleanup)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        for (position, done) in finished {
            cleanups[position].shut_down = true;
            cleanups[position].failure = done.failure;
        }
    }
}
