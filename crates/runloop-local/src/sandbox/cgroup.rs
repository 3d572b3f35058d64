//! cgroup v1 freezer groups: one per devbox, under one parent group per data dir, and one
//! per execution inside its devbox's group.
//!
//! The freezer stops every process of a devbox at once, which makes a snapshot see a
//! consistent file system, and it lets a teardown kill processes that fork while being
//! killed. The v1 freezer is hierarchical: freezing a devbox's group freezes the groups
//! of its executions too, and the group reads `FROZEN` only once they are frozen.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rustix::process::{Pid, Signal};
use tokio::time::Instant;

/// Interval between reads of `freezer.state` and `cgroup.procs` while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Parent group that contains the devbox groups of one data dir.
#[derive(Debug, Clone)]
pub struct FreezerHierarchy {
    instance: PathBuf,
}

impl FreezerHierarchy {
    /// Names the parent group `runloop-local-<hash of data_dir>` under the freezer mount, so
    /// two servers with different data dirs never touch each other's groups, and a restart
    /// on the same data dir finds the groups of the previous run.
    pub fn new(freezer_mount: &Path, data_dir: &Path) -> Self {
        let key = fnv1a64(data_dir.as_os_str().as_encoded_bytes());
        Self {
            instance: freezer_mount.join(format!("runloop-local-{key:016x}")),
        }
    }

    /// Creates the parent group if it is missing.
    pub fn ensure(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.instance).with_context(|| {
            format!(
                "failed to create the freezer cgroup {}",
                self.instance.display()
            )
        })
    }

    /// Creates the group `name` for one devbox.
    pub fn create(&self, name: &str) -> anyhow::Result<FreezerCgroup> {
        let path = self.instance.join(name);
        std::fs::create_dir(&path)
            .with_context(|| format!("failed to create the freezer cgroup {}", path.display()))?;
        Ok(FreezerCgroup { path })
    }

    /// Kills the processes of every devbox group left by a previous run and removes the
    /// groups.
    pub async fn remove_stale(&self) -> anyhow::Result<()> {
        let entries = match std::fs::read_dir(&self.instance) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => {
                return Err(error).with_context(|| {
                    format!(
                        "failed to list the freezer cgroup {}",
                        self.instance.display()
                    )
                });
            }
        };

        for entry in entries {
            let entry = entry.context("failed to read a freezer cgroup entry")?;
            if !entry.file_type().map(|kind| kind.is_dir()).unwrap_or(false) {
                continue;
            }
            let group = FreezerCgroup { path: entry.path() };
            tracing::info!(cgroup = %group.path.display(), "removing a stale devbox cgroup");
            group.kill_all(Duration::from_secs(10)).await?;
            group.remove().await?;
        }
        Ok(())
    }

    /// Removes the parent group; it must have no devbox groups left.
    pub async fn remove(&self) -> anyhow::Result<()> {
        FreezerCgroup {
            path: self.instance.clone(),
        }
        .remove()
        .await
    }
}

/// The freezer group of one devbox.
#[derive(Debug)]
pub struct FreezerCgroup {
    path: PathBuf,
}

impl FreezerCgroup {
    /// Directory of the group; a process joins it by writing its pid to `cgroup.procs`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the child group `name`, which freezes whenever this group does.
    pub fn create_child(&self, name: &str) -> anyhow::Result<FreezerCgroup> {
        let path = self.path.join(name);
        std::fs::create_dir(&path)
            .with_context(|| format!("failed to create the freezer cgroup {}", path.display()))?;
        Ok(FreezerCgroup { path })
    }

    /// Returns the pids of the processes in the group and in its child groups. A group
    /// removed while it is read counts as empty.
    pub fn pids(&self) -> anyhow::Result<Vec<i32>> {
        let mut pids = Vec::new();
        let mut groups = vec![self.path.clone()];
        while let Some(group) = groups.pop() {
            let file = group.join("cgroup.procs");
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(error) if error.kind() == io::ErrorKind::NotFound && group != self.path => {
                    continue;
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("failed to read {}", file.display()))
                }
            };
            pids.extend(
                text.lines()
                    .filter_map(|line| line.trim().parse::<i32>().ok()),
            );
            groups.extend(child_groups(&group)?);
        }
        Ok(pids)
    }

    /// Returns whether a parent group is frozen or freezing, which keeps this group frozen
    /// whatever its own state.
    pub fn parent_freezing(&self) -> anyhow::Result<bool> {
        let file = self.path.join("freezer.parent_freezing");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("failed to read {}", file.display()))?;
        Ok(text.trim() == "1")
    }

    /// Freezes every process of the group, waiting at most `timeout` for the freeze to
    /// finish. On timeout the group is thawed again and an error returned.
    pub async fn freeze(&self, timeout: Duration) -> anyhow::Result<()> {
        self.write_state("FROZEN")?;
        let deadline = Instant::now() + timeout;
        loop {
            if self.read_state()? == "FROZEN" {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let thawed = self.write_state("THAWED");
                if let Err(error) = thawed {
                    tracing::warn!(cgroup = %self.path.display(), error = %format!("{error:#}"), "failed to thaw after a freeze timeout");
                }
                anyhow::bail!(
                    "timed out after {timeout:?} freezing the processes of {}; a process may be \
                     stuck in uninterruptible I/O",
                    self.path.display()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Lets the processes of the group run again.
    pub fn thaw(&self) -> anyhow::Result<()> {
        self.write_state("THAWED")
    }

    /// Kills every process in the group with SIGKILL and waits until the group is empty.
    ///
    /// Each round freezes the group first so that no process can fork between the read of
    /// the pid list and the kill, then thaws it so the killed processes can exit.
    pub async fn kill_all(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let pids = self.pids()?;
            if pids.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "processes {pids:?} of {} are still alive {timeout:?} after SIGKILL",
                    self.path.display()
                );
            }

            let frozen = self.freeze(Duration::from_secs(1)).await;
            if let Err(error) = frozen {
                tracing::debug!(error = %format!("{error:#}"), "killing without a complete freeze");
            }
            for pid in self.pids()? {
                kill(pid);
            }
            self.thaw()?;

            let settle = Instant::now() + Duration::from_millis(200);
            while Instant::now() < settle && !self.pids()?.is_empty() {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }

    /// Removes the group and its child groups, retrying briefly while the kernel still
    /// counts exiting processes. A group that is already gone is not an error.
    pub async fn remove(&self) -> anyhow::Result<()> {
        for child in child_groups(&self.path)? {
            Box::pin(FreezerCgroup { path: child }.remove()).await?;
        }

        let mut attempts = 0;
        loop {
            match std::fs::remove_dir(&self.path) {
                Ok(()) => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(error) if error.raw_os_error() == Some(libc_ebusy()) && attempts < 100 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(error) => {
                    return Err(error).with_context(|| {
                        format!(
                            "failed to remove the freezer cgroup {}",
                            self.path.display()
                        )
                    });
                }
            }
        }
    }

    fn read_state(&self) -> anyhow::Result<String> {
        let file = self.path.join("freezer.state");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("failed to read {}", file.display()))?;
        Ok(text.trim().to_owned())
    }

    fn write_state(&self, state: &str) -> anyhow::Result<()> {
        let file = self.path.join("freezer.state");
        std::fs::write(&file, state)
            .with_context(|| format!("failed to write {state} to {}", file.display()))
    }
}

/// Returns the child groups of the group at `path`; a group that is gone has none.
fn child_groups(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("failed to list the freezer cgroup {}", path.display()))
        }
    };

    let mut children = Vec::new();
    for entry in entries {
        let entry = entry
            .with_context(|| format!("failed to list the freezer cgroup {}", path.display()))?;
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            children.push(entry.path());
        }
    }
    Ok(children)
}

/// Sends SIGKILL to `pid`; a process that already exited is not an error.
pub(super) fn kill(pid: i32) {
    let Some(pid) = Pid::from_raw(pid) else {
        return;
    };
    match rustix::process::kill_process(pid, Signal::KILL) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => {}
        Err(error) => {
            tracing::warn!(pid = pid.as_raw_nonzero().get(), %error, "failed to kill a devbox process")
        }
    }
}

fn libc_ebusy() -> i32 {
    rustix::io::Errno::BUSY.raw_os_error()
}

/// 64-bit FNV-1a hash: stable across builds and Rust versions, unlike `DefaultHasher`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy_name_depends_on_data_dir() {
        let mount = Path::new("/sys/fs/cgroup/freezer");
        let first = FreezerHierarchy::new(mount, Path::new("/var/lib/a"));
        let again = FreezerHierarchy::new(mount, Path::new("/var/lib/a"));
        let other = FreezerHierarchy::new(mount, Path::new("/var/lib/b"));
        assert_eq!(first.instance, again.instance);
        assert_ne!(first.instance, other.instance);
    }

    #[test]
    fn fnv1a64_matches_reference_value() {
        // Expected 64-bit FNV-1a hash of the string "a".
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
