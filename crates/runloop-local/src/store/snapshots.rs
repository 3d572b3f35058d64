//! Snapshot records and the pending layers of captures in progress.

use anyhow::Context;
use runloop_types::{DevboxSnapshotView, SnapshotStatus};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::devboxes::{insert_devbox_tx, DevboxRecord};
use super::{to_count, Store};

/// Everything the server keeps about one snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotRecord {
    /// The view returned to clients; `size_bytes` is set once the capture completes.
    pub view: DevboxSnapshotView,
    /// State of the capture.
    pub status: SnapshotStatus,
    /// Reason the capture failed, when `status` is `error`.
    pub error_message: Option<String>,
    /// The layer holding the snapshot's files; `None` after a failed capture.
    pub layer_id: Option<i64>,
}

/// Result of resolving a snapshot id for a new devbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotBase {
    /// The snapshot is complete; the devbox was inserted on top of this layer.
    Ready {
        /// The snapshot's layer, the top of the devbox's layer chain.
        layer_id: i64,
    },
    /// No snapshot has this id.
    NotFound,
    /// The snapshot exists but cannot be booted from in this status.
    NotReady(SnapshotStatus),
}

/// Columns that [`read_row`] reads, in order.
pub(super) const COLUMNS: &str = "view, status, error_message, layer_id";

impl Store {
    /// Records a capture in progress: a pending layer on top of `parent_layer_id` and the
    /// snapshot `view` that will own it. Returns the new layer's id.
    pub fn begin_snapshot(
        &self,
        view: &DevboxSnapshotView,
        parent_layer_id: Option<i64>,
    ) -> anyhow::Result<i64> {
        let json = serde_json::to_string(view).context("failed to encode a snapshot view")?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO layers (parent_id, state, create_time_ms) VALUES (?1, 'pending', ?2)",
                params![parent_layer_id, view.create_time_ms],
            )
            .context("failed to insert a pending layer")?;
            let layer_id = tx.last_insert_rowid();

            tx.execute(
                "INSERT INTO snapshots (id, source_devbox_id, layer_id, status, view)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    view.id,
                    view.source_devbox_id,
                    layer_id,
                    SnapshotStatus::InProgress.as_str(),
                    json
                ],
            )
            .with_context(|| format!("failed to insert snapshot {}", view.id))?;
            Ok(layer_id)
        })
    }

    /// Marks the capture of snapshot `id` complete with `size_bytes`, and its layer ready.
    ///
    /// With `squashed`, the snapshot takes that pending layer, a squashed copy of its whole
    /// chain, instead: it is marked ready and the captured layer's record is deleted, so
    /// the caller must delete the captured layer's files afterwards.
    pub fn complete_snapshot(
        &self,
        id: &str,
        size_bytes: u64,
        squashed: Option<i64>,
    ) -> anyhow::Result<()> {
        self.write(|tx| {
            let Some(mut record) = get_snapshot_conn(tx, id)? else {
                anyhow::bail!("snapshot {id} disappeared while its capture was running");
            };
            record.view.size_bytes = Some(size_bytes);
            let json =
                serde_json::to_string(&record.view).context("failed to encode a snapshot view")?;
            let layer_id = squashed.or(record.layer_id);

            tx.execute(
                "UPDATE layers SET state = 'ready' WHERE id = ?1",
                params![layer_id],
            )
            .context("failed to mark a layer ready")?;
            tx.execute(
                "UPDATE snapshots SET status = ?2, view = ?3, layer_id = ?4 WHERE id = ?1",
                params![id, SnapshotStatus::Complete.as_str(), json, layer_id],
            )
            .with_context(|| format!("failed to mark snapshot {id} complete"))?;
            if let (Some(_), Some(captured)) = (squashed, record.layer_id) {
                tx.execute(
                    "DELETE FROM layers WHERE id = ?1 AND state = 'pending'",
                    [captured],
                )
                .context("failed to delete a captured layer replaced by its squashed chain")?;
            }
            Ok(())
        })
    }

    /// Records a pending layer with no parent, to hold a squashed chain, and returns its id.
    pub fn insert_squash_layer(&self, create_time_ms: i64) -> anyhow::Result<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO layers (parent_id, state, create_time_ms) VALUES (NULL, 'pending', ?1)",
                params![create_time_ms],
            )
            .context("failed to insert a pending squashed layer")?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Deletes the record of layer `id` if it is still pending, after a failed squash.
    pub fn delete_pending_layer(&self, id: i64) -> anyhow::Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM layers WHERE id = ?1 AND state = 'pending'",
                [id],
            )
            .with_context(|| format!("failed to delete the pending layer {id}"))?;
            Ok(())
        })
    }

    /// Marks the capture of snapshot `id` failed with `message` and deletes its pending
    /// layer record. Returns the id of that layer so that its files can be removed.
    pub fn fail_snapshot(&self, id: &str, message: &str) -> anyhow::Result<Option<i64>> {
        self.write(|tx| {
            let layer_id: Option<i64> = tx
                .query_row(
                    "SELECT layer_id FROM snapshots WHERE id = ?1",
                    [id],
                    |row| row.get(0),
                )
                .optional()
                .with_context(|| format!("failed to read snapshot {id}"))?
                .flatten();

            tx.execute(
                "UPDATE snapshots SET status = ?2, error_message = ?3, layer_id = NULL
                 WHERE id = ?1",
                params![id, SnapshotStatus::Error.as_str(), message],
            )
            .with_context(|| format!("failed to mark snapshot {id} failed"))?;
            if let Some(layer_id) = layer_id {
                tx.execute(
                    "DELETE FROM layers WHERE id = ?1 AND state = 'pending'",
                    [layer_id],
                )
                .context("failed to delete a pending layer")?;
            }
            Ok(layer_id)
        })
    }

    /// Marks every capture still in progress as failed with `message` and deletes the
    /// pending layer records. Used at startup: a capture cannot survive a restart.
    pub fn fail_unfinished_snapshots(&self, message: &str) -> anyhow::Result<Vec<String>> {
        self.write(|tx| {
            let mut statement = tx
                .prepare("SELECT id FROM snapshots WHERE status = ?1")
                .context("failed to prepare the unfinished snapshot query")?;
            let ids = statement
                .query_map([SnapshotStatus::InProgress.as_str()], |row| {
                    row.get::<_, String>(0)
                })
                .context("failed to list unfinished snapshots")?
                .collect::<Result<Vec<_>, _>>()
                .context("failed to read an unfinished snapshot")?;
            drop(statement);

            tx.execute(
                "UPDATE snapshots SET status = ?1, error_message = ?2, layer_id = NULL
                 WHERE status = ?3",
                params![
                    SnapshotStatus::Error.as_str(),
                    message,
                    SnapshotStatus::InProgress.as_str()
                ],
            )
            .context("failed to mark unfinished snapshots failed")?;
            tx.execute("DELETE FROM layers WHERE state = 'pending'", [])
                .context("failed to delete pending layers")?;
            Ok(ids)
        })
    }

    /// Returns the snapshot `id`, or `None` if there is none.
    pub fn get_snapshot(&self, id: &str) -> anyhow::Result<Option<SnapshotRecord>> {
        self.read(|conn| get_snapshot_conn(conn, id))
    }

    /// Returns the insertion sequence number of the snapshot `id`, used as a paging cursor.
    pub fn snapshot_seq(&self, id: &str) -> anyhow::Result<Option<i64>> {
        self.read(|conn| {
            conn.query_row("SELECT seq FROM snapshots WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()
            .context("failed to look up a snapshot paging cursor")
        })
    }

    /// Applies `change` to the view of snapshot `id` in one transaction and returns the new
    /// record, or `None` if there is no such snapshot.
    pub fn update_snapshot_view(
        &self,
        id: &str,
        change: impl FnOnce(&mut DevboxSnapshotView),
    ) -> anyhow::Result<Option<SnapshotRecord>> {
        self.write(|tx| {
            let Some(mut record) = get_snapshot_conn(tx, id)? else {
                return Ok(None);
            };
            change(&mut record.view);
            let json =
                serde_json::to_string(&record.view).context("failed to encode a snapshot view")?;
            tx.execute(
                "UPDATE snapshots SET view = ?2 WHERE id = ?1",
                params![id, json],
            )
            .with_context(|| format!("failed to update snapshot {id}"))?;
            Ok(Some(record))
        })
    }

    /// Deletes the snapshot `id` and returns what it was, or `None` if there was none. Its
    /// layer stays until [`Store::delete_layer_if_unreferenced`] finds it unused.
    pub fn delete_snapshot(&self, id: &str) -> anyhow::Result<Option<SnapshotRecord>> {
        self.write(|tx| {
            let record = get_snapshot_conn(tx, id)?;
            tx.execute("DELETE FROM snapshots WHERE id = ?1", [id])
                .with_context(|| format!("failed to delete snapshot {id}"))?;
            Ok(record)
        })
    }

    /// Counts the captures of `devbox_id` that are still in progress.
    pub fn count_snapshots_in_progress(&self, devbox_id: &str) -> anyhow::Result<u64> {
        self.read(|conn| {
            let count: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM snapshots WHERE source_devbox_id = ?1 AND status = ?2",
                    params![devbox_id, SnapshotStatus::InProgress.as_str()],
                    |row| row.get(0),
                )
                .context("failed to count snapshots in progress")?;
            Ok(to_count(count))
        })
    }

    /// Inserts `record` booted from snapshot `snapshot_id`, in the same transaction that
    /// checks the snapshot, so its layer cannot be collected in between. Sets
    /// `record.base_layer_id` when the snapshot is complete; inserts nothing otherwise.
    pub fn insert_devbox_on_snapshot(
        &self,
        record: &mut DevboxRecord,
        snapshot_id: &str,
    ) -> anyhow::Result<SnapshotBase> {
        self.write(|tx| {
            let Some(snapshot) = get_snapshot_conn(tx, snapshot_id)? else {
                return Ok(SnapshotBase::NotFound);
            };
            let (SnapshotStatus::Complete, Some(layer_id)) = (snapshot.status, snapshot.layer_id)
            else {
                return Ok(SnapshotBase::NotReady(snapshot.status));
            };

            record.base_layer_id = Some(layer_id);
            insert_devbox_tx(tx, record)?;
            Ok(SnapshotBase::Ready { layer_id })
        })
    }
}

pub(super) type RawRow = (String, String, Option<String>, Option<i64>);

/// Reads the [`COLUMNS`] of one snapshot row.
pub(super) fn read_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

/// Decodes a row read by [`read_row`].
pub(super) fn decode_row(
    (view, status, error_message, layer_id): RawRow,
) -> anyhow::Result<SnapshotRecord> {
    let view: DevboxSnapshotView = serde_json::from_str(&view)
        .context("failed to decode a snapshot view from the state database")?;
    let status: SnapshotStatus = serde_json::from_value(serde_json::Value::String(status))
        .context("failed to decode a snapshot status from the state database")?;
    Ok(SnapshotRecord {
        view,
        status,
        error_message,
        layer_id,
    })
}

fn get_snapshot_conn(conn: &Connection, id: &str) -> anyhow::Result<Option<SnapshotRecord>> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM snapshots WHERE id = ?1"),
            [id],
            read_row,
        )
        .optional()
        .with_context(|| format!("failed to read snapshot {id}"))?;
    row.map(decode_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn view(id: &str, devbox_id: &str) -> DevboxSnapshotView {
        DevboxSnapshotView {
            id: id.to_owned(),
            create_time_ms: 1,
            metadata: Default::default(),
            source_devbox_id: devbox_id.to_owned(),
            name: None,
            commit_message: None,
            size_bytes: None,
            source_blueprint_id: None,
        }
    }

    #[test]
    fn capture_lifecycle_completes() {
        let (_dir, store) = temp_store();
        let layer = store
            .begin_snapshot(&view("s1", "d1"), None)
            .expect("begin");
        assert_eq!(store.count_snapshots_in_progress("d1").expect("count"), 1);

        store.complete_snapshot("s1", 123, None).expect("complete");
        let record = store.get_snapshot("s1").expect("get").expect("exists");
        assert_eq!(record.status, SnapshotStatus::Complete);
        assert_eq!(record.layer_id, Some(layer));
        assert_eq!(record.view.size_bytes, Some(123));
        assert_eq!(store.count_snapshots_in_progress("d1").expect("count"), 0);
    }

    #[test]
    fn failed_capture_drops_pending_layer() {
        let (_dir, store) = temp_store();
        let layer = store
            .begin_snapshot(&view("s1", "d1"), None)
            .expect("begin");

        let dropped = store.fail_snapshot("s1", "disk full").expect("fail");
        assert_eq!(dropped, Some(layer));

        let record = store.get_snapshot("s1").expect("get").expect("exists");
        assert_eq!(record.status, SnapshotStatus::Error);
        assert_eq!(record.error_message.as_deref(), Some("disk full"));
        assert_eq!(record.layer_id, None);
        assert!(store.layer_ids().expect("layers").is_empty());
    }

    #[test]
    fn unfinished_capture_fails_at_startup() {
        let (_dir, store) = temp_store();
        store
            .begin_snapshot(&view("s1", "d1"), None)
            .expect("begin");

        let failed = store
            .fail_unfinished_snapshots("server stopped")
            .expect("recover");
        assert_eq!(failed, ["s1"]);

        let record = store.get_snapshot("s1").expect("get").expect("exists");
        assert_eq!(record.status, SnapshotStatus::Error);
        assert!(store.layer_ids().expect("layers").is_empty());
    }

    #[test]
    fn squashed_layer_replaces_the_captured_one() {
        let (_dir, store) = temp_store();
        let parent = store
            .begin_snapshot(&view("s1", "d1"), None)
            .expect("begin");
        store.complete_snapshot("s1", 1, None).expect("complete");
        let captured = store
            .begin_snapshot(&view("s2", "d1"), Some(parent))
            .expect("begin");
        let squashed = store.insert_squash_layer(1).expect("insert");

        store
            .complete_snapshot("s2", 7, Some(squashed))
            .expect("complete");
        let record = store.get_snapshot("s2").expect("get").expect("exists");
        assert_eq!(record.layer_id, Some(squashed));
        assert_eq!(record.view.size_bytes, Some(7));
        assert_eq!(store.layer_chain(squashed).expect("chain"), [squashed]);
        let layers = store.layer_ids().expect("layers");
        assert!(!layers.contains(&captured), "{layers:?}");
    }
}
