//! Helpers beyond the official SDK, built on the resources and waits: fan-out to many
//! devboxes, checkpoint and rollback, snapshot retention, and scoped devboxes.
//!
//! Each helper removes what it created (devboxes shut down, snapshots deleted) on every
//! path: success, failure of the caller's task, timeout and abort. A cleanup that fails
//! makes the helper fail with [`Error::CleanupFailed`], which names what was left behind.

pub mod checkpoint;
pub mod cleanup;
pub mod fan_out;
pub mod limits;
pub mod prune;
pub mod scoped;

use crate::error::Error;

pub use checkpoint::{checkpoint, CheckpointOptions, CheckpointOutcome};
pub use cleanup::{discard_snapshot, shutdown_quietly};
pub use fan_out::{fan_out, fork, FanOutOptions, FanOutOutcome, KeepDevboxes};
pub use prune::{prune, PruneOptions, PruneReport, SkippedSnapshot};
pub use scoped::with_devbox;

/// Why a caller's task produced no value.
#[derive(Debug)]
pub enum TaskFailure<E> {
    /// The SDK failed before or around the task: creating or awaiting its devbox, a timeout
    /// or an abort.
    Sdk(Error),
    /// The task itself failed with this error.
    Task(E),
}
