//! Devbox records.

use std::collections::BTreeMap;

use anyhow::Context;
use runloop_types::{DevboxStatus, DevboxView, StateTransition};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{to_count, Page, PageRequest, Store};

/// Everything the server keeps about one devbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevboxRecord {
    /// The view returned to clients.
    pub view: DevboxView,
    /// Variables added to the environment of every command.
    #[serde(default)]
    pub environment_variables: BTreeMap<String, String>,
    /// Top layer of the snapshot chain the devbox was booted from; `None` for the bare base.
    pub base_layer_id: Option<i64>,
}

impl DevboxRecord {
    /// Moves the devbox to `status`, appends the transition and, for a terminal status, sets
    /// `end_time_ms`.
    pub fn record_transition(
        &mut self,
        status: DevboxStatus,
        now_ms: i64,
        failure_reason: Option<String>,
    ) {
        self.view.status = status;
        self.view.state_transitions.push(StateTransition {
            status: Some(status),
            transition_time_ms: Some(now_ms),
            failure_reason,
        });
        if status.is_terminal() && self.view.end_time_ms.is_none() {
            self.view.end_time_ms = Some(now_ms);
        }
    }
}

/// Outcome of [`Store::update_devbox_from`].
#[derive(Debug)]
pub enum Transition {
    /// The change was applied; the new record.
    Applied(DevboxRecord),
    /// The devbox was in another status; its unchanged record.
    Refused(DevboxRecord),
    /// There is no such devbox.
    NotFound,
}

impl Store {
    /// Inserts a new devbox.
    pub fn insert_devbox(&self, record: &DevboxRecord) -> anyhow::Result<()> {
        self.write(|tx| insert_devbox_tx(tx, record))
    }

    /// Returns the devbox `id`, or `None` if there is none.
    pub fn get_devbox(&self, id: &str) -> anyhow::Result<Option<DevboxRecord>> {
        self.read(|conn| get_devbox_conn(conn, id))
    }

    /// Applies `change` to the devbox `id` in one transaction and returns the new record, or
    /// `None` if there is no such devbox.
    pub fn update_devbox(
        &self,
        id: &str,
        change: impl FnOnce(&mut DevboxRecord),
    ) -> anyhow::Result<Option<DevboxRecord>> {
        self.write(|tx| {
            let Some(mut record) = get_devbox_conn(tx, id)? else {
                return Ok(None);
            };
            change(&mut record);
            put_devbox_tx(tx, &record)?;
            Ok(Some(record))
        })
    }

    /// Applies `change` to the devbox `id` in one transaction if its status is one of
    /// `from`, so a status check and the change it allows cannot interleave with another.
    pub fn update_devbox_from(
        &self,
        id: &str,
        from: &[DevboxStatus],
        change: impl FnOnce(&mut DevboxRecord),
    ) -> anyhow::Result<Transition> {
        self.write(|tx| {
            let Some(mut record) = get_devbox_conn(tx, id)? else {
                return Ok(Transition::NotFound);
            };
            if !from.contains(&record.view.status) {
                return Ok(Transition::Refused(record));
            }
            change(&mut record);
            put_devbox_tx(tx, &record)?;
            Ok(Transition::Applied(record))
        })
    }

    /// Returns the insertion sequence number of the devbox `id`, used as a paging cursor.
    pub fn devbox_seq(&self, id: &str) -> anyhow::Result<Option<i64>> {
        self.read(|conn| {
            conn.query_row("SELECT seq FROM devboxes WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()
            .context("failed to look up a devbox paging cursor")
        })
    }

    /// Lists devboxes newest first, optionally only those in `status`.
    pub fn list_devboxes(
        &self,
        status: Option<DevboxStatus>,
        page: PageRequest,
    ) -> anyhow::Result<Page<DevboxRecord>> {
        let status = status.map(DevboxStatus::as_str);
        self.read(|conn| {
            let mut statement = conn
                .prepare(
                    "SELECT record FROM devboxes
                     WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR seq < ?2)
                     ORDER BY seq DESC LIMIT ?3",
                )
                .context("failed to prepare the devbox list query")?;
            let fetch = i64::from(page.limit) + 1;
            let rows = statement
                .query_map(params![status, page.after_seq, fetch], |row| {
                    row.get::<_, String>(0)
                })
                .context("failed to list devboxes")?;
            let mut items = Vec::new();
            for row in rows {
                let json = row.context("failed to read a devbox row")?;
                items.push(decode_record(&json)?);
            }

            let has_more = items.len() > page.limit as usize;
            items.truncate(page.limit as usize);

            let total: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM devboxes WHERE (?1 IS NULL OR status = ?1)",
                    params![status],
                    |row| row.get(0),
                )
                .context("failed to count devboxes")?;

            Ok(Page {
                items,
                has_more,
                total_count: to_count(total),
            })
        })
    }

    /// Marks every devbox that is not `shutdown` or `failure` as `shutdown` and returns
    /// their ids. Used at startup: the processes of a previous run are gone.
    pub fn shut_down_live_devboxes(&self, now_ms: i64) -> anyhow::Result<Vec<String>> {
        self.write(|tx| {
            let mut statement = tx
                .prepare("SELECT record FROM devboxes WHERE status NOT IN ('shutdown', 'failure')")
                .context("failed to prepare the live devbox query")?;
            let rows = statement
                .query_map([], |row| row.get::<_, String>(0))
                .context("failed to list live devboxes")?;
            let mut records = Vec::new();
            for row in rows {
                records.push(decode_record(&row.context("failed to read a devbox row")?)?);
            }
            drop(statement);

            let mut ids = Vec::new();
            for mut record in records {
                record.record_transition(DevboxStatus::Shutdown, now_ms, None);
                put_devbox_tx(tx, &record)?;
                ids.push(record.view.id);
            }
            Ok(ids)
        })
    }
}

/// Inserts `record` inside an open transaction.
pub(super) fn insert_devbox_tx(tx: &Transaction<'_>, record: &DevboxRecord) -> anyhow::Result<()> {
    let json = serde_json::to_string(record).context("failed to encode a devbox record")?;
    tx.execute(
        "INSERT INTO devboxes (id, status, base_layer_id, record) VALUES (?1, ?2, ?3, ?4)",
        params![
            record.view.id,
            record.view.status.as_str(),
            record.base_layer_id,
            json
        ],
    )
    .with_context(|| format!("failed to insert devbox {}", record.view.id))?;
    Ok(())
}

fn put_devbox_tx(tx: &Transaction<'_>, record: &DevboxRecord) -> anyhow::Result<()> {
    let json = serde_json::to_string(record).context("failed to encode a devbox record")?;
    tx.execute(
        "UPDATE devboxes SET status = ?2, base_layer_id = ?3, record = ?4 WHERE id = ?1",
        params![
            record.view.id,
            record.view.status.as_str(),
            record.base_layer_id,
            json
        ],
    )
    .with_context(|| format!("failed to update devbox {}", record.view.id))?;
    Ok(())
}

fn get_devbox_conn(conn: &Connection, id: &str) -> anyhow::Result<Option<DevboxRecord>> {
    let json: Option<String> = conn
        .query_row("SELECT record FROM devboxes WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .optional()
        .with_context(|| format!("failed to read devbox {id}"))?;
    json.map(|json| decode_record(&json)).transpose()
}

fn decode_record(json: &str) -> anyhow::Result<DevboxRecord> {
    serde_json::from_str(json).context("failed to decode a devbox record from the state database")
}

#[cfg(test)]
mod tests {
    use runloop_types::{DevboxView, LaunchParameters};

    use super::*;
    use crate::store::test_support::temp_store;

    fn record(id: &str, status: DevboxStatus) -> DevboxRecord {
        DevboxRecord {
            view: DevboxView {
                id: id.to_owned(),
                status,
                create_time_ms: 1,
                end_time_ms: None,
                capabilities: Vec::new(),
                launch_parameters: LaunchParameters::default(),
                metadata: Default::default(),
                state_transitions: Vec::new(),
                name: None,
                blueprint_id: None,
                snapshot_id: None,
                initiator_id: None,
                initiator_type: None,
                failure_reason: None,
                shutdown_reason: None,
                tunnel: None,
                gateway_specs: None,
                mcp_specs: None,
            },
            environment_variables: BTreeMap::new(),
            base_layer_id: None,
        }
    }

    #[test]
    fn list_pages_newest_first() {
        let (_dir, store) = temp_store();
        for id in ["a", "b", "c"] {
            store
                .insert_devbox(&record(id, DevboxStatus::Running))
                .expect("insert");
        }

        let first = store
            .list_devboxes(
                None,
                PageRequest {
                    limit: 2,
                    after_seq: None,
                },
            )
            .expect("list");
        let ids: Vec<_> = first.items.iter().map(|r| r.view.id.as_str()).collect();
        assert_eq!(ids, ["c", "b"]);
        assert!(first.has_more);
        assert_eq!(first.total_count, 3);

        let cursor = store.devbox_seq("b").expect("seq");
        let second = store
            .list_devboxes(
                None,
                PageRequest {
                    limit: 2,
                    after_seq: cursor,
                },
            )
            .expect("list");
        let ids: Vec<_> = second.items.iter().map(|r| r.view.id.as_str()).collect();
        assert_eq!(ids, ["a"]);
        assert!(!second.has_more);
    }

    #[test]
    fn list_filters_by_status() {
        let (_dir, store) = temp_store();
        store
            .insert_devbox(&record("a", DevboxStatus::Running))
            .expect("insert");
        store
            .insert_devbox(&record("b", DevboxStatus::Shutdown))
            .expect("insert");

        let page = store
            .list_devboxes(
                Some(DevboxStatus::Shutdown),
                PageRequest {
                    limit: 10,
                    after_seq: None,
                },
            )
            .expect("list");
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].view.id, "b");
        assert_eq!(page.total_count, 1);
    }

    #[test]
    fn update_from_applies_only_in_listed_statuses() {
        let (_dir, store) = temp_store();
        store
            .insert_devbox(&record("a", DevboxStatus::Running))
            .expect("insert");

        let refused = store
            .update_devbox_from("a", &[DevboxStatus::Suspended], |record| {
                record.record_transition(DevboxStatus::Resuming, 5, None);
            })
            .expect("update");
        assert!(
            matches!(refused, Transition::Refused(ref r) if r.view.status == DevboxStatus::Running)
        );

        let applied = store
            .update_devbox_from("a", &[DevboxStatus::Running], |record| {
                record.record_transition(DevboxStatus::Suspending, 6, None);
            })
            .expect("update");
        assert!(
            matches!(applied, Transition::Applied(ref r) if r.view.status == DevboxStatus::Suspending)
        );
        let stored = store.get_devbox("a").expect("get").expect("exists");
        assert_eq!(stored.view.status, DevboxStatus::Suspending);

        let missing = store
            .update_devbox_from("b", &[DevboxStatus::Running], |_| {})
            .expect("update");
        assert!(matches!(missing, Transition::NotFound));
    }

    #[test]
    fn live_devboxes_are_shut_down_at_startup() {
        let (_dir, store) = temp_store();
        store
            .insert_devbox(&record("live", DevboxStatus::Running))
            .expect("insert");
        store
            .insert_devbox(&record("failed", DevboxStatus::Failure))
            .expect("insert");

        let ids = store.shut_down_live_devboxes(42).expect("recover");
        assert_eq!(ids, ["live"]);

        let live = store.get_devbox("live").expect("get").expect("exists");
        assert_eq!(live.view.status, DevboxStatus::Shutdown);
        assert_eq!(live.view.end_time_ms, Some(42));
        let failed = store.get_devbox("failed").expect("get").expect("exists");
        assert_eq!(failed.view.status, DevboxStatus::Failure);
    }
}
