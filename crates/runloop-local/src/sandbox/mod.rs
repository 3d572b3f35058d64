//! Sandbox engine: starts a devbox on a stack of layers, runs commands in it, freezes and
//! thaws it, and tears it down. This is the only module that touches namespaces, mounts
//! and cgroups.
//!
//! # Mechanism
//!
//! - **Base.** At startup the engine mounts one read-only overlay of the host's root file
//!   system (`layers/base`, lower layers `/` and an empty tmpfs). Only the root file system
//!   shows through, not its submounts. Snapshot layers cannot be stacked on `/` directly:
//!   they live below `/` on the same file system, and overlayfs rejects a lower layer
//!   inside another one ("overlapping lowerdir path"). The base overlay is a separate
//!   superblock, so layers can sit on top of it.
//! - **Root.** Each devbox gets `devboxes/<id>/{upper,work,root}` and an overlay at `root`
//!   with `lowerdir=<layer N>:…:<layer 1>:base`, given relative to the layers dir so deep
//!   chains fit the one-page limit on mount options. Writes land only in `upper`.
//! - **Namespaces.** util-linux `unshare` creates a mount and PID namespace and runs
//!   [`init_script::INIT_SCRIPT`] as PID 1, which mounts `/proc`, `/sys` (read-only) and a
//!   private `/dev`, hides the server's data dir under a tmpfs, and `pivot_root`s into the
//!   overlay. Commands enter with `nsenter` and run as `bash -c` in `/home/user`.
//! - **Freezer.** The launcher and every command join the devbox's cgroup v1 freezer
//!   group before they exec, and each command runs in its own process group. An execution
//!   gets a child group of its own, which a kill with `kill_process_group` empties.
//!   Teardown freezes the group, kills every process with SIGKILL, thaws it, unmounts the
//!   root and removes the group with its child groups. Snapshots freeze the group, and
//!   with it the child groups, while they copy `upper`, and a suspend freezes it until the
//!   devbox resumes.
//!
//! The network, hostname, users and IPC are shared with the host, and commands run as
//! root. The engine isolates the file system and processes, not the machine.
//!
//! # Why not crun, runc or bubblewrap
//!
//! Each would need an OCI bundle or a long flag list per devbox while adding no isolation
//! this server uses. Each also hides the mounts and cgroups that snapshots depend on. A
//! capture must freeze exactly the devbox's processes and copy exactly its overlay upper
//! directory, and a restore must mount a chosen chain of layers. Calling overlayfs, the
//! freezer and util-linux directly keeps those steps in this module, with fewer programs
//! that can fail or differ between hosts.

mod capture;
mod cgroup;
mod command;
mod command_group;
mod init_script;
mod mounts;
mod preflight;
pub mod rootfs;
mod suspend;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::file_attrs::{copy_attributes, OVERLAY_XATTR_PREFIX};
use cgroup::{FreezerCgroup, FreezerHierarchy};
use preflight::HostSupport;

pub use capture::CaptureView;
pub use command::{CommandSignal, CommandSpec, RunningCommand};
pub use command_group::CommandGroup;
pub use mounts::remove_tree;
pub use preflight::SANE_PATH;

/// Home directory and working directory of commands inside a devbox.
pub const HOME_DIR: &str = "/home/user";

/// Name of the base overlay's mount point inside the layers dir.
const BASE_NAME: &str = "base";

/// Name of the read-only view of the layers dir inside the layers dir.
const LAYERS_VIEW_NAME: &str = "view";

/// Time a devbox's init script may take to report `ready`.
const INIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time a teardown waits for the devbox's processes to die after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// Wrapper run by `sh -c`: moves the shell into the cgroup named by `$0`, then execs the
/// remaining arguments, so the program starts inside the cgroup.
const JOIN_CGROUP_AND_EXEC: &str = r#"echo $$ > "$0/cgroup.procs" && exec "$@""#;

/// Locations of the engine's files inside the data dir.
#[derive(Debug, Clone)]
pub struct EnginePaths {
    /// The data dir, hidden inside every devbox.
    pub data_dir: PathBuf,
    /// Snapshot layers and the base mount; the working directory of overlay mounts.
    pub layers_dir: PathBuf,
    /// One directory per live devbox.
    pub devboxes_dir: PathBuf,
    /// Mount point of the empty tmpfs under the base overlay.
    pub empty_dir: PathBuf,
}

/// Starts and stops devboxes for one data dir.
pub struct SandboxEngine {
    paths: EnginePaths,
    host: HostSupport,
    cgroups: FreezerHierarchy,
}

impl SandboxEngine {
    /// Checks that the host supports devboxes; changes nothing.
    pub fn new(paths: EnginePaths) -> anyhow::Result<Self> {
        let host = preflight::check_host()?;
        let cgroups = FreezerHierarchy::new(&host.freezer_mount, &paths.data_dir);
        Ok(Self {
            paths,
            host,
            cgroups,
        })
    }

    /// Path of the `cp` program, which the layer store uses to copy layers.
    pub fn copy_program(&self) -> &Path {
        &self.host.tools.cp
    }

    /// Removes what a previous run on this data dir left behind: devbox processes and
    /// cgroups, every mount below the data dir, and the devbox directories.
    pub async fn clean_up_previous_run(&self) -> anyhow::Result<()> {
        self.cgroups.remove_stale().await?;

        for point in mounts::mounts_under(&self.paths.data_dir)? {
            if point != self.paths.data_dir {
                tracing::info!(mount_point = %point.display(), "unmounting a mount left by a previous run");
                mounts::unmount(&point).await?;
            }
        }

        remove_tree(&self.paths.devboxes_dir)?;
        std::fs::create_dir_all(&self.paths.devboxes_dir)
            .with_context(|| format!("failed to create {}", self.paths.devboxes_dir.display()))
    }

    /// Mounts the read-only base overlay of the host's root file system and creates the
    /// parent cgroup. Fails if overlayfs refuses the mount.
    pub async fn mount_base(&self) -> anyhow::Result<()> {
        let base = self.paths.layers_dir.join(BASE_NAME);
        for dir in [&self.paths.empty_dir, &base] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }

        mounts::mount_tmpfs(
            &self.host.tools.mount,
            &self.paths.empty_dir,
            "mode=0755,size=4k,ro",
        )
        .await?;
        let lower = format!("/:{}", self.paths.empty_dir.display());
        let mounted = mounts::mount_overlay(
            &self.host.tools.mount,
            &self.paths.layers_dir,
            &lower,
            None,
            &base,
        )
        .await;
        if let Err(error) = mounted {
            mounts::unmount(&self.paths.empty_dir).await?;
            return Err(error.context("overlayfs rejected the base layer over the host root"));
        }

        let view = self.layers_view();
        if let Err(error) = capture::mount_read_only_view(&self.paths.layers_dir, &view) {
            mounts::unmount(&base).await?;
            mounts::unmount(&self.paths.empty_dir).await?;
            return Err(error);
        }

        self.cgroups.ensure()
    }

    /// Path of a read-only `noatime` view of the layers dir, mounted by
    /// [`SandboxEngine::mount_base`]. Reading layers through it changes none of their
    /// access times, which keeps them as their snapshots recorded them.
    pub fn layers_view(&self) -> PathBuf {
        self.paths.layers_dir.join(LAYERS_VIEW_NAME)
    }

    /// Unmounts the base overlay and removes the parent cgroup. Every sandbox must have
    /// been stopped.
    pub async fn close(&self) -> anyhow::Result<()> {
        mounts::unmount(&self.layers_view()).await?;
        mounts::unmount(&self.paths.layers_dir.join(BASE_NAME)).await?;
        mounts::unmount(&self.paths.empty_dir).await?;
        self.cgroups.remove().await
    }

    /// Boots a devbox on `layer_names` (directory names in the layers dir, top first) over
    /// the base. On failure everything created so far is removed again.
    pub async fn start(&self, devbox_id: &str, layer_names: &[String]) -> anyhow::Result<Sandbox> {
        let dir = self.paths.devboxes_dir.join(devbox_id);
        let mut partial = Partial {
            dir: dir.clone(),
            root: dir.join("root"),
            mounted: false,
            cgroup: None,
        };

        match self.start_steps(devbox_id, layer_names, &mut partial).await {
            Ok((init_pid, launcher)) => {
                let cgroup = partial
                    .cgroup
                    .take()
                    .context("the devbox cgroup vanished during boot")?;
                Ok(Sandbox {
                    devbox_id: devbox_id.to_owned(),
                    dir,
                    root: partial.root.clone(),
                    upper: partial.dir.join("upper"),
                    cgroup,
                    init_pid,
                    launcher,
                    tools: self.host.tools.clone(),
                    suspended: AtomicBool::new(false),
                })
            }
            Err(error) => {
                if let Err(cleanup) = partial.undo().await {
                    tracing::error!(devbox_id, error = %format!("{cleanup:#}"), "failed to clean up after a failed boot");
                }
                Err(error)
            }
        }
    }

    async fn start_steps(
        &self,
        devbox_id: &str,
        layer_names: &[String],
        partial: &mut Partial,
    ) -> anyhow::Result<(i32, Child)> {
        let upper = partial.dir.join("upper");
        let work = partial.dir.join("work");
        for dir in [&partial.dir, &upper, &work, &partial.root] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }
        // The root directory of the merged view takes its attributes from the upper
        // directory, so a devbox booted from a snapshot gets those its source's root had.
        match layer_names.first() {
            Some(top) => copy_attributes(&self.paths.layers_dir.join(top), &upper, |name| {
                name.starts_with(OVERLAY_XATTR_PREFIX)
            })?,
            None => set_mode(&upper, 0o755)?,
        }

        let lower: Vec<&str> = layer_names
            .iter()
            .map(String::as_str)
            .chain([BASE_NAME])
            .collect();
        mounts::mount_overlay(
            &self.host.tools.mount,
            &self.paths.layers_dir,
            &lower.join(":"),
            Some((&upper, &work)),
            &partial.root,
        )
        .await?;
        partial.mounted = true;

        let cgroup = self.cgroups.create(devbox_id)?;
        let cgroup = partial.cgroup.insert(cgroup);
        self.launch(devbox_id, cgroup, &partial.root).await
    }

    /// Runs the init script in new namespaces inside `cgroup` and waits for its handshake.
    /// Returns the host pid of the devbox's PID 1 and the launcher process.
    async fn launch(
        &self,
        devbox_id: &str,
        cgroup: &FreezerCgroup,
        root: &Path,
    ) -> anyhow::Result<(i32, Child)> {
        let tools = &self.host.tools;
        let mut launcher = Command::new(&tools.sh)
            .arg("-c")
            .arg(JOIN_CGROUP_AND_EXEC)
            .arg(cgroup.path())
            .arg(&tools.unshare)
            .args([
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--propagation",
                "private",
            ])
            .arg("--")
            .arg(&tools.sh)
            .arg("-c")
            .arg(init_script::INIT_SCRIPT)
            .arg("devbox-init")
            .arg(root)
            .arg(&self.paths.data_dir)
            .env_clear()
            .env("PATH", SANE_PATH)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A separate process group keeps a Ctrl-C on the server's terminal away from
            // the devbox, so the server can shut it down in order.
            .process_group(0)
            .spawn()
            .with_context(|| format!("failed to run {}", tools.unshare.display()))?;

        let stdout = launcher
            .stdout
            .take()
            .context("launcher stdout is not piped")?;
        let stderr = launcher
            .stderr
            .take()
            .context("launcher stderr is not piped")?;
        let stderr_task = tokio::spawn(collect_stderr(stderr));

        let handshake = tokio::time::timeout(INIT_TIMEOUT, read_handshake(stdout)).await;
        let failure = match handshake {
            Ok(Ok(init_pid)) => match verify_namespace_init(init_pid) {
                Ok(()) => {
                    tokio::spawn(log_late_stderr(devbox_id.to_owned(), stderr_task));
                    return Ok((init_pid, launcher));
                }
                Err(error) => error,
            },
            Ok(Err(error)) => error,
            Err(_) => {
                anyhow::anyhow!("the devbox init script did not finish within {INIT_TIMEOUT:?}")
            }
        };

        cgroup.kill_all(KILL_TIMEOUT).await?;
        let _ = tokio::time::timeout(Duration::from_secs(5), launcher.wait()).await;
        let stderr = tokio::time::timeout(Duration::from_secs(1), stderr_task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Err(failure.context(format!(
            "failed to boot the devbox; init script output: {}",
            stderr.trim()
        )))
    }

    /// Kills every process of the devbox, unmounts its root and deletes its files.
    pub async fn stop(&self, mut sandbox: Sandbox) -> anyhow::Result<()> {
        let mut problems = Vec::new();

        if let Err(error) = sandbox.cgroup.kill_all(KILL_TIMEOUT).await {
            problems.push(format!("{error:#}"));
        }
        if tokio::time::timeout(Duration::from_secs(5), sandbox.launcher.wait())
            .await
            .is_err()
        {
            problems.push("the devbox launcher did not exit after SIGKILL".to_owned());
        }
        if let Err(error) = sandbox.cgroup.remove().await {
            problems.push(format!("{error:#}"));
        }

        match mounts::unmount(&sandbox.root).await {
            Ok(()) => {
                if let Err(error) = remove_tree(&sandbox.dir) {
                    problems.push(format!("{error:#}"));
                }
            }
            Err(error) => problems.push(format!("{error:#}")),
        }

        if problems.is_empty() {
            Ok(())
        } else {
            anyhow::bail!(
                "failed to stop devbox {} cleanly: {}",
                sandbox.devbox_id,
                problems.join("; ")
            )
        }
    }
}

/// A running devbox.
pub struct Sandbox {
    devbox_id: String,
    dir: PathBuf,
    root: PathBuf,
    upper: PathBuf,
    cgroup: FreezerCgroup,
    init_pid: i32,
    launcher: Child,
    tools: preflight::Tools,
    /// Set while the devbox is suspended; see [`Sandbox::suspend`].
    suspended: AtomicBool,
}

impl Sandbox {
    /// Path of the devbox's root as its own processes see it, for file I/O from the host.
    ///
    /// This is `/proc/<init pid>/root`, not the overlay's host mount point, because a lookup
    /// from it crosses the devbox's own mounts. So the tmpfs that hides the data dir, `/dev`
    /// and `/proc` look the same to the file API as to commands in the devbox.
    pub fn file_root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.init_pid))
    }

    /// Freezes every process of the devbox, waiting at most `timeout`.
    pub async fn freeze(&self, timeout: Duration) -> anyhow::Result<()> {
        self.cgroup.freeze(timeout).await
    }

    /// Lets the devbox's processes run again after [`Sandbox::freeze`]. Does nothing while
    /// the devbox is suspended, so a capture never wakes a suspended devbox.
    pub fn thaw(&self) -> anyhow::Result<()> {
        if self.suspended.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.cgroup.thaw()
    }
}

/// Resources a boot created so far, so a failed boot can remove them again.
struct Partial {
    dir: PathBuf,
    root: PathBuf,
    mounted: bool,
    cgroup: Option<FreezerCgroup>,
}

impl Partial {
    async fn undo(&mut self) -> anyhow::Result<()> {
        if let Some(cgroup) = self.cgroup.take() {
            cgroup.kill_all(KILL_TIMEOUT).await?;
            cgroup.remove().await?;
        }
        if self.mounted {
            mounts::unmount(&self.root).await?;
        }
        remove_tree(&self.dir)
    }
}

/// Reads `pid <n>` and then `ready` from the init script.
async fn read_handshake(stdout: ChildStdout) -> anyhow::Result<i32> {
    let mut lines = BufReader::new(stdout).lines();

    let first = lines
        .next_line()
        .await
        .context("failed to read the devbox init script output")?
        .context("the devbox init script exited before reporting its pid")?;
    let pid = first
        .strip_prefix("pid ")
        .and_then(|pid| pid.trim().parse::<i32>().ok())
        .with_context(|| format!("the devbox init script reported {first:?} instead of its pid"))?;

    let second = lines
        .next_line()
        .await
        .context("failed to read the devbox init script output")?
        .context("the devbox init script exited before it was ready")?;
    if second.trim() != "ready" {
        anyhow::bail!("the devbox init script reported {second:?} instead of ready");
    }
    Ok(pid)
}

/// Checks that host pid `pid` is PID 1 of its own PID namespace, so commands enter the
/// devbox and never the host.
fn verify_namespace_init(pid: i32) -> anyhow::Result<()> {
    let status_file = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&status_file)
        .with_context(|| format!("failed to read {status_file}"))?;
    let innermost = status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .and_then(|pids| pids.split_whitespace().last());
    if innermost != Some("1") {
        anyhow::bail!("process {pid} is not PID 1 of a new PID namespace");
    }
    Ok(())
}

/// Reads at most 64 KiB of the launcher's stderr until it closes.
async fn collect_stderr(stderr: impl AsyncRead + Unpin) -> String {
    let mut buffer = Vec::new();
    let _ = stderr.take(64 * 1024).read_to_end(&mut buffer).await;
    String::from_utf8_lossy(&buffer).into_owned()
}

/// Logs anything the launcher writes to stderr after the devbox booted.
async fn log_late_stderr(devbox_id: String, stderr_task: tokio::task::JoinHandle<String>) {
    if let Ok(text) = stderr_task.await {
        let text = text.trim();
        if !text.is_empty() {
            tracing::warn!(
                devbox_id,
                output = text,
                "the devbox launcher wrote to stderr"
            );
        }
    }
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("failed to set the mode of {}", path.display()))
}
