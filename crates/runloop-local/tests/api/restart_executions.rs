//! Executions and devbox logs across restarts on the same data dir. Completed executions
//! keep their output. After a crash, unfinished ones come back completed with exit status
//! -1 and their checkpointed output. Commands killed by a clean stop are recorded as
//! killed, and each devbox keeps only its newest completed executions.

use std::time::Duration;

use reqwest::StatusCode;
use runloop_local::Config;
use serde_json::{json, Value};

use crate::common::{TestServer, TOKEN};
use crate::executions_support::{execution_id, open_stream, read_chunks, start_async};

/// Exit status of a command killed with SIGKILL (128 + 9).
const EXIT_KILLED: i64 = 137;

/// Exit status of an execution the server could not wait for.
const EXIT_NOT_RUN: i64 = -1;

/// Bytes of each stream a completed execution keeps (4 MiB).
const WINDOW_BYTES: u64 = 4 * 1024 * 1024;

/// Time between two output checkpoints of a running execution, plus a margin for the write.
const CHECKPOINT_WAIT: Duration = Duration::from_millis(1_500);

/// Returns the execution `execution` of devbox `id`, with `query` appended to the path.
async fn get_execution(
    server: &TestServer,
    id: &str,
    execution: &str,
    query: &str,
) -> (StatusCode, Value) {
    server
        .get(&format!("/v1/devboxes/{id}/executions/{execution}{query}"))
        .await
}

/// Returns the log entries of devbox `id` with `query` appended to the path.
async fn logs(server: &TestServer, id: &str, query: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/v1/devboxes/{id}/logs{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["logs"].as_array().expect("logs is an array").clone()
}

/// Polls the execution until its status is `status`.
async fn await_execution_status(server: &TestServer, id: &str, execution: &str, status: &str) {
    let (code, view) = server
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/wait_for_status"),
            json!({ "statuses": [status] }),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "execution never became {status}: {view}"
    );
}

#[tokio::test]
async fn completed_execution_survives_restart() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut first = TestServer::start_in(dir.path());
    let id = first.create_running(json!({})).await;
    let view = first
        .exec(&id, "printf 'a\\nb\\nc\\n'; echo err >&2; exit 3")
        .await;
    let execution = execution_id(&view);
    assert_eq!(view["exit_status"], 3, "{view}");
    first.stop().await;

    let mut second = TestServer::start_in(dir.path());
    second.track(&id);
    let (status, restored) = get_execution(&second, &id, &execution, "").await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["status"], "completed");
    assert_eq!(restored["exit_status"], 3);
    assert_eq!(restored["stdout"], "a\nb\nc\n");
    assert_eq!(restored["stderr"], "err\n");
    assert_eq!(restored["stdout_truncated"], false);
    assert_eq!(restored["devbox_id"], id.as_str());
    assert_eq!(restored["execution_id"], execution.as_str());

    let (status, tail) = get_execution(&second, &id, &execution, "?last_n=2").await;
    assert_eq!(status, StatusCode::OK, "{tail}");
    assert_eq!(tail["stdout"], "b\nc\n");
    assert_eq!(tail["stdout_truncated"], true);
    assert_eq!(tail["stderr"], "err\n");

    let (status, waited) = second
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/wait_for_status?last_n=1"),
            json!({ "statuses": ["completed"], "timeout_seconds": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{waited}");
    assert_eq!(waited["stdout"], "c\n");

    let stdout = read_chunks(&second, &id, &execution, "stdout", None).await;
    let whole: String = stdout.iter().map(|(text, _)| text.as_str()).collect();
    assert_eq!(whole, "a\nb\nc\n");
    assert_eq!(stdout.last().map(|(_, end)| *end), Some(6));
    let rest = read_chunks(&second, &id, &execution, "stdout", Some(2)).await;
    assert_eq!(rest, vec![("b\nc\n".to_owned(), 6)]);
    let stderr = read_chunks(&second, &id, &execution, "stderr", Some(0)).await;
    assert_eq!(stderr, vec![("err\n".to_owned(), 4)]);

    let (status, killed) = second
        .post(
            &format!("/v1/devboxes/{id}/executions/{execution}/kill"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{killed}");
    assert_eq!(
        killed["exit_status"], 3,
        "kill changed a completed execution"
    );

    let (status, missing) = get_execution(&second, &id, "exe_unknown", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");

    second.stop().await;
}

#[tokio::test]
async fn long_output_keeps_window_after_restart() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut first = TestServer::start_in(dir.path());
    let id = first.create_running(json!({})).await;
    let view = first
        .exec(
            &id,
            "head -c 5000000 /dev/zero | tr '\\0' a; echo; echo last",
        )
        .await;
    let execution = execution_id(&view);
    let total: u64 = 5_000_000 + 1 + 5;
    first.stop().await;

    let mut second = TestServer::start_in(dir.path());
    second.track(&id);
    let (status, tail) = get_execution(&second, &id, &execution, "?last_n=1").await;
    assert_eq!(status, StatusCode::OK, "{tail}");
    assert_eq!(tail["stdout"], "last\n");
    assert_eq!(tail["stdout_truncated"], true);

    // Bytes before the kept window are gone; the error names where the kept bytes begin.
    let window_start = total - WINDOW_BYTES;
    let mut from_start = open_stream(&second, &id, &execution, "stdout", Some(0)).await;
    let event = from_start.next().await.expect("an error event");
    assert_eq!(event.event.as_deref(), Some("error"), "{event:?}");
    assert!(
        event.data.contains(&format!("offset={window_start}")),
        "{event:?}"
    );

    let kept = read_chunks(&second, &id, &execution, "stdout", Some(window_start)).await;
    let length: usize = kept.iter().map(|(text, _)| text.len()).sum();
    assert_eq!(length as u64, WINDOW_BYTES);
    assert_eq!(kept.last().map(|(_, end)| *end), Some(total));
    assert!(kept
        .last()
        .is_some_and(|(text, _)| text.ends_with("a\nlast\n")));

    second.stop().await;
}

#[tokio::test]
async fn unfinished_executions_end_after_crash() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut crashed = TestServer::start_in(dir.path());
    let id = crashed.create_running(json!({})).await;
    let running = start_async(
        &crashed,
        &id,
        json!({ "command": "echo started; sleep 600", "shell_name": "s" }),
    )
    .await;
    let running = execution_id(&running);
    await_execution_status(&crashed, &id, &running, "running").await;
    let mut stdout = open_stream(&crashed, &id, &running, "stdout", None).await;
    let event = stdout.next().await.expect("first output");
    assert_eq!(event.chunk(), ("started\n".to_owned(), 8));
    // The output API cannot show when a checkpoint has been written, so this waits.
    tokio::time::sleep(CHECKPOINT_WAIT).await;
    let queued = start_async(
        &crashed,
        &id,
        json!({ "command": "echo never", "shell_name": "s" }),
    )
    .await;
    assert_eq!(queued["status"], "queued", "{queued}");
    let queued = execution_id(&queued);
    crashed.crash().await;

    let mut second = TestServer::start_in(dir.path());
    second.track(&id);
    let (status, view) = get_execution(&second, &id, &running, "").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["exit_status"], EXIT_NOT_RUN);
    assert_eq!(view["stdout"], "started\n", "checkpointed output was lost");
    assert_eq!(
        view["stderr"],
        "runloop-local: the server stopped while the command ran, so its exit status is \
         unknown\n"
    );
    assert_eq!(view["shell_name"], "s");

    let (status, view) = get_execution(&second, &id, &queued, "").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["exit_status"], EXIT_NOT_RUN);
    assert_eq!(
        view["stderr"],
        "runloop-local: the server stopped before the command started\n"
    );

    let stderr = read_chunks(&second, &id, &queued, "stderr", None).await;
    let text: String = stderr.iter().map(|(text, _)| text.as_str()).collect();
    assert_eq!(
        text,
        "runloop-local: the server stopped before the command started\n"
    );

    let entries = logs(&second, &id, &format!("?execution_id={running}")).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[1]["exit_code"], EXIT_NOT_RUN);
    assert_eq!(entries[1]["level"], "error");

    second.stop().await;
}

#[tokio::test]
async fn clean_stop_records_killed_commands() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut first = TestServer::start_in(dir.path());
    let id = first.create_running(json!({})).await;
    let running = start_async(&first, &id, json!({ "command": "echo started; sleep 600" })).await;
    let running = execution_id(&running);
    let mut stdout = open_stream(&first, &id, &running, "stdout", None).await;
    let event = stdout.next().await.expect("first output");
    assert_eq!(event.chunk(), ("started\n".to_owned(), 8));
    first.stop().await;

    let mut second = TestServer::start_in(dir.path());
    second.track(&id);
    let (status, view) = get_execution(&second, &id, &running, "").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["exit_status"], EXIT_KILLED, "{view}");
    assert_eq!(view["stdout"], "started\n");

    second.stop().await;
}

#[tokio::test]
async fn devbox_logs_survive_restart() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut first = TestServer::start_in(dir.path());
    let id = first
        .create_running(json!({ "launch_parameters": { "launch_commands": ["echo setup-line"] } }))
        .await;
    first.write_file(&id, "notes/a.txt", "hello").await;
    let view = first.exec(&id, "exit 4").await;
    let execution = execution_id(&view);
    let before = logs(&first, &id, "").await;
    first.stop().await;

    let mut second = TestServer::start_in(dir.path());
    second.track(&id);
    let after = logs(&second, &id, "").await;
    assert!(after.len() >= before.len(), "{after:?}");
    assert_eq!(after[..before.len()], before[..], "stored entries changed");
    assert!(
        after
            .iter()
            .any(|entry| entry["source"] == "setup_commands" && entry["message"] == "setup-line"),
        "{after:?}"
    );
    assert!(
        after.iter().any(|entry| entry["source"] == "files"),
        "{after:?}"
    );

    let by_execution = logs(&second, &id, &format!("?execution_id={execution}")).await;
    assert_eq!(by_execution.len(), 2, "{by_execution:?}");
    assert_eq!(by_execution[0]["message"], "command started");
    assert_eq!(by_execution[1]["exit_code"], 4);

    second.stop().await;
}

#[tokio::test]
async fn oldest_completed_executions_are_pruned() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut config = Config::new(dir.path(), TOKEN);
    config.max_completed_executions = 2;
    let mut first = TestServer::start_with(config);
    let id = first.create_running(json!({})).await;
    let sleeper = execution_id(&start_async(&first, &id, json!({ "command": "sleep 600" })).await);
    let mut executions = Vec::new();
    for index in 0..3 {
        let view = first.exec(&id, &format!("echo {index}")).await;
        assert_eq!(view["status"], "completed", "{view}");
        executions.push(execution_id(&view));
    }

    // The server removes a pruned execution at once, not only after a restart.
    let (status, pruned) = get_execution(&first, &id, &executions[0], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{pruned}");
    let (status, running) = get_execution(&first, &id, &sleeper, "").await;
    assert_eq!(status, StatusCode::OK, "{running}");
    assert_eq!(running["status"], "running", "{running}");

    // Completing the oldest execution makes it the oldest completed one, so it goes too.
    let (status, killed) = first
        .post(
            &format!("/v1/devboxes/{id}/executions/{sleeper}/kill"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{killed}");
    let (status, pruned) = get_execution(&first, &id, &sleeper, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{pruned}");
    for (index, execution) in executions.iter().enumerate().skip(1) {
        let (status, kept) = get_execution(&first, &id, execution, "").await;
        assert_eq!(status, StatusCode::OK, "{kept}");
        assert_eq!(kept["stdout"], format!("{index}\n"));
    }
    first.stop().await;

    let mut second = TestServer::start_in(dir.path());
    second.track(&id);
    let (status, pruned) = get_execution(&second, &id, &executions[0], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{pruned}");
    for (index, execution) in executions.iter().enumerate().skip(1) {
        let (status, kept) = get_execution(&second, &id, execution, "").await;
        assert_eq!(status, StatusCode::OK, "{kept}");
        assert_eq!(kept["stdout"], format!("{index}\n"));
    }

    second.stop().await;
}

/// Returns whether a file named `name` exists anywhere under `dir`.
fn file_exists_under(dir: &std::path::Path, name: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        entry.file_name() == name || (is_dir && file_exists_under(&path, name))
    })
}

#[tokio::test]
async fn pruned_execution_spill_files_are_deleted() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut config = Config::new(dir.path(), TOKEN);
    config.max_completed_executions = 1;
    let mut server = TestServer::start_with(config);
    let id = server.create_running(json!({})).await;

    // More than twice the 4 MiB memory window, so the oldest bytes go to a spill file.
    let chatty = server
        .exec(&id, "head -c 9437184 /dev/zero | tr '\\0' a")
        .await;
    assert_eq!(chatty["status"], "completed", "{chatty}");
    let spill_name = format!("{}.stdout", execution_id(&chatty));
    assert!(
        file_exists_under(dir.path(), &spill_name),
        "no spill file {spill_name} under the data dir"
    );

    let next = server.exec(&id, "echo next").await;
    assert_eq!(next["status"], "completed", "{next}");
    let (status, pruned) = get_execution(&server, &id, &execution_id(&chatty), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{pruned}");
    assert!(
        !file_exists_under(dir.path(), &spill_name),
        "the pruned execution's spill file {spill_name} is still there"
    );

    server.stop().await;
}
