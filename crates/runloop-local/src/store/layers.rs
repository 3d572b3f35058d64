//! Layer records: parent chains and the references that keep a layer alive.
//!
//! A layer is referenced by its snapshot, by every layer whose parent it is, and by every
//! devbox that is not `shutdown` or `failure` and was booted from it. The reference count is
//! computed from these rows when it is needed rather than stored, so it cannot drift.

use anyhow::Context;
use rusqlite::{params, OptionalExtension};

use super::Store;

/// SQL condition true for a layer row `l` that nothing references.
const UNREFERENCED: &str = "l.state = 'ready'
    AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.layer_id = l.id)
    AND NOT EXISTS (SELECT 1 FROM layers c WHERE c.parent_id = l.id)
    AND NOT EXISTS (SELECT 1 FROM devboxes d WHERE d.base_layer_id = l.id
                    AND d.status NOT IN ('shutdown', 'failure'))";

impl Store {
    /// Returns the chain of layers from `top` down to the bottom layer, top first.
    pub fn layer_chain(&self, top: i64) -> anyhow::Result<Vec<i64>> {
        self.read(|conn| {
            let mut chain = vec![top];
            let mut current = top;
            loop {
                let parent: Option<i64> = conn
                    .query_row(
                        "SELECT parent_id FROM layers WHERE id = ?1",
                        [current],
                        |row| row.get(0),
                    )
                    .optional()
                    .with_context(|| format!("failed to read layer {current}"))?
                    .with_context(|| {
                        format!("layer {current} is missing from the state database")
                    })?;
                let Some(parent) = parent else {
                    return Ok(chain);
                };
                if chain.contains(&parent) {
                    anyhow::bail!("layer {parent} is its own ancestor in the state database");
                }
                chain.push(parent);
                current = parent;
            }
        })
    }

    /// Returns the ids of ready layers that nothing references.
    pub fn unreferenced_layers(&self) -> anyhow::Result<Vec<i64>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare(&format!("SELECT l.id FROM layers l WHERE {UNREFERENCED}"))
                .context("failed to prepare the unreferenced layer query")?;
            let ids = statement
                .query_map([], |row| row.get(0))
                .context("failed to list unreferenced layers")?
                .collect::<Result<Vec<i64>, _>>()
                .context("failed to read an unreferenced layer")?;
            Ok(ids)
        })
    }

    /// Deletes the record of layer `id` if nothing references it, checked in the same
    /// transaction. Returns whether it was deleted.
    pub fn delete_layer_if_unreferenced(&self, id: i64) -> anyhow::Result<bool> {
        self.write(|tx| {
            let deleted = tx
                .execute(
                    &format!("DELETE FROM layers WHERE id = ?1 AND id IN (SELECT l.id FROM layers l WHERE {UNREFERENCED})"),
                    params![id],
                )
                .with_context(|| format!("failed to delete layer {id}"))?;
            Ok(deleted > 0)
        })
    }

    /// Returns the ids of all layer records, pending or ready.
    pub fn layer_ids(&self) -> anyhow::Result<Vec<i64>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare("SELECT id FROM layers")
                .context("failed to prepare the layer query")?;
            let ids = statement
                .query_map([], |row| row.get(0))
                .context("failed to list layers")?
                .collect::<Result<Vec<i64>, _>>()
                .context("failed to read a layer")?;
            Ok(ids)
        })
    }
}

#[cfg(test)]
mod tests {
    use runloop_types::DevboxSnapshotView;

    use crate::store::test_support::temp_store;

    fn view(id: &str) -> DevboxSnapshotView {
        DevboxSnapshotView {
            id: id.to_owned(),
            create_time_ms: 1,
            metadata: Default::default(),
            source_devbox_id: "d1".to_owned(),
            name: None,
            commit_message: None,
            size_bytes: None,
            source_blueprint_id: None,
        }
    }

    #[test]
    fn chain_lists_top_first() {
        let (_dir, store) = temp_store();
        let bottom = store.begin_snapshot(&view("s1"), None).expect("begin");
        let top = store
            .begin_snapshot(&view("s2"), Some(bottom))
            .expect("begin");

        assert_eq!(store.layer_chain(top).expect("chain"), [top, bottom]);
    }

    #[test]
    fn parent_layer_outlives_its_snapshot() {
        let (_dir, store) = temp_store();
        let bottom = store.begin_snapshot(&view("s1"), None).expect("begin");
        store.complete_snapshot("s1", 1, None).expect("complete");
        let top = store
            .begin_snapshot(&view("s2"), Some(bottom))
            .expect("begin");
        store.complete_snapshot("s2", 1, None).expect("complete");

        store.delete_snapshot("s1").expect("delete");
        assert!(store.unreferenced_layers().expect("query").is_empty());
        assert!(!store.delete_layer_if_unreferenced(bottom).expect("delete"));

        store.delete_snapshot("s2").expect("delete");
        assert_eq!(store.unreferenced_layers().expect("query"), [top]);
        assert!(store.delete_layer_if_unreferenced(top).expect("delete"));
        assert_eq!(store.unreferenced_layers().expect("query"), [bottom]);
    }
}
