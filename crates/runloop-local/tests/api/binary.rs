//! The `runloop-local` executable: flags, the ready line and signal handling.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::{mounts_under, TOKEN};

const BINARY: &str = env!("CARGO_BIN_EXE_runloop-local");

#[tokio::test]
async fn binary_prints_url_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let mut child = Command::new(BINARY)
        .args(["--port", "0", "--token", TOKEN, "--log-level", "warn"])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("RUNLOOP_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");

    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("ready line within a minute")
        .expect("stdout is readable")
        .expect("binary printed a line");
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "ready line is {url:?}"
    );

    let response = reqwest::Client::new()
        .get(format!("{url}/v1/devboxes"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("server answers");
    assert_eq!(response.status(), StatusCode::OK);

    let pid = child.id().expect("child is running").to_string();
    let signalled = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(signalled.success());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("binary exits within a minute")
        .expect("exit status");
    assert!(status.success(), "binary exited with {status}");
    assert_eq!(lines.next_line().await.expect("stdout"), None);
    assert!(mounts_under(dir.path()).is_empty());
}

#[tokio::test]
async fn binary_without_token_fails() {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let output = Command::new(BINARY)
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("RUNLOOP_API_KEY")
        .output()
        .await
        .expect("binary runs");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--token"), "stderr: {stderr}");
    assert!(output.stdout.is_empty());
}
