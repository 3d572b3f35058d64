//! Devbox log entries, at most [`MAX_LOG_ENTRIES`] per devbox.
//!
//! Each entry has a `position` that counts the entries of its devbox from 1, so trimming
//! the oldest entries is one indexed range delete.

use anyhow::Context;
use runloop_types::DevboxLogEntry;
use rusqlite::{params, Transaction};

use super::Store;

/// Maximum number of log entries kept per devbox. Appending to a full log deletes the
/// oldest entry.
pub const MAX_LOG_ENTRIES: i64 = 10_000;

impl Store {
    /// Appends `entry` to the log of devbox `devbox_id`.
    pub fn append_devbox_log(&self, devbox_id: &str, entry: &DevboxLogEntry) -> anyhow::Result<()> {
        self.write(|tx| append_log_tx(tx, devbox_id, entry))
    }

    /// Returns the log of devbox `devbox_id`, oldest first, keeping only the entries whose
    /// `cmd_id` is `execution_id` and whose `shell_name` is `shell_name`. A filter that is
    /// `None` matches every entry.
    pub fn devbox_logs(
        &self,
        devbox_id: &str,
        execution_id: Option<&str>,
        shell_name: Option<&str>,
    ) -> anyhow::Result<Vec<DevboxLogEntry>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT entry FROM devbox_logs
                     WHERE devbox_id = ?1 AND (?2 IS NULL OR cmd_id = ?2)
                         AND (?3 IS NULL OR shell_name = ?3)
                     ORDER BY position",
                )
                .context("failed to prepare the devbox log query")?;
            let rows = statement
                .query_map(params![devbox_id, execution_id, shell_name], |row| {
                    row.get::<_, String>(0)
                })
                .with_context(|| format!("failed to read the log of devbox {devbox_id}"))?;

            let mut entries = Vec::new();
            for row in rows {
                let json = row.context("failed to read a devbox log row")?;
                let entry = serde_json::from_str(&json)
                    .context("failed to decode a devbox log entry from the state database")?;
                entries.push(entry);
            }
            Ok(entries)
        })
    }
}

/// Appends `entry` to the log of devbox `devbox_id` inside an open transaction and deletes
/// the entries that no longer fit.
pub(super) fn append_log_tx(
    tx: &Transaction<'_>,
    devbox_id: &str,
    entry: &DevboxLogEntry,
) -> anyhow::Result<()> {
    let json = serde_json::to_string(entry).context("failed to encode a devbox log entry")?;
    let position: i64 = tx
        .prepare_cached(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM devbox_logs WHERE devbox_id = ?1",
        )
        .and_then(|mut statement| statement.query_row([devbox_id], |row| row.get(0)))
        .with_context(|| format!("failed to find the end of the log of devbox {devbox_id}"))?;

    tx.prepare_cached(
        "INSERT INTO devbox_logs (devbox_id, position, cmd_id, shell_name, entry)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            devbox_id,
            position,
            entry.cmd_id,
            entry.shell_name,
            json
        ])
    })
    .with_context(|| format!("failed to append to the log of devbox {devbox_id}"))?;

    tx.prepare_cached("DELETE FROM devbox_logs WHERE devbox_id = ?1 AND position <= ?2")
        .and_then(|mut statement| statement.execute(params![devbox_id, position - MAX_LOG_ENTRIES]))
        .with_context(|| format!("failed to trim the log of devbox {devbox_id}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{insert_test_devbox, temp_store};

    fn entry(message: &str, cmd_id: Option<&str>, shell_name: Option<&str>) -> DevboxLogEntry {
        DevboxLogEntry {
            level: "info".to_owned(),
            source: "exec".to_owned(),
            timestamp_ms: 1,
            cmd: None,
            cmd_id: cmd_id.map(str::to_owned),
            exit_code: None,
            message: Some(message.to_owned()),
            shell_name: shell_name.map(str::to_owned),
        }
    }

    fn messages(entries: &[DevboxLogEntry]) -> Vec<&str> {
        entries
            .iter()
            .filter_map(|entry| entry.message.as_deref())
            .collect()
    }

    #[test]
    fn filters_by_execution_and_shell() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        insert_test_devbox(&store, "dbx_2");
        for (message, cmd_id, shell_name) in [
            ("a", Some("exe_a"), None),
            ("b", Some("exe_b"), Some("s1")),
            ("file", None, None),
        ] {
            store
                .append_devbox_log("dbx_1", &entry(message, cmd_id, shell_name))
                .expect("append");
        }
        store
            .append_devbox_log("dbx_2", &entry("other", None, None))
            .expect("append");

        let all = store.devbox_logs("dbx_1", None, None).expect("logs");
        assert_eq!(messages(&all), ["a", "b", "file"]);
        let by_execution = store
            .devbox_logs("dbx_1", Some("exe_a"), None)
            .expect("logs");
        assert_eq!(messages(&by_execution), ["a"]);
        let by_shell = store.devbox_logs("dbx_1", None, Some("s1")).expect("logs");
        assert_eq!(messages(&by_shell), ["b"]);
        let both = store
            .devbox_logs("dbx_1", Some("exe_a"), Some("s1"))
            .expect("logs");
        assert!(both.is_empty());
    }

    #[test]
    fn full_log_drops_oldest_entries() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        let extra = 5;
        for index in 0..MAX_LOG_ENTRIES + extra {
            store
                .append_devbox_log("dbx_1", &entry(&index.to_string(), None, None))
                .expect("append");
        }

        let entries = store.devbox_logs("dbx_1", None, None).expect("logs");
        assert_eq!(entries.len() as i64, MAX_LOG_ENTRIES);
        assert_eq!(entries[0].message.as_deref(), Some("5"));
        let last = (MAX_LOG_ENTRIES + extra - 1).to_string();
        assert_eq!(
            entries.last().and_then(|e| e.message.as_deref()),
            Some(last.as_str())
        );
    }

    #[test]
    fn log_needs_an_existing_devbox() {
        let (_dir, store) = temp_store();
        let appended = store.append_devbox_log("dbx_missing", &entry("x", None, None));
        assert!(appended.is_err());
    }
}
