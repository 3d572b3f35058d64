//! The cgroup of one execution: a child of the devbox's freezer group that contains the
//! command and every process it starts.
//!
//! A process inherits its parent's cgroup, and no process inside a devbox can move itself
//! to another one, because `/sys` is read-only there and no cgroup file system is mounted.
//! So the group still contains a process that left the command's process group with
//! `setsid` and whose parent exited. Freezing the devbox's group freezes this one too, so
//! suspends and snapshot captures stop the command as before.

use std::io;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;

use super::cgroup::{self, FreezerCgroup};
use super::Sandbox;

/// Time a kill waits for the group to freeze before it signals the processes anyway.
const FREEZE_WAIT: Duration = Duration::from_secs(1);

/// Rounds of freeze, SIGKILL and thaw that a kill tries while the group does not freeze.
const KILL_ROUNDS: usize = 5;

/// Time a kill waits for the killed processes to exit.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Interval between reads of `cgroup.procs` while a kill waits for the processes to exit.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// First and longest interval between attempts to remove a group that still has processes.
const FIRST_CLEANUP_INTERVAL: Duration = Duration::from_millis(50);
const MAX_CLEANUP_INTERVAL: Duration = Duration::from_secs(5);

/// The cgroup of one command, from [`Sandbox::create_command_group`].
#[derive(Debug)]
pub struct CommandGroup {
    cgroup: FreezerCgroup,
}

impl Sandbox {
    /// Creates the cgroup `name` for one command inside the devbox's freezer group. Pass
    /// it as [`super::CommandSpec::group`], and call [`CommandGroup::remove_when_empty`]
    /// once the command has completed. The devbox's teardown removes any group left.
    pub fn create_command_group(&self, name: &str) -> anyhow::Result<CommandGroup> {
        Ok(CommandGroup {
            cgroup: self.cgroup.create_child(name)?,
        })
    }
}

impl CommandGroup {
    /// Directory of the group; a process joins it by writing its pid to `cgroup.procs`.
    pub(super) fn path(&self) -> &Path {
        self.cgroup.path()
    }

    /// Returns the pids of the processes in the group.
    pub(super) fn pids(&self) -> anyhow::Result<Vec<i32>> {
        self.cgroup.pids()
    }

    /// Kills every process in the group with SIGKILL and waits up to 2 s for them to exit.
    ///
    /// Each round freezes the group, signals every process in it and thaws it. A frozen
    /// process cannot fork, so the first round whose freeze completes reaches every
    /// process. While the whole devbox is frozen (suspended, or during a snapshot
    /// capture), the processes exit only once it thaws, so this returns without waiting.
    pub async fn kill_all(&self) -> anyhow::Result<()> {
        match self.kill_and_wait().await {
            // The execution removes the group once the last process has exited, which can
            // happen while this waits.
            Err(_) if !self.path().exists() => Ok(()),
            killed => killed,
        }
    }

    async fn kill_and_wait(&self) -> anyhow::Result<()> {
        for _ in 0..KILL_ROUNDS {
            if self.cgroup.pids()?.is_empty() {
                return Ok(());
            }

            let frozen = self.cgroup.freeze(FREEZE_WAIT).await;
            for pid in self.cgroup.pids()? {
                cgroup::kill(pid);
            }
            self.cgroup.thaw()?;

            match frozen {
                Ok(()) => break,
                Err(error) => tracing::debug!(
                    cgroup = %self.path().display(),
                    error = %format!("{error:#}"),
                    "signalled a command's processes without a complete freeze"
                ),
            }
        }

        if self.cgroup.parent_freezing()? {
            return Ok(());
        }
        let deadline = Instant::now() + EXIT_WAIT;
        loop {
            let pids = self.cgroup.pids()?;
            if pids.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "processes {pids:?} of {} are still alive {EXIT_WAIT:?} after SIGKILL",
                    self.path().display()
                );
            }
            tokio::time::sleep(EXIT_POLL).await;
        }
    }

    /// Returns whether a process in the group other than `launcher` has the pipe with
    /// inode `pipe_inode` open, on any descriptor. Returns `None` while the launcher is the
    /// only live process: the command has not started yet, or it has exited.
    pub fn pipe_has_reader(&self, pipe_inode: u64, launcher: u32) -> anyhow::Result<Option<bool>> {
        let launcher = i32::try_from(launcher).context("the launcher pid is out of range")?;
        let target = format!("pipe:[{pipe_inode}]");

        let mut others = false;
        for pid in self.cgroup.pids()? {
            if pid == launcher {
                continue;
            }
            // A process that exited since the pid list was read has no descriptors left.
            let Ok(descriptors) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            others = true;
            for descriptor in descriptors.flatten() {
                let opened = std::fs::read_link(descriptor.path());
                if opened.is_ok_and(|link| link.as_os_str() == target.as_str()) {
                    return Ok(Some(true));
                }
            }
        }
        Ok(others.then_some(false))
    }

    /// Removes the group once its last process has exited, trying again at growing
    /// intervals of up to 5 s. Returns when the group is gone, also when the devbox's
    /// teardown removed it first.
    pub async fn remove_when_empty(&self) {
        let mut interval = FIRST_CLEANUP_INTERVAL;
        loop {
            match std::fs::remove_dir(self.path()) {
                Ok(()) => return,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return,
                Err(error)
                    if error.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error()) => {}
                Err(error) => {
                    tracing::warn!(
                        cgroup = %self.path().display(),
                        %error,
                        "failed to remove the cgroup of a completed command; the devbox's \
                         teardown removes it"
                    );
                    return;
                }
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(MAX_CLEANUP_INTERVAL);
        }
    }
}
