//! Named shells: a working directory and environment that carry over between the commands
//! sent with the same `shell_name` in one devbox.
//!
//! Every command still runs in a fresh `bash -c`, with the command text unchanged. Before
//! bash parses it, a startup script (bash's `BASH_ENV`) restores the shell's directory and
//! sets an EXIT trap that writes the new directory and exported variables to a server-side
//! file. The server passes the saved exported variables as the process environment and
//! reads the new state after the command exits. Commands of one shell run one at a time,
//! in the order they arrived; a command waiting for the one before it is `queued`.
//!
//! What carries over: the working directory, `OLDPWD` and exported variables, including
//! unset ones. What does not: shell variables that are not exported, functions, aliases,
//! options and traps. A command that ends without running the EXIT trap (killed, or ended
//! by `exec`), or that replaces the trap, leaves the state as it was.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::{Arc, Mutex, MutexGuard};

use runloop_types::ExecutionStatus;

use super::execution::Execution;

/// Start of every named-shell startup script. It closes the descriptor the script is read
/// from and unsets `BASH_ENV`, so shells the command starts do not run it again. It moves
/// the state descriptor from 9, where the launcher opens it, to 62, away from the
/// descriptors scripts commonly use. Then it sets the trap that writes the state there as
/// NUL-separated fields: the directory, then `NAME=value` for each exported variable that
/// has a value. The trap discards its errors, so a command that closed descriptor 62 only
/// loses its state.
const STATE_TRAP: &str = r#"exec 8<&- 62>&9 9>&-
unset BASH_ENV
trap '{ builtin printf "%s\0" "$PWD"
while IFS= builtin read -r __runloop_name; do
[[ -v $__runloop_name ]] && builtin printf "%s=%s\0" "$__runloop_name" "${!__runloop_name}"
done < <(builtin compgen -e); } 2>/dev/null >&62' EXIT
"#;

/// Variables that bash sets for itself and that must not carry over: `SHLVL` would grow
/// by one per command, and `PWD` and `_` describe the old process.
const NOT_CARRIED: [&[u8]; 3] = [b"SHLVL", b"PWD", b"_"];

/// State of one named shell after its last command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellState {
    /// Working directory (`$PWD`), as bytes because paths need not be UTF-8.
    pub directory: Vec<u8>,
    /// Exported variables other than `PWD`, `SHLVL` and `_`.
    pub environment: Vec<(OsString, OsString)>,
}

/// The named shells of one devbox.
#[derive(Debug, Default)]
pub struct ShellTable {
    shells: Mutex<HashMap<String, Shell>>,
}

#[derive(Debug, Default)]
struct Shell {
    state: Option<ShellState>,
    /// The shell's newest execution, which the next command waits for.
    last: Option<Arc<Execution>>,
}

impl ShellTable {
    /// Appends `execution` to shell `name` and returns the execution it must wait for,
    /// or `None` when the shell is idle.
    pub fn enqueue(&self, name: &str, execution: Arc<Execution>) -> Option<Arc<Execution>> {
        let mut shells = self.lock();
        let shell = shells.entry(name.to_owned()).or_default();
        shell
            .last
            .replace(execution)
            .filter(|previous| previous.status() != ExecutionStatus::Completed)
    }

    /// Returns the state that shell `name`'s last command left, if any.
    pub fn state(&self, name: &str) -> Option<ShellState> {
        self.lock().get(name).and_then(|shell| shell.state.clone())
    }

    /// Records the state that a command of shell `name` left.
    pub fn save(&self, name: &str, state: ShellState) {
        self.lock().entry(name.to_owned()).or_default().state = Some(state);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Shell>> {
        // The map holds only values that no panic can leave half-updated.
        self.shells
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Builds the startup script of a named-shell command: the state trap, then a `cd` back to
/// the saved directory and a reset of `OLDPWD`, which that `cd` overwrote. When the saved
/// directory is gone, bash prints its error on stderr and the command starts in the home
/// directory. A saved `BASH_ENV` of the user's is exported again but not run.
pub fn shell_startup(state: Option<&ShellState>) -> OsString {
    let mut script = STATE_TRAP.as_bytes().to_vec();
    let Some(state) = state else {
        return OsString::from_vec(script);
    };

    script.extend_from_slice(b"builtin cd -- ");
    script.extend_from_slice(&single_quoted(&state.directory));
    script.extend_from_slice(b" || builtin cd\n");

    let saved = |wanted: &[u8]| {
        state
            .environment
            .iter()
            .find(|(name, _)| name.as_bytes() == wanted)
            .map(|(_, value)| value.as_bytes())
    };
    match saved(b"OLDPWD") {
        Some(directory) => {
            script.extend_from_slice(b"OLDPWD=");
            script.extend_from_slice(&single_quoted(directory));
            script.push(b'\n');
        }
        None => script.extend_from_slice(b"unset OLDPWD\n"),
    }
    if let Some(file) = saved(b"BASH_ENV") {
        script.extend_from_slice(b"export BASH_ENV=");
        script.extend_from_slice(&single_quoted(file));
        script.push(b'\n');
    }
    OsString::from_vec(script)
}

/// Parses the state that the startup script's trap wrote. Returns `None` when the trap did not
/// run (the file is empty) or the content is not in its format.
pub fn parse_state(bytes: &[u8]) -> Option<ShellState> {
    let mut fields = bytes.split(|&byte| byte == 0);
    let directory = fields.next().filter(|field| !field.is_empty())?.to_vec();
    if bytes.last() != Some(&0) {
        return None;
    }

    let mut environment = Vec::new();
    for field in fields.filter(|field| !field.is_empty()) {
        let equals = field.iter().position(|&byte| byte == b'=')?;
        let (name, value) = (&field[..equals], &field[equals + 1..]);
        if name.is_empty() || NOT_CARRIED.contains(&name) {
            continue;
        }
        environment.push((
            OsString::from_vec(name.to_vec()),
            OsString::from_vec(value.to_vec()),
        ));
    }
    Some(ShellState {
        directory,
        environment,
    })
}

/// Quotes bytes for bash inside single quotes, writing each `'` as `'\''`.
fn single_quoted(bytes: &[u8]) -> Vec<u8> {
    let mut quoted = Vec::with_capacity(bytes.len() + 2);
    quoted.push(b'\'');
    for &byte in bytes {
        if byte == b'\'' {
            quoted.extend_from_slice(b"'\\''");
        } else {
            quoted.push(byte);
        }
    }
    quoted.push(b'\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_parses_directory_and_variables() {
        let state =
            parse_state(b"/tmp\0A=1\0B=x=y\nz\0SHLVL=2\0_=/usr/bin/env\0").expect("valid state");
        assert_eq!(state.directory, b"/tmp");
        assert_eq!(
            state.environment,
            vec![
                (OsString::from("A"), OsString::from("1")),
                (OsString::from("B"), OsString::from("x=y\nz")),
            ]
        );
    }

    #[test]
    fn empty_or_cut_state_is_rejected() {
        assert_eq!(parse_state(b""), None);
        assert_eq!(parse_state(b"/tmp\0A=1"), None);
        assert_eq!(parse_state(b"/tmp\0NOEQUALS\0"), None);
    }

    #[test]
    fn quoting_escapes_single_quotes() {
        assert_eq!(single_quoted(b"it's"), b"'it'\\''s'".to_vec());
    }

    #[test]
    fn startup_restores_directory_and_oldpwd() {
        let state = ShellState {
            directory: b"/tmp/a b".to_vec(),
            environment: vec![(OsString::from("OLDPWD"), OsString::from("/it's"))],
        };
        let startup = shell_startup(Some(&state));
        let text = startup.to_string_lossy();
        assert!(text.starts_with(STATE_TRAP), "{text}");
        assert!(
            text.ends_with("builtin cd -- '/tmp/a b' || builtin cd\nOLDPWD='/it'\\''s'\n"),
            "{text}"
        );
    }

    #[test]
    fn startup_of_new_shell_only_sets_trap() {
        assert_eq!(shell_startup(None), OsString::from(STATE_TRAP));
    }
}
