//! Execution records: written when an execution is created, at output checkpoints while it
//! runs, and when it completes, so a completed execution and its final output survive a
//! restart. Each record keeps up to 4 MiB per output stream, and each devbox keeps its
//! newest [`MAX_COMPLETED_EXECUTIONS`] completed records.

use anyhow::Context;
use runloop_types::{DevboxLogEntry, ExecutionStatus};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::devbox_logs::append_log_tx;
use super::{to_count, Store};

/// The kept part of one output stream: the bytes from offset `start` to the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredOutput {
    /// Byte offset of `bytes` in the whole stream; bytes before it were not kept.
    pub start: u64,
    /// The newest bytes of the stream.
    pub bytes: Vec<u8>,
}

/// Everything the state database keeps about one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionRecord {
    /// Execution id (`exe_…`).
    pub id: String,
    /// Devbox the command ran in.
    pub devbox_id: String,
    /// The command text.
    pub command: String,
    /// Named shell of the command, if any.
    pub shell_name: Option<String>,
    /// Whether the command was started with `attach_stdin`.
    pub attach_stdin: bool,
    /// Status when the record was last written.
    pub status: ExecutionStatus,
    /// Exit status once completed.
    pub exit_status: Option<i32>,
    /// Kept stdout.
    pub stdout: StoredOutput,
    /// Kept stderr.
    pub stderr: StoredOutput,
}

/// Completed executions each devbox keeps by default. Storing another completion deletes the
/// oldest completed records of that devbox beyond this count, but never a queued or running
/// one. With up to 8 MiB of output each, this bounds a devbox's records to about
/// 8 GiB in the worst case.
pub const MAX_COMPLETED_EXECUTIONS: usize = 1_000;

const COLUMNS: &str = "id, devbox_id, command, shell_name, attach_stdin, status, exit_status, \
                       stdout_start, stdout, stderr_start, stderr";

impl Store {
    /// Inserts a new execution and appends `started` to its devbox's log. An execution that
    /// was already stored (completed before this insert) is left as it is.
    pub fn insert_execution(
        &self,
        record: &ExecutionRecord,
        create_time_ms: i64,
        started: &DevboxLogEntry,
    ) -> anyhow::Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO executions (id, devbox_id, command, shell_name, attach_stdin, status,
                     exit_status, create_time_ms, stdout_start, stdout, stderr_start, stderr)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    record.id,
                    record.devbox_id,
                    record.command,
                    record.shell_name,
                    record.attach_stdin,
                    status_text(record.status),
                    record.exit_status,
                    create_time_ms,
                    offset_value(record.stdout.start)?,
                    record.stdout.bytes,
                    offset_value(record.stderr.start)?,
                    record.stderr.bytes,
                ],
            )
            .with_context(|| format!("failed to insert execution {}", record.id))?;
            append_log_tx(tx, &record.devbox_id, started)
        })
    }

    /// Writes the final status, exit status and output of an execution, appends `exited` to
    /// its devbox's log and deletes the devbox's oldest completed executions beyond
    /// [`Store::max_completed_executions`], in one transaction.
    pub fn complete_execution(
        &self,
        record: &ExecutionRecord,
        exited: &DevboxLogEntry,
    ) -> anyhow::Result<()> {
        let keep = self.max_completed_executions();
        self.write(|tx| {
            put_execution_tx(tx, record, crate::clock::now_ms())?;
            append_log_tx(tx, &record.devbox_id, exited)?;
            prune_completed_tx(tx, &record.devbox_id, keep)
        })
    }

    /// Stores the status and output of an execution that has not completed, so a crash
    /// loses only the output written after this call. Changes nothing once the stored
    /// execution is completed, so a checkpoint that races with the completion cannot undo
    /// it. Returns whether a record was updated.
    pub fn checkpoint_execution(&self, record: &ExecutionRecord) -> anyhow::Result<bool> {
        self.write(|tx| {
            let updated = tx
                .execute(
                    "UPDATE executions SET status = ?2, stdout_start = ?3, stdout = ?4,
                         stderr_start = ?5, stderr = ?6
                     WHERE id = ?1 AND status != 'completed' AND ?2 != 'completed'",
                    params![
                        record.id,
                        status_text(record.status),
                        offset_value(record.stdout.start)?,
                        record.stdout.bytes,
                        offset_value(record.stderr.start)?,
                        record.stderr.bytes,
                    ],
                )
                .with_context(|| format!("failed to checkpoint execution {}", record.id))?;
            Ok(updated > 0)
        })
    }

    /// Returns the execution `execution_id` of devbox `devbox_id`, or `None` if there is none.
    pub fn get_execution(
        &self,
        devbox_id: &str,
        execution_id: &str,
    ) -> anyhow::Result<Option<ExecutionRecord>> {
        self.read(|conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM executions WHERE id = ?1 AND devbox_id = ?2"),
                [execution_id, devbox_id],
                read_record,
            )
            .optional()
            .with_context(|| format!("failed to read execution {execution_id}"))?
            .transpose()
        })
    }

    /// Applies `finish` to every execution that is not `completed` and stores the changed
    /// record together with the log entry `finish` returns, in one transaction, then applies
    /// the retention limit to their devboxes. Returns the ids of those executions. Used at
    /// startup, because the processes of a previous run are gone.
    pub fn finish_unfinished_executions(
        &self,
        now_ms: i64,
        mut finish: impl FnMut(&mut ExecutionRecord) -> DevboxLogEntry,
    ) -> anyhow::Result<Vec<String>> {
        let keep = self.max_completed_executions();
        self.write(|tx| {
            let records = unfinished_records(tx)?;

            let mut ids = Vec::new();
            let mut devbox_ids = Vec::new();
            for mut record in records {
                let entry = finish(&mut record);
                put_execution_tx(tx, &record, now_ms)?;
                append_log_tx(tx, &record.devbox_id, &entry)?;
                if !devbox_ids.contains(&record.devbox_id) {
                    devbox_ids.push(record.devbox_id.clone());
                }
                ids.push(record.id);
            }
            for devbox_id in &devbox_ids {
                prune_completed_tx(tx, devbox_id, keep)?;
            }
            Ok(ids)
        })
    }
}

/// Deletes the completed executions of devbox `devbox_id` except the `keep` newest, by
/// creation order. Queued and running executions are never deleted.
fn prune_completed_tx(tx: &Transaction<'_>, devbox_id: &str, keep: usize) -> anyhow::Result<()> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    tx.execute(
        "DELETE FROM executions WHERE devbox_id = ?1 AND status = 'completed' AND seq NOT IN (
             SELECT seq FROM executions WHERE devbox_id = ?1 AND status = 'completed'
             ORDER BY seq DESC LIMIT ?2)",
        params![devbox_id, keep],
    )
    .with_context(|| format!("failed to delete old executions of devbox {devbox_id}"))?;
    Ok(())
}

/// Inserts or replaces the state of `record`, keeping the create time of a stored one.
fn put_execution_tx(
    tx: &Transaction<'_>,
    record: &ExecutionRecord,
    now_ms: i64,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO executions (id, devbox_id, command, shell_name, attach_stdin, status,
             exit_status, create_time_ms, stdout_start, stdout, stderr_start, stderr)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status,
             exit_status = excluded.exit_status, stdout_start = excluded.stdout_start,
             stdout = excluded.stdout, stderr_start = excluded.stderr_start,
             stderr = excluded.stderr",
        params![
            record.id,
            record.devbox_id,
            record.command,
            record.shell_name,
            record.attach_stdin,
            status_text(record.status),
            record.exit_status,
            now_ms,
            offset_value(record.stdout.start)?,
            record.stdout.bytes,
            offset_value(record.stderr.start)?,
            record.stderr.bytes,
        ],
    )
    .with_context(|| format!("failed to store execution {}", record.id))?;
    Ok(())
}

fn unfinished_records(conn: &Connection) -> anyhow::Result<Vec<ExecutionRecord>> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM executions WHERE status != 'completed' ORDER BY seq"
        ))
        .context("failed to prepare the unfinished execution query")?;
    let rows = statement
        .query_map([], read_record)
        .context("failed to list unfinished executions")?;

    let mut records = Vec::new();
    for row in rows {
        records.push(row.context("failed to read an execution row")??);
    }
    Ok(records)
}

/// Decodes one row selected with [`COLUMNS`]. The outer result carries SQLite errors, the
/// inner one a value this build cannot decode.
fn read_record(row: &Row<'_>) -> rusqlite::Result<anyhow::Result<ExecutionRecord>> {
    let id: String = row.get(0)?;
    let status: String = row.get(5)?;
    let Some(status) = parse_status(&status) else {
        return Ok(Err(anyhow::anyhow!(
            "execution {id} has the unknown status {status:?} in the state database"
        )));
    };
    Ok(Ok(ExecutionRecord {
        id,
        devbox_id: row.get(1)?,
        command: row.get(2)?,
        shell_name: row.get(3)?,
        attach_stdin: row.get(4)?,
        status,
        exit_status: row.get(6)?,
        stdout: StoredOutput {
            start: to_count(row.get(7)?),
            bytes: row.get(8)?,
        },
        stderr: StoredOutput {
            start: to_count(row.get(9)?),
            bytes: row.get(10)?,
        },
    }))
}

fn offset_value(offset: u64) -> anyhow::Result<i64> {
    i64::try_from(offset).with_context(|| format!("output offset {offset} is too large to store"))
}

fn status_text(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Queued => "queued",
        ExecutionStatus::Running => "running",
        ExecutionStatus::Completed => "completed",
    }
}

fn parse_status(text: &str) -> Option<ExecutionStatus> {
    match text {
        "queued" => Some(ExecutionStatus::Queued),
        "running" => Some(ExecutionStatus::Running),
        "completed" => Some(ExecutionStatus::Completed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{insert_test_devbox, temp_store};

    fn record(id: &str, status: ExecutionStatus) -> ExecutionRecord {
        ExecutionRecord {
            id: id.to_owned(),
            devbox_id: "dbx_1".to_owned(),
            command: "echo hi".to_owned(),
            shell_name: Some("main".to_owned()),
            attach_stdin: true,
            status,
            exit_status: None,
            stdout: StoredOutput::default(),
            stderr: StoredOutput::default(),
        }
    }

    fn entry(message: &str, cmd_id: &str) -> DevboxLogEntry {
        DevboxLogEntry {
            level: "info".to_owned(),
            source: "exec".to_owned(),
            timestamp_ms: 1,
            cmd: None,
            cmd_id: Some(cmd_id.to_owned()),
            exit_code: None,
            message: Some(message.to_owned()),
            shell_name: None,
        }
    }

    #[test]
    fn completed_execution_reads_back_with_output() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        let mut stored = record("exe_1", ExecutionStatus::Running);
        store
            .insert_execution(&stored, 10, &entry("started", "exe_1"))
            .expect("insert");

        stored.status = ExecutionStatus::Completed;
        stored.exit_status = Some(3);
        stored.stdout = StoredOutput {
            start: 7,
            bytes: vec![b'a', 0xFF, b'\n'],
        };
        stored.stderr = StoredOutput {
            start: 0,
            bytes: b"oops\n".to_vec(),
        };
        store
            .complete_execution(&stored, &entry("exited", "exe_1"))
            .expect("complete");

        let read = store.get_execution("dbx_1", "exe_1").expect("get");
        assert_eq!(read, Some(stored));
        let logs = store
            .devbox_logs("dbx_1", Some("exe_1"), None)
            .expect("logs");
        let messages: Vec<_> = logs.iter().map(|e| e.message.as_deref()).collect();
        assert_eq!(messages, [Some("started"), Some("exited")]);
    }

    #[test]
    fn execution_of_another_devbox_is_not_found() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        store
            .insert_execution(
                &record("exe_1", ExecutionStatus::Running),
                1,
                &entry("s", "exe_1"),
            )
            .expect("insert");

        assert_eq!(store.get_execution("dbx_2", "exe_1").expect("get"), None);
        assert_eq!(store.get_execution("dbx_1", "exe_2").expect("get"), None);
    }

    #[test]
    fn insert_after_completion_keeps_completed_record() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        let mut completed = record("exe_1", ExecutionStatus::Completed);
        completed.exit_status = Some(137);
        store
            .complete_execution(&completed, &entry("exited", "exe_1"))
            .expect("complete");

        store
            .insert_execution(
                &record("exe_1", ExecutionStatus::Running),
                1,
                &entry("started", "exe_1"),
            )
            .expect("insert");
        let read = store.get_execution("dbx_1", "exe_1").expect("get");
        assert_eq!(read.map(|r| r.exit_status), Some(Some(137)));
    }

    #[test]
    fn unfinished_executions_are_finished_once() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        for (id, status) in [
            ("exe_q", ExecutionStatus::Queued),
            ("exe_r", ExecutionStatus::Running),
        ] {
            store
                .insert_execution(&record(id, status), 1, &entry("started", id))
                .expect("insert");
        }
        let mut done = record("exe_c", ExecutionStatus::Completed);
        done.exit_status = Some(0);
        store
            .complete_execution(&done, &entry("exited", "exe_c"))
            .expect("complete");

        let finish = |record: &mut ExecutionRecord| {
            record.status = ExecutionStatus::Completed;
            record.exit_status = Some(-1);
            record.stderr.bytes.extend_from_slice(b"stopped\n");
            entry("interrupted", &record.id)
        };
        let ids = store
            .finish_unfinished_executions(5, finish)
            .expect("finish");
        assert_eq!(ids, ["exe_q", "exe_r"]);

        let running = store.get_execution("dbx_1", "exe_r").expect("get");
        let running = running.expect("exists");
        assert_eq!(running.status, ExecutionStatus::Completed);
        assert_eq!(running.exit_status, Some(-1));
        assert_eq!(running.stderr.bytes, b"stopped\n");
        let logs = store
            .devbox_logs("dbx_1", Some("exe_r"), None)
            .expect("logs");
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[1].message.as_deref(), Some("interrupted"));

        let again = store
            .finish_unfinished_executions(6, finish)
            .expect("finish");
        assert!(again.is_empty());
    }

    #[test]
    fn checkpoint_stores_output_until_completion() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        let mut running = record("exe_1", ExecutionStatus::Queued);
        store
            .insert_execution(&running, 1, &entry("queued", "exe_1"))
            .expect("insert");

        running.status = ExecutionStatus::Running;
        running.stdout.bytes = b"first\n".to_vec();
        assert!(store.checkpoint_execution(&running).expect("checkpoint"));
        let read = store.get_execution("dbx_1", "exe_1").expect("get");
        assert_eq!(read.as_ref(), Some(&running));

        let mut completed = running.clone();
        completed.status = ExecutionStatus::Completed;
        completed.exit_status = Some(0);
        completed.stdout.bytes = b"first\nlast\n".to_vec();
        store
            .complete_execution(&completed, &entry("exited", "exe_1"))
            .expect("complete");
        let late = store
            .checkpoint_execution(&running)
            .expect("late checkpoint");
        assert!(
            !late,
            "a checkpoint after the completion changed the record"
        );
        let read = store.get_execution("dbx_1", "exe_1").expect("get");
        assert_eq!(read, Some(completed));
    }

    #[test]
    fn checkpoint_of_unknown_execution_changes_nothing() {
        let (_dir, store) = temp_store();
        insert_test_devbox(&store, "dbx_1");
        let stored = store
            .checkpoint_execution(&record("exe_x", ExecutionStatus::Running))
            .expect("checkpoint");
        assert!(!stored);
        assert_eq!(store.get_execution("dbx_1", "exe_x").expect("get"), None);
    }

    #[test]
    fn completion_prunes_oldest_completed_executions() {
        let (_dir, store) = temp_store();
        let store = store.with_max_completed_executions(2);
        insert_test_devbox(&store, "dbx_1");
        insert_test_devbox(&store, "dbx_2");
        let other = ExecutionRecord {
            devbox_id: "dbx_2".to_owned(),
            ..record("exe_other", ExecutionStatus::Completed)
        };
        store
            .complete_execution(&other, &entry("exited", "exe_other"))
            .expect("complete in another devbox");
        // exe_0 runs throughout, so it is never pruned although it is the oldest.
        store
            .insert_execution(
                &record("exe_0", ExecutionStatus::Running),
                1,
                &entry("started", "exe_0"),
            )
            .expect("insert running");

        for index in 1..=4 {
            let id = format!("exe_{index}");
            store
                .insert_execution(
                    &record(&id, ExecutionStatus::Running),
                    1,
                    &entry("started", &id),
                )
                .expect("insert");
            let mut done = record(&id, ExecutionStatus::Completed);
            done.exit_status = Some(0);
            store
                .complete_execution(&done, &entry("exited", &id))
                .expect("complete");
        }

        let exists =
            |devbox: &str, id: &str| store.get_execution(devbox, id).expect("get").is_some();
        assert!(exists("dbx_1", "exe_0"), "a running execution was pruned");
        assert!(!exists("dbx_1", "exe_1"));
        assert!(!exists("dbx_1", "exe_2"));
        assert!(exists("dbx_1", "exe_3"));
        assert!(exists("dbx_1", "exe_4"));
        assert!(
            exists("dbx_2", "exe_other"),
            "another devbox lost an execution"
        );
    }

    #[test]
    fn finishing_interrupted_executions_prunes_old_ones() {
        let (_dir, store) = temp_store();
        let store = store.with_max_completed_executions(1);
        insert_test_devbox(&store, "dbx_1");
        let mut done = record("exe_old", ExecutionStatus::Completed);
        done.exit_status = Some(0);
        store
            .complete_execution(&done, &entry("exited", "exe_old"))
            .expect("complete");
        store
            .insert_execution(
                &record("exe_new", ExecutionStatus::Running),
                1,
                &entry("started", "exe_new"),
            )
            .expect("insert");

        let ids = store
            .finish_unfinished_executions(5, |record| {
                record.status = ExecutionStatus::Completed;
                record.exit_status = Some(-1);
                entry("interrupted", &record.id)
            })
            .expect("finish");
        assert_eq!(ids, ["exe_new"]);
        assert_eq!(store.get_execution("dbx_1", "exe_old").expect("get"), None);
        assert!(store
            .get_execution("dbx_1", "exe_new")
            .expect("get")
            .is_some());
    }
}
