//! Starting commands inside a devbox and signalling them.
//!
//! A command is started as `sh` (joins a freezer group) → `nsenter` → `bash -c SCRIPT`.
//! The `sh` wrapper execs `nsenter` in place, so the server's child process is `nsenter`.
//! `nsenter --pid` forks once more, because entering a PID namespace only applies to
//! children, and waits for that child, `bash`. It exits with bash's exit code or, when bash
//! dies of a signal, kills itself with the same signal. The child leads its own process
//! group, which `nsenter`, `bash` and everything bash starts in the background share,
//! because non-interactive bash does no job control.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use rustix::process::{Pid, Signal};
use tokio::process::{Child, Command};

use super::command_group::CommandGroup;
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
#[derive(Debug, Clone, Copy)]
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
    /// Cgroup the command and everything it starts run in; `None` runs them in the
    /// devbox's own group.
    pub group: Option<&'a CommandGroup>,
}

/// A command started in its own cgroup, as signals reach it.
#[derive(Debug, Clone)]
pub struct RunningCommand {
    /// Host pid of the command's launcher (`nsenter`), which leads its process group.
    pub launcher: u32,
    /// The cgroup of the command and every process it starts.
    pub group: Arc<CommandGroup>,
}

/// Signal that the API can send to a running command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandSignal {
    /// SIGKILL to the command's shell only; processes it started keep running.
    KillShell,
    /// SIGKILL to every process in the command's cgroup: everything it started, also
    /// processes that left its process group and lost their parent.
    KillAll,
    /// SIGINT to every process in the command's process group but `nsenter`, as Ctrl-C on
    /// a terminal sends it to the foreground group.
    Interrupt,
}

impl Sandbox {
    /// Starts `bash -c spec.script` in the devbox, in `/home/user`, with exactly
    /// `spec.environment`, and stdout and stderr piped.
    ///
    /// The process joins `spec.group`, or else the devbox's freezer group, before it execs
    /// and leads its own process group, whose id is the returned child's pid.
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
        let cgroup = spec.group.map_or(self.cgroup.path(), CommandGroup::path);
        Command::new(&self.tools.sh)
            .arg("-c")
            .arg(ENTER_DEVBOX)
            .arg(cgroup)
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

    /// Sends `signal` to `command`. Processes that already exited are skipped. `KillAll`
    /// waits up to 2 s for the killed processes to exit, unless the devbox is frozen.
    pub async fn signal_command(
        &self,
        command: &RunningCommand,
        signal: CommandSignal,
    ) -> anyhow::Result<()> {
        let launcher = i32::try_from(command.launcher)?;
        match signal {
            CommandSignal::KillAll => {
                // Right after the spawn the launcher may not have joined the group yet.
                // Killed now, it never starts the command.
                send(launcher, Signal::KILL);
                return command.group.kill_all().await;
            }
            CommandSignal::KillShell => {
                let processes = processes(&command.group)?;
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
            CommandSignal::Interrupt => {
                let processes = processes(&command.group)?;
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
}

/// Lists the processes in `group` with their parent and process group.
fn processes(group: &CommandGroup) -> anyhow::Result<Vec<ProcessInfo>> {
    Ok(group
        .pids()?
        .into_iter()
        .filter_map(ProcessInfo::read)
        .collect())
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
}
