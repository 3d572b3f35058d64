//! State database: devboxes, snapshots, layers, executions and devbox logs in SQLite.
//!
//! Every write of state goes through [`Store::write`], which runs in one `IMMEDIATE`
//! transaction, so a crash leaves either the old state or the new one. The database runs in
//! WAL mode with `synchronous=NORMAL`: a power loss may drop the last few commits but never
//! leaves a half-written one.

mod devbox_logs;
mod devboxes;
mod executions;
mod layers;
mod snapshot_list;
mod snapshots;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use devboxes::{DevboxRecord, Transition};
pub use executions::{ExecutionRecord, StoredOutput, MAX_COMPLETED_EXECUTIONS};
pub use snapshot_list::{MetadataMatch, SnapshotFilter};
pub use snapshots::SnapshotBase;

/// Schema version written to `PRAGMA user_version`. Version 2 added `executions` and
/// `devbox_logs`; every statement of [`SCHEMA`] is idempotent, so running it upgrades a
/// version 1 database in place.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS layers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER REFERENCES layers(id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'ready')),
    create_time_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devboxes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    base_layer_id INTEGER,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS devboxes_by_status ON devboxes(status);
CREATE TABLE IF NOT EXISTS snapshots (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    source_devbox_id TEXT NOT NULL,
    layer_id INTEGER REFERENCES layers(id),
    status TEXT NOT NULL,
    error_message TEXT,
    view TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_devbox ON snapshots(source_devbox_id);
CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    devbox_id TEXT NOT NULL REFERENCES devboxes(id) ON DELETE CASCADE,
    command TEXT NOT NULL,
    shell_name TEXT,
    attach_stdin INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed')),
    exit_status INTEGER,
    create_time_ms INTEGER NOT NULL,
    stdout_start INTEGER NOT NULL,
    stdout BLOB NOT NULL,
    stderr_start INTEGER NOT NULL,
    stderr BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_devbox ON executions(devbox_id);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions(status);
CREATE TABLE IF NOT EXISTS devbox_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    devbox_id TEXT NOT NULL REFERENCES devboxes(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    cmd_id TEXT,
    shell_name TEXT,
    entry TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS devbox_logs_by_position ON devbox_logs(devbox_id, position);
";

/// One page of a list query, newest first.
#[derive(Debug)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Whether older items follow this page.
    pub has_more: bool,
    /// Number of items matching the filter over all pages.
    pub total_count: u64,
}

/// Position and size of a page. `after_seq` is the insertion sequence number of the item
/// named by `starting_after`; the page contains items inserted before it.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Maximum number of items on the page.
    pub limit: u32,
    /// Sequence number of the last item of the previous page.
    pub after_seq: Option<i64>,
}

/// The state database of one data dir.
pub struct Store {
    conn: Mutex<Connection>,
    /// Completed executions each devbox keeps; see [`MAX_COMPLETED_EXECUTIONS`].
    max_completed_executions: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("failed to open the state database {}", path.display()))?;

        conn.busy_timeout(Duration::from_secs(5))
            .context("failed to set the state database busy timeout")?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .context("failed to configure the state database")?;

        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .context("failed to read the state database schema version")?;
        if version > SCHEMA_VERSION {
            anyhow::bail!(
                "the state database {} has schema version {version}, newer than the {SCHEMA_VERSION} \
                 this build knows; use a newer runloop-local or another --data-dir",
                path.display()
            );
        }
        conn.execute_batch(SCHEMA)
            .context("failed to create the state database tables")?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .context("failed to record the state database schema version")?;

        Ok(Self {
            conn: Mutex::new(conn),
            max_completed_executions: MAX_COMPLETED_EXECUTIONS,
        })
    }

    /// Sets how many completed executions each devbox keeps (at least 1), in place of
    /// [`MAX_COMPLETED_EXECUTIONS`]. Applies to completions stored from now on.
    #[cfg(any(test, feature = "test-hooks"))]
    #[must_use]
    pub fn with_max_completed_executions(mut self, count: usize) -> Self {
        self.max_completed_executions = count.max(1);
        self
    }

    /// Returns how many completed executions each devbox keeps.
    pub fn max_completed_executions(&self) -> usize {
        self.max_completed_executions
    }

    /// Runs `f` in one write transaction and commits it when `f` succeeds.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("failed to begin a state database transaction")?;
        let value = f(&tx)?;
        tx.commit()
            .context("failed to commit a state database transaction")?;
        Ok(value)
    }

    /// Runs `f` with read access to the database.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let conn = self.lock();
        f(&conn)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped its transaction, which rolled it back, so
        // the connection is consistent and the poison flag can be ignored.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Converts a row count from SQLite into the API's unsigned count.
fn to_count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Store;

    /// Opens a store in a fresh temporary directory, which lives as long as the returned guard.
    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temporary directory can be created");
        let store = Store::open(&dir.path().join("state.db")).expect("store opens");
        (dir, store)
    }

    /// Inserts a `running` devbox row whose record is never decoded, as the parent of
    /// execution and log rows.
    pub fn insert_test_devbox(store: &Store, id: &str) {
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO devboxes (id, status, record) VALUES (?1, 'running', '{}')",
                    [id],
                )?;
                Ok(())
            })
            .expect("devbox row inserts");
    }
}

#[cfg(test)]
mod tests {
    use runloop_types::DevboxLogEntry;

    use super::test_support::{insert_test_devbox, temp_store};
    use super::*;

    /// The tables and version of a version 1 database, as released.
    const SCHEMA_V1: &str = "
        CREATE TABLE layers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            parent_id INTEGER REFERENCES layers(id),
            state TEXT NOT NULL CHECK (state IN ('pending', 'ready')),
            create_time_ms INTEGER NOT NULL
        );
        CREATE TABLE devboxes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            base_layer_id INTEGER,
            record TEXT NOT NULL
        );
        CREATE INDEX devboxes_by_status ON devboxes(status);
        CREATE TABLE snapshots (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            source_devbox_id TEXT NOT NULL,
            layer_id INTEGER REFERENCES layers(id),
            status TEXT NOT NULL,
            error_message TEXT,
            view TEXT NOT NULL
        );
        CREATE INDEX snapshots_by_devbox ON snapshots(source_devbox_id);
        INSERT INTO devboxes (id, status, record) VALUES ('dbx_old', 'shutdown', '{}');
        PRAGMA user_version = 1;
    ";

    fn log_entry(message: &str) -> DevboxLogEntry {
        DevboxLogEntry {
            level: "info".to_owned(),
            source: "files".to_owned(),
            timestamp_ms: 1,
            cmd: None,
            cmd_id: None,
            exit_code: None,
            message: Some(message.to_owned()),
            shell_name: None,
        }
    }

    #[test]
    fn version_1_database_is_upgraded_in_place() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("state.db");
        Connection::open(&path)
            .and_then(|conn| conn.execute_batch(SCHEMA_V1))
            .expect("version 1 database is written");

        let store = Store::open(&path).expect("version 1 database opens");
        let version: i64 = store
            .read(|conn| Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        let old_row: String = store
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT status FROM devboxes WHERE id = 'dbx_old'",
                    [],
                    |row| row.get(0),
                )?)
            })
            .expect("old devbox row");
        assert_eq!(old_row, "shutdown");

        store
            .append_devbox_log("dbx_old", &log_entry("after upgrade"))
            .expect("new table is usable");
        drop(store);
        let reopened = Store::open(&path).expect("upgraded database opens again");
        let logs = reopened.devbox_logs("dbx_old", None, None).expect("logs");
        assert_eq!(logs.len(), 1);
    }

    #[test]
    fn newer_database_is_rejected() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("state.db");
        Connection::open(&path)
            .and_then(|conn| conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1))
            .expect("database is written");

        let error = Store::open(&path).expect_err("a newer schema must not open");
        assert!(format!("{error:#}").contains("newer than"), "{error:#}");
    }

    #[test]
    fn deleting_devbox_deletes_its_rows() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        let record = ExecutionRecord {
            id: "exe_1".to_owned(),
            devbox_id: "dbx_1".to_owned(),
            command: "true".to_owned(),
            shell_name: None,
            attach_stdin: false,
            status: runloop_types::ExecutionStatus::Running,
            exit_status: None,
            stdout: StoredOutput::default(),
            stderr: StoredOutput::default(),
        };
        store
            .insert_execution(&record, 1, &log_entry("started"))
            .expect("insert");

        store
            .write(|tx| Ok(tx.execute("DELETE FROM devboxes WHERE id = 'dbx_1'", [])?))
            .expect("delete");
        assert_eq!(store.get_execution("dbx_1", "exe_1").expect("get"), None);
        assert!(store
            .devbox_logs("dbx_1", None, None)
            .expect("logs")
            .is_empty());
    }
}
