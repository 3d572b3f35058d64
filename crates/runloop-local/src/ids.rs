//! Random resource ids such as `dbx_3k9…`, `snp_…` and `exe_…`.

use anyhow::Context;

/// Prefix of devbox ids.
pub const DEVBOX_PREFIX: &str = "dbx";
/// Prefix of disk snapshot ids.
pub const SNAPSHOT_PREFIX: &str = "snp";
/// Prefix of execution ids.
pub const EXECUTION_PREFIX: &str = "exe";

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Returns `<prefix>_` followed by 128 random bits in lowercase base 36 (25 characters).
///
/// Fails only when the operating system's random source fails.
pub fn new_id(prefix: &str) -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).context("failed to read random bytes for a new id")?;

    let mut value = u128::from_le_bytes(bytes);
    let mut digits = [b'0'; 25];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(value % 36) as usize];
        value /= 36;
    }

    let suffix: String = digits.iter().map(|&b| char::from(b)).collect();
    Ok(format!("{prefix}_{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_id_has_prefix_and_fixed_length() {
        let id = new_id(DEVBOX_PREFIX).expect("random source works");
        assert!(id.starts_with("dbx_"));
        assert_eq!(id.len(), 4 + 25);
    }

    #[test]
    fn new_id_is_unique() {
        let first = new_id(SNAPSHOT_PREFIX).expect("random source works");
        let second = new_id(SNAPSHOT_PREFIX).expect("random source works");
        assert_ne!(first, second);
    }
}
