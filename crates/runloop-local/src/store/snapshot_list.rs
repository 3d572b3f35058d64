//! Snapshot list queries: filters by devbox and metadata, newest first, in pages.

use anyhow::Context;
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::snapshots::{decode_row, read_row, SnapshotRecord, COLUMNS};
use super::{to_count, Page, PageRequest, Store};

/// Conditions of a snapshot list; a snapshot is listed when all of them hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotFilter {
    /// Only snapshots taken from this devbox.
    pub devbox_id: Option<String>,
    /// Conditions on metadata keys.
    pub metadata: Vec<MetadataMatch>,
}

/// Condition on one metadata key: the snapshot has the key, with one of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataMatch {
    /// The metadata key.
    pub key: String,
    /// Accepted values; one for `metadata[key]=value`, several for `metadata[key][in]`.
    pub values: Vec<String>,
}

impl Store {
    /// Lists the snapshots that match `filter`, newest first.
    pub fn list_snapshots(
        &self,
        filter: &SnapshotFilter,
        page: PageRequest,
    ) -> anyhow::Result<Page<SnapshotRecord>> {
        let (condition, mut values) = where_clause(filter)?;
        self.read(|conn| {
            let total: i64 = conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM snapshots WHERE {condition}"),
                    params_from_iter(values.iter()),
                    |row| row.get(0),
                )
                .context("failed to count snapshots")?;

            let cursor = values.len() + 1;
            values.push(page.after_seq.map_or(Value::Null, Value::Integer));
            values.push(Value::Integer(i64::from(page.limit) + 1));
            let mut statement = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM snapshots
                     WHERE {condition} AND (?{cursor} IS NULL OR seq < ?{cursor})
                     ORDER BY seq DESC LIMIT ?{}",
                    cursor + 1
                ))
                .context("failed to prepare the snapshot list query")?;
            let rows = statement
                .query_map(params_from_iter(values.iter()), read_row)
                .context("failed to list snapshots")?;
            let mut items = Vec::new();
            for row in rows {
                items.push(decode_row(row.context("failed to read a snapshot row")?)?);
            }

            let has_more = items.len() > page.limit as usize;
            items.truncate(page.limit as usize);
            Ok(Page {
                items,
                has_more,
                total_count: to_count(total),
            })
        })
    }
}

/// Builds the SQL condition of `filter` over the `snapshots` table and its parameters,
/// numbered from `?1`.
fn where_clause(filter: &SnapshotFilter) -> anyhow::Result<(String, Vec<Value>)> {
    let mut conditions = vec!["1 = 1".to_owned()];
    let mut values = Vec::new();

    if let Some(devbox_id) = &filter.devbox_id {
        values.push(Value::Text(devbox_id.clone()));
        conditions.push(format!("source_devbox_id = ?{}", values.len()));
    }

    for condition in &filter.metadata {
        values.push(Value::Text(condition.key.clone()));
        let key = values.len();
        let accepted = serde_json::to_string(&condition.values)
            .context("failed to encode a metadata filter")?;
        values.push(Value::Text(accepted));
        let accepted = values.len();
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM json_each(snapshots.view, '$.metadata') AS entry
                     WHERE entry.key = ?{key}
                     AND entry.value IN (SELECT value FROM json_each(?{accepted})))"
        ));
    }
    Ok((conditions.join(" AND "), values))
}

#[cfg(test)]
mod tests {
    use runloop_types::DevboxSnapshotView;

    use super::*;
    use crate::store::test_support::temp_store;

    fn view(id: &str, devbox_id: &str, metadata: &[(&str, &str)]) -> DevboxSnapshotView {
        DevboxSnapshotView {
            id: id.to_owned(),
            create_time_ms: 1,
            metadata: metadata
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            source_devbox_id: devbox_id.to_owned(),
            name: None,
            commit_message: None,
            size_bytes: None,
            source_blueprint_id: None,
        }
    }

    fn ids(store: &Store, filter: &SnapshotFilter) -> Vec<String> {
        let page = store
            .list_snapshots(
                filter,
                PageRequest {
                    limit: 100,
                    after_seq: None,
                },
            )
            .expect("list");
        assert_eq!(page.total_count, page.items.len() as u64);
        page.items
            .into_iter()
            .map(|record| record.view.id)
            .collect()
    }

    fn matching(key: &str, values: &[&str]) -> MetadataMatch {
        MetadataMatch {
            key: key.to_owned(),
            values: values.iter().map(|value| (*value).to_owned()).collect(),
        }
    }

    #[test]
    fn filters_by_devbox_and_pages() {
        let (_dir, store) = temp_store();
        for (id, devbox) in [("s1", "d1"), ("s2", "d2"), ("s3", "d1")] {
            store
                .begin_snapshot(&view(id, devbox, &[]), None)
                .expect("begin");
        }
        let filter = SnapshotFilter {
            devbox_id: Some("d1".to_owned()),
            metadata: Vec::new(),
        };

        let page = store
            .list_snapshots(
                &filter,
                PageRequest {
                    limit: 1,
                    after_seq: None,
                },
            )
            .expect("list");
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].view.id, "s3");
        assert!(page.has_more);
        assert_eq!(page.total_count, 2);

        let cursor = store.snapshot_seq("s3").expect("seq");
        let next = store
            .list_snapshots(
                &filter,
                PageRequest {
                    limit: 1,
                    after_seq: cursor,
                },
            )
            .expect("list");
        assert_eq!(next.items[0].view.id, "s1");
        assert!(!next.has_more);
        assert_eq!(next.total_count, 2);
    }

    #[test]
    fn metadata_conditions_combine_with_and() {
        let (_dir, store) = temp_store();
        let rows: [(&str, &[(&str, &str)]); 4] = [
            ("a", &[("team", "x"), ("env", "prod")]),
            ("b", &[("team", "y"), ("env", "prod")]),
            ("c", &[("team", "x")]),
            ("d", &[("it's", "a \"quoted\" key")]),
        ];
        for (id, metadata) in rows {
            store
                .begin_snapshot(&view(id, "d1", metadata), None)
                .expect("begin");
        }

        let only = |conditions: Vec<MetadataMatch>| SnapshotFilter {
            devbox_id: None,
            metadata: conditions,
        };
        assert_eq!(
            ids(&store, &only(vec![matching("team", &["x"])])),
            ["c", "a"]
        );
        assert_eq!(
            ids(&store, &only(vec![matching("team", &["x", "y"])])),
            ["c", "b", "a"]
        );
        assert_eq!(
            ids(
                &store,
                &only(vec![matching("team", &["x"]), matching("env", &["prod"])])
            ),
            ["a"]
        );
        assert!(ids(&store, &only(vec![matching("team", &["z"])])).is_empty());
        assert!(ids(&store, &only(vec![matching("missing", &[""])])).is_empty());
        assert_eq!(
            ids(&store, &only(vec![matching("it's", &["a \"quoted\" key"])])),
            ["d"]
        );
    }
}
