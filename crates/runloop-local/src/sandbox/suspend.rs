//! Suspending and resuming a devbox with its freezer group.
//!
//! A suspended devbox keeps its processes, memory and file system; its processes are
//! frozen and get no CPU time until it resumes. While the devbox is suspended,
//! [`Sandbox::thaw`] does nothing, so a snapshot capture, which freezes and thaws around
//! its copy, cannot wake it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Sandbox;

impl Sandbox {
    /// Freezes every process of the devbox until [`Sandbox::resume`], waiting at most
    /// `timeout` for the freeze to finish. On failure the devbox keeps running.
    pub async fn suspend(&self, timeout: Duration) -> anyhow::Result<()> {
        self.suspended.store(true, Ordering::SeqCst);
        let frozen = self.cgroup.freeze(timeout).await;
        if frozen.is_err() {
            self.suspended.store(false, Ordering::SeqCst);
        }
        frozen
    }

    /// Thaws the processes of a suspended devbox.
    pub fn resume(&self) -> anyhow::Result<()> {
        self.suspended.store(false, Ordering::SeqCst);
        self.cgroup.thaw()
    }
}
