//! Checkpoint and rollback: snapshot a devbox, run a task on it, and on failure continue on
//! a new devbox restored from the snapshot.
//!
//! Progress phases: `snapshotting` (then `waiting` events of the capture), `running` (the
//! task starts), `restoring` (after a failure, then `waiting` events of the new devbox),
//! `shutdown` (the failed devbox), `done`.

use std::future::Future;

use runloop_types::DevboxCreateParams;

use super::cleanup::{discard_snapshot, shutdown_quietly};
use super::fan_out::{snapshot_left_behind, take_snapshot};
use super::limits::Limits;
use super::TaskFailure;
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::progress::{report, Progress, ProgressEvent};
use crate::wait::WaitOptions;

/// Settings of a checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointOptions<S> {
    /// Keeps the checkpoint snapshot afterwards; by default it is deleted once the task
    /// succeeded or the devbox was restored from it.
    pub keep_checkpoint: bool,
    /// Time allowed for the task, in milliseconds. A task still running when it runs out
    /// counts as failed, so the devbox is rolled back.
    pub timeout_ms: Option<u64>,
    /// Aborts the snapshot or the task. An aborted checkpoint rolls nothing back, leaves
    /// the devbox as it is, deletes the checkpoint unless it is kept, and fails with
    /// [`Error::Aborted`]. A restore that has started runs to its end, so that no devbox is
    /// left half-created.
    pub signal: Option<S>,
    /// Receives the checkpoint's progress events.
    pub progress: Option<Progress>,
}

/// Outcome of a checkpoint.
#[derive(Debug)]
pub struct CheckpointOutcome<T, E> {
    /// The task's value or its failure.
    pub result: Result<T, TaskFailure<E>>,
    /// The devbox to go on with: the original one after a success, the restored one after
    /// a failure.
    pub devbox_id: String,
    /// The devbox the task failed on, now shut down; `None` after a success.
    pub failed_devbox_id: Option<String>,
    /// The checkpoint snapshot; `None` when it was deleted.
    pub checkpoint_id: Option<String>,
}

/// Snapshots the devbox `devbox_id`, runs `run()` on it, and when the task fails or times
/// out, creates a devbox from the snapshot (with the failed devbox's name and metadata) and
/// shuts the failed one down.
///
/// Fails when the snapshot cannot be taken, on an abort, when the restore fails (the
/// checkpoint is then kept and the failed devbox left running, and the error names both),
/// and when a cleanup leaves something behind ([`Error::CleanupFailed`]).
pub async fn checkpoint<P, T, E, Run, Fut>(
    client: &Client<P>,
    devbox_id: &str,
    options: &CheckpointOptions<P::Signal>,
    run: Run,
) -> Result<CheckpointOutcome<T, E>>
where
    P: Platform,
    Run: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let platform = client.platform();
    let progress = options.progress.as_ref();
    let unbounded = Limits::start(platform, None, options.signal.clone());

    report(
        progress,
        platform.now_ms(),
        ProgressEvent::new("snapshotting").id(devbox_id),
    );
    let checkpoint_id =
        take_snapshot(client, devbox_id, &unbounded, options.progress.clone()).await?;

    report(
        progress,
        platform.now_ms(),
        ProgressEvent::new("running").id(devbox_id),
    );
    let limits = Limits::start(platform, options.timeout_ms, options.signal.clone());
    let result = match limits.race(platform, run()).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(TaskFailure::Task(error)),
        Err(stop) => Err(TaskFailure::Sdk(
            limits.stop_error(stop, "the checkpoint's task"),
        )),
    };

    let aborted = matches!(result, Err(TaskFailure::Sdk(Error::Aborted)));
    let (devbox_id, failed_devbox_id, result) = match result {
        Ok(value) => (devbox_id.to_owned(), None, Ok(value)),
        Err(_) if aborted => {
            return Err(finish(client, &checkpoint_id, options, Error::Aborted).await);
        }
        Err(failure) => {
            let restored = restore(client, devbox_id, &checkpoint_id, options).await?;
            (restored, Some(devbox_id.to_owned()), Err(failure))
        }
    };

    let checkpoint_id = if options.keep_checkpoint {
        Some(checkpoint_id)
    } else {
        discard_snapshot(client, &checkpoint_id)
            .await
            .map_err(|error| snapshot_left_behind(&checkpoint_id, error))?;
        None
    };
    report(
        progress,
        platform.now_ms(),
        ProgressEvent::new("done").id(&devbox_id),
    );
    Ok(CheckpointOutcome {
        result,
        devbox_id,
        failed_devbox_id,
        checkpoint_id,
    })
}

/// Deletes the checkpoint unless it is kept, and returns `error`, or the cleanup's error
/// when the deletion failed.
async fn finish<P: Platform>(
    client: &Client<P>,
    checkpoint_id: &str,
    options: &CheckpointOptions<P::Signal>,
    error: Error,
) -> Error {
    if options.keep_checkpoint {
        return error;
    }
    match discard_snapshot(client, checkpoint_id).await {
        Ok(()) => error,
        Err(cleanup) => snapshot_left_behind(checkpoint_id, cleanup),
    }
}

/// Creates a devbox from the checkpoint, then shuts the failed devbox down. Returns the new
/// devbox's id.
async fn restore<P: Platform>(
    client: &Client<P>,
    failed_id: &str,
    checkpoint_id: &str,
    options: &CheckpointOptions<P::Signal>,
) -> Result<String> {
    let platform = client.platform();
    let progress = options.progress.as_ref();
    report(
        progress,
        platform.now_ms(),
        ProgressEvent::new("restoring").id(checkpoint_id),
    );

    let mut params = DevboxCreateParams {
        snapshot_id: Some(checkpoint_id.to_owned()),
        ..DevboxCreateParams::default()
    };
    if let Ok(failed) = client
        .devboxes()
        .retrieve(failed_id, &RequestOptions::default())
        .await
    {
        params.name = failed.name;
        params.metadata = Some(failed.metadata).filter(|metadata| !metadata.is_empty());
    }
    let wait = WaitOptions {
        progress: options.progress.clone(),
        ..WaitOptions::default()
    };
    let restored = client
        .devboxes()
        .create_and_await_running(&params, &wait)
        .await
        .map_err(|error| Error::CleanupFailed {
            message: format!(
                "The checkpoint's task failed on devbox {failed_id}, and restoring a devbox from \
                 checkpoint {checkpoint_id} failed; both are left as they are, so restore by \
                 hand with runloop.devbox.createFromSnapshot('{checkpoint_id}')"
            ),
            cause: Box::new(error),
        })?;

    report(
        progress,
        platform.now_ms(),
        ProgressEvent::new("shutdown").id(failed_id),
    );
    if let Err(error) = shutdown_quietly(client, failed_id).await {
        return Err(Error::CleanupFailed {
            message: format!(
                "The checkpoint restored devbox {} but could not shut down the failed devbox \
                 {failed_id}; shut it down with runloop.devbox.fromId('{failed_id}').shutdown()",
                restored.id
            ),
            cause: Box::new(error),
        });
    }
    Ok(restored.id)
}
