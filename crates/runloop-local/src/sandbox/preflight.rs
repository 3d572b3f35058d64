//! Checks that the host can run devboxes, and finds the programs the engine runs.

use std::path::{Path, PathBuf};

use super::mounts::read_mountinfo;

/// `PATH` used for every program the engine starts and for commands inside a devbox.
pub const SANE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Absolute paths of the host programs the engine runs.
#[derive(Debug, Clone)]
pub struct Tools {
    /// POSIX shell for the small wrapper scripts.
    pub sh: PathBuf,
    /// util-linux `unshare`, which creates a devbox's mount and PID namespaces.
    pub unshare: PathBuf,
    /// util-linux `nsenter`, which runs a command inside a devbox.
    pub nsenter: PathBuf,
    /// util-linux `mount`.
    pub mount: PathBuf,
    /// GNU `cp`, which copies a devbox's changes into a snapshot layer.
    pub cp: PathBuf,
}

/// Host support the engine needs.
#[derive(Debug, Clone)]
pub struct HostSupport {
    /// Programs the engine runs.
    pub tools: Tools,
    /// Mount point of the cgroup v1 freezer hierarchy.
    pub freezer_mount: PathBuf,
}

/// Programs that must exist on the host root file system because the devbox init script
/// and commands run them. The engine itself does not call them directly.
const INIT_PROGRAMS: &[&str] = &["bash", "umount", "pivot_root", "mkdir", "ln", "sleep"];

/// Checks every requirement and returns one error that lists each one that is missing.
pub fn check_host() -> anyhow::Result<HostSupport> {
    let mut problems = Vec::new();

    if !cfg!(target_os = "linux") {
        problems
            .push("runloop-local runs devboxes with Linux namespaces; run it on Linux".to_owned());
    }
    if !rustix::process::geteuid().is_root() {
        problems.push(
            "it must run as root because it mounts overlay file systems and creates \
             namespaces; start it with sudo or as root"
                .to_owned(),
        );
    }

    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|line| line.split_whitespace().last() == Some("overlay"))
    {
        problems.push(
            "the kernel has no overlay file system; load it with `modprobe overlay`".to_owned(),
        );
    }

    for namespace in ["mnt", "pid"] {
        if !Path::new("/proc/self/ns").join(namespace).exists() {
            problems.push(format!(
                "the kernel has no {namespace} namespaces (/proc/self/ns/{namespace} is missing)"
            ));
        }
    }

    let freezer_mount = find_freezer_mount();
    if freezer_mount.is_none() {
        problems.push(
            "the cgroup v1 freezer controller is not mounted; mount it with \
             `mkdir -p /sys/fs/cgroup/freezer && mount -t cgroup -o freezer freezer /sys/fs/cgroup/freezer`"
                .to_owned(),
        );
    }

    let mut find = |name: &str| {
        let found = find_program(name);
        if found.is_none() {
            problems.push(format!(
                "the program `{name}` is not on PATH; install util-linux, coreutils and bash"
            ));
        }
        found.unwrap_or_default()
    };
    let tools = Tools {
        sh: find("sh"),
        unshare: find("unshare"),
        nsenter: find("nsenter"),
        mount: find("mount"),
        cp: find("cp"),
    };
    for name in INIT_PROGRAMS {
        find(name);
    }

    match freezer_mount {
        Some(freezer_mount) if problems.is_empty() => Ok(HostSupport {
            tools,
            freezer_mount,
        }),
        _ => anyhow::bail!(
            "this host cannot run devboxes:\n  - {}",
            problems.join("\n  - ")
        ),
    }
}

fn find_freezer_mount() -> Option<PathBuf> {
    read_mountinfo()
        .ok()?
        .into_iter()
        .find(|entry| {
            entry.fs_type == "cgroup"
                && entry
                    .super_options
                    .split(',')
                    .any(|option| option == "freezer")
        })
        .map(|entry| entry.mount_point)
}

/// Finds `name` in the server's `PATH`, then in [`SANE_PATH`].
fn find_program(name: &str) -> Option<PathBuf> {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&inherited)
        .chain(std::env::split_paths(SANE_PATH))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;

    std::fs::metadata(path)
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
