//! Runs `cp` and other layer work within a deadline and a cancellation token.

use std::future::Future;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Maximum number of bytes of `cp`'s stderr kept for an error message.
const MAX_STDERR_BYTES: u64 = 16 * 1024;

/// The limits of one capture or squash: a deadline and a token that cancels the work.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Moment the work must be finished by.
    pub deadline: Instant,
    /// The time the work was given, for messages.
    pub limit: Duration,
    /// Fired when the devbox or the server shuts down.
    pub cancel: CancellationToken,
}

impl Budget {
    /// Creates a budget of `limit` from now.
    pub fn new(limit: Duration, cancel: CancellationToken) -> Self {
        Self {
            deadline: Instant::now() + limit,
            limit,
            cancel,
        }
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Runs `work` until it finishes, the deadline passes or the token fires. In the last
    /// two cases `work` is dropped and the error names the reason.
    pub async fn run<T>(&self, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(self.cancelled_error()),
            result = work => result,
            () = tokio::time::sleep_until(self.deadline) => Err(self.deadline_error()),
        }
    }

    /// Returns an error if the token has fired or the deadline has passed.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.cancel.is_cancelled() {
            return Err(self.cancelled_error());
        }
        if Instant::now() >= self.deadline {
            return Err(self.deadline_error());
        }
        Ok(())
    }

    fn cancelled_error(&self) -> anyhow::Error {
        anyhow::anyhow!("the devbox or the server shut down during the capture")
    }

    fn deadline_error(&self) -> anyhow::Error {
        anyhow::anyhow!(
            "the capture did not finish within its time limit of {} s; raise \
             --snapshot-timeout for devboxes with many changes",
            self.limit.as_secs_f64()
        )
    }
}

/// Runs `cp` with `args` in `cwd` within `budget`. When the budget runs out, `cp` is killed
/// and reaped before this returns, so it writes nothing afterwards.
pub async fn run_cp(
    cp: &Path,
    cwd: &Path,
    args: &[&std::ffi::OsStr],
    budget: &Budget,
) -> anyhow::Result<()> {
    let mut child = Command::new(cp)
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to run {}", cp.display()))?;
    let mut stderr = child.stderr.take().context("cp stderr is not piped")?;
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = (&mut stderr)
            .take(MAX_STDERR_BYTES)
            .read_to_string(&mut text)
            .await;
        text
    });

    let waited = budget.run(async { Ok(child.wait().await) }).await;
    let status = match waited {
        Ok(status) => status.context("failed to wait for cp")?,
        Err(reason) => {
            if let Err(error) = child.kill().await {
                tracing::warn!(%error, "failed to kill an interrupted cp");
            }
            return Err(reason);
        }
    };
    if !status.success() {
        let stderr = stderr_task.await.unwrap_or_default();
        anyhow::bail!("cp failed ({status}): {}", stderr.trim());
    }
    Ok(())
}
