//! Starting commands inside a devbox and signalling them.
//!
//! A command is started as `sh` (joins the freezer group) → `nsenter` → `bash -c SCRIPT`.
//! The `sh` wrapper execs `nsenter` in place, so the server's child process is `nsenter`.
//! `nsenter --pid` forks once more, because entering a PID namespace only applies to
//! children, and waits for that child, `bash`. It exits with bash's exit code or, when bash
//! dies of a signal, kills itself with the same signal. The child leads its own process
//! group, which `nsenter`, `bash` and everything bash starts in the background share,
//! because non-interactive bash does no job control.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Stdio;

use rustix::process::{Pid, Signal};
use tokio::process::{Child, Command};

use super::{Sandbox, HOME_DIR};

/// Wrapper run by `sh -c` on the host. It moves the shell into the cgroup named by `$0`
/// and opens `$1` (when not empty) for writing as descriptor 9. It makes the text `$2`
/// (when not empty) readable on descriptor 8 through a here-document, then execs the
/// remaining arguments. The here-document's end marker is matched before `$2` is expanded, so no
/// text in `$2` can end it early. dash, the usual `/bin/sh`, accepts only single-digit
/// descriptors.
const ENTER_DEVBOX: &str = r#"echo $$ > "$0/cgroup.procs" || exit 1
if [ -n "$1" ]; then exec 9>"$1" || exit 1; fi
if [ -n "$2" ]; then exec 8<<RUNLOOP_STARTUP
$2
RUNLOOP_STARTUP
fi
shift 2
exec "$@""#;

/// How to start a command in a devbox.
#[derive(Debug)]
pub struct CommandSpec<'a> {
    /// Script that `bash -c` runs.
    pub script: &'a OsStr,
    /// The command's whole environment.
    pub environment: &'a [(OsString, OsString)],
    /// Pipes stdin when true; otherwise stdin is `/dev/null`.
    pub attach_stdin: bool,
    /// Host file that the command receives, opened for writing, as descriptor 9. The
    /// devbox cannot see the file itself, only the descriptor.
    pub state_file: Option<&'a Path>,
}

/// Signal that the API can send to a running command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandSignal {
    /// SIGKILL to the command's shell only; processes it started keep running.
    KillShell,
    /// SIGKILL to the command's process group and to every process descended from it.
    KillAll,
    /// SIGINT to every process in the command's process group but `nsenter`, as Ctrl-C on
    /// a terminal sends it to the foreground group.
    Interrupt,
}

impl Sandbox {
    /// Starts `bash -c spec.script` in the devbox, in `/home/user`, with exactly
    /// `spec.environment`, and stdout and stderr piped.
    ///
    /// The process joins the devbox's freezer group before it execs and leads its own
    /// process group, whose id is the returned child's pid.
    pub fn spawn_command(&self, spec: &CommandSpec<'_>) -> std::io::Result<Child> {
        self.spawn(spec, None)
    }

    /// Starts a command as [`Self::spawn_command`] does, but bash first runs `startup` in
    /// the same shell, before it parses the command. `startup` reaches bash through
    /// `BASH_ENV=/dev/fd/8`; it should close descriptor 8 and unset `BASH_ENV`, so that
    /// the shells the command starts do not run it again.
    pub fn spawn_command_with_startup(
        &self,
        spec: &CommandSpec<'_>,
        startup: &OsStr,
    ) -> std::io::Result<Child> {
        self.spawn(spec, Some(startup))
    }

    fn spawn(&self, spec: &CommandSpec<'_>, startup: Option<&OsStr>) -> std::io::Result<Child> {
        let state_file = spec.state_file.map(Path::as_os_str).unwrap_or_default();
        let startup_file = startup.map(|_| ("BASH_ENV", "/dev/fd/8"));
        let stdin = if spec.attach_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        Command::new(&self.tools.sh)
            .arg("-c")
            .arg(ENTER_DEVBOX)
            .arg(self.cgroup.path())
            .arg(state_file)
            .arg(startup.unwrap_or_default())
            .arg(&self.tools.nsenter)
            .arg("--target")
            .arg(self.init_pid.to_string())
            .args(["--mount", "--pid", "--root"])
            .arg(format!("--wdns={HOME_DIR}"))
            .args(["--", "/bin/bash", "-c"])
            .arg(spec.script)
            .env_clear()
            .envs(spec.environment.iter().map(|(name, value)| (name, value)))
            .envs(startup_file)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
    }

    /// Host directory of the devbox's server-side files. The devbox cannot see it, and
    /// teardown deletes it.
    pub fn server_dir(&self) -> &Path {
        &self.dir
    }

    /// Sends `signal` to the command whose child (the `nsenter` process, also the process
    /// group id) has host pid `launcher`. Processes that already exited are skipped.
    ///
    /// `KillAll` reaches a process that left the group (with `setsid`, say) only while it
    /// still descends from the command. So a process that left the group and whose parent
    /// has exited survives.
    pub fn signal_command(&self, launcher: u32, signal: CommandSignal) -> anyhow::Result<()> {
        let launcher = i32::try_from(launcher)?;
        let processes = self.processes()?;

        match signal {
            CommandSignal::KillShell => {
                let shells: Vec<i32> = processes
                    .iter()
                    .filter(|process| process.parent == launcher)
                    .map(|process| process.pid)
                    .collect();
                // Before nsenter has forked, killing nsenter keeps the shell from starting.
                if shells.is_empty() {
                    send(launcher, Signal::KILL);
                }
                for shell in shells {
                    send(shell, Signal::KILL);
                }
            }
            CommandSignal::KillAll => {
                let descendants = descendants_of(launcher, &processes);
                if let Some(group) = Pid::from_raw(launcher) {
                    match rustix::process::kill_process_group(group, Signal::KILL) {
                        Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                        Err(error) => tracing::warn!(
                            devbox_id = %self.devbox_id,
                            process_group = launcher,
                            %error,
                            "failed to kill a command's process group"
                        ),
                    }
                }
                for pid in descendants {
                    send(pid, Signal::KILL);
                }
            }
            CommandSignal::Interrupt => {
                let group = processes
                    .iter()
                    .filter(|process| process.group == launcher && process.pid != launcher);
                for process in group {
                    send(process.pid, Signal::INT);
                }
            }
        }
        Ok(())
    }

    /// Lists the devbox's processes with their parent and process group.
    fn processes(&self) -> anyhow::Result<Vec<ProcessInfo>> {
        Ok(self
            .cgroup
            .pids()?
            .into_iter()
            .filter_map(ProcessInfo::read)
            .collect())
    }
}

/// A process's host pid, parent pid and process group id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcessInfo {
    pid: i32,
    parent: i32,
    group: i32,
}

impl ProcessInfo {
    /// Reads `/proc/<pid>/stat`; `None` once the process has exited.
    fn read(pid: i32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Self::parse(pid, &stat)
    }

    /// Parses a `stat` line: `pid (comm) state ppid pgrp …`. The command name may contain
    /// spaces and parentheses, so the fields are counted from the last `)`.
    fn parse(pid: i32, stat: &str) -> Option<Self> {
        let (_, fields) = stat.rsplit_once(')')?;
        let mut fields = fields.split_whitespace().skip(1);
        let parent = fields.next()?.parse().ok()?;
        let group = fields.next()?.parse().ok()?;
        Some(Self { pid, parent, group })
    }
}

/// Returns every process below `root` in the parent tree, excluding `root`.
fn descendants_of(root: i32, processes: &[ProcessInfo]) -> Vec<i32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for process in processes.iter().filter(|process| process.parent == parent) {
            if process.pid != root && !found.contains(&process.pid) {
                found.push(process.pid);
                frontier.push(process.pid);
            }
        }
    }
    found
}

/// Sends `signal` to `pid`; a process that already exited is not an error.
fn send(pid: i32, signal: Signal) {
    let Some(target) = Pid::from_raw(pid) else {
        return;
    };
    match rustix::process::kill_process(target, signal) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => {}
        Err(error) => tracing::warn!(pid, %error, "failed to signal a devbox process"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_odd_command_name_parses() {
        let stat = "4242 (my (odd) cmd) S 17 4242 4242 0 -1 4194560 100";
        let info = ProcessInfo::parse(4242, stat).expect("valid stat line");
        assert_eq!(info.parent, 17);
        assert_eq!(info.group, 4242);
    }

    #[test]
    fn descendants_include_grandchildren_only_below_root() {
        let processes = [
            ProcessInfo {
                pid: 10,
                parent: 1,
                group: 10,
            },
            ProcessInfo {
                pid: 11,
                parent: 10,
                group: 10,
            },
            ProcessInfo {
                pid: 12,
                parent: 11,
                group: 12,
            },
            ProcessInfo {
                pid: 13,
                parent: 1,
                group: 10,
            },
        ];
        let mut found = descendants_of(10, &processes);
        found.sort_unstable();
        assert_eq!(found, vec![11, 12]);
    }
}
