//! The environment of commands the server runs in a devbox.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::sandbox::{HOME_DIR, SANE_PATH};

/// Returns the whole environment of a command: a fixed base for root in `/home/user`,
/// overridden by the devbox's `environment_variables`.
pub fn devbox_environment(
    devbox_variables: &BTreeMap<String, String>,
) -> Vec<(OsString, OsString)> {
    let mut environment: BTreeMap<String, String> = [
        ("PATH", SANE_PATH),
        ("HOME", HOME_DIR),
        ("USER", "root"),
        ("LOGNAME", "root"),
        ("SHELL", "/bin/bash"),
        ("LANG", "C.UTF-8"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    environment.extend(devbox_variables.clone());
    environment
        .into_iter()
        .map(|(name, value)| (OsString::from(name), OsString::from(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devbox_variables_override_the_base() {
        let variables = BTreeMap::from([
            ("HOME".to_owned(), "/root".to_owned()),
            ("APP".to_owned(), "1".to_owned()),
        ]);
        let environment = devbox_environment(&variables);
        let value = |name: &str| {
            environment
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.to_string_lossy().into_owned())
        };
        assert_eq!(value("HOME").as_deref(), Some("/root"));
        assert_eq!(value("APP").as_deref(), Some("1"));
        assert_eq!(value("PATH").as_deref(), Some(SANE_PATH));
    }
}
