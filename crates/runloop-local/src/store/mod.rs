//! State database: devboxes, snapshots and layers in SQLite.
//!
//! Every write of state goes through [`Store::write`], which runs in one `IMMEDIATE`
//! transaction, so a crash leaves either the old state or the new one. The database runs in
//! WAL mode with `synchronous=NORMAL`: a power loss may drop the last few commits but never
//! leaves a half-written one.

mod devboxes;
mod layers;
mod snapshot_list;
mod snapshots;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use devboxes::{DevboxRecord, Transition};
pub use snapshot_list::{MetadataMatch, SnapshotFilter};
pub use snapshots::SnapshotBase;

/// Schema version written to `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

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
        })
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
}
