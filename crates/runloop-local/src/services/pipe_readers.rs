//! The tasks that read a command's stdout and stderr pipes, after the command's shell has
//! exited.

use std::time::Duration;

use tokio::task::JoinHandle;

/// Time the readers get to reach the end of their pipes after the command's shell exited.
/// A background process that inherited the pipes can keep them open forever, so a command
/// completes when its shell exits and not when its pipes close.
pub const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);

/// Waits up to [`DRAIN_AFTER_EXIT`] for every reader to reach the end of its pipe, and
/// leaves the readers that are still running. Such a reader belongs to a pipe that a
/// background process kept open, such as a daemon the command started. It must go on
/// reading until that process closes the pipe, because a closed pipe would kill the
/// process with SIGPIPE at its next write.
pub async fn wait_for_readers(readers: &mut [JoinHandle<()>]) {
    let drain = tokio::time::sleep(DRAIN_AFTER_EXIT);
    tokio::pin!(drain);
    for reader in readers {
        tokio::select! {
            _ = &mut *reader => {}
            () = &mut drain => return,
        }
    }
}
