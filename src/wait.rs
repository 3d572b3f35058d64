//! Waits: the devbox and execution long polls and the snapshot status poll.
//!
//! Every wait has an optional overall timeout. When it runs out, the wait fails with
//! [`Error::PollingTimeout`] carrying the last state the server returned.

use runloop_types::{
    DevboxAsyncExecutionDetailView, DevboxSnapshotAsyncStatusView, DevboxStatus, DevboxView,
    DevboxWaitParams, ExecutionStatus, ExecutionWaitParams, SnapshotStatus,
};

use crate::client::{Client, RequestOptions};
use crate::error::{Error, PollState, PollingTimeout, Result};
use crate::platform::Platform;
use crate::progress::{report, Progress, ProgressEvent};

/// Maximum hold the server allows for a devbox `wait_for_status`, in seconds.
pub const DEVBOX_HOLD_SECONDS: f64 = 30.0;

/// Maximum hold the server allows for an execution `wait_for_status`, in seconds.
pub const EXECUTION_HOLD_SECONDS: f64 = 25.0;

/// First pause of the snapshot poll, in milliseconds; it doubles up to [`MAX_POLL_DELAY_MS`].
const FIRST_POLL_DELAY_MS: u64 = 10;

/// Maximum pause between two polls, in milliseconds.
const MAX_POLL_DELAY_MS: u64 = 1_000;

/// Settings of a wait.
#[derive(Debug, Clone)]
pub struct WaitOptions<S> {
    /// Overall time allowed for the wait, every request included, in milliseconds; unbounded
    /// when `None`.
    pub timeout_ms: Option<u64>,
    /// Aborts the wait, including a request in flight.
    pub signal: Option<S>,
    /// Receives a `waiting` event for every status the wait sees, the awaited one included.
    pub progress: Option<Progress>,
}

impl<S> Default for WaitOptions<S> {
    fn default() -> Self {
        Self {
            timeout_ms: None,
            signal: None,
            progress: None,
        }
    }
}

/// Returns the pause before poll number `attempt + 1` of a status poll: 10 ms, doubling up
/// to 1 s.
pub fn poll_delay_ms(attempt: u32) -> u64 {
    FIRST_POLL_DELAY_MS
        .saturating_mul(1u64 << attempt.min(16))
        .min(MAX_POLL_DELAY_MS)
}

/// One running wait: its deadline, its signal and the last state seen.
pub(crate) struct Waiter<'a, P: Platform> {
    client: &'a Client<P>,
    signal: Option<P::Signal>,
    timeout_ms: Option<u64>,
    deadline_ms: Option<f64>,
    last: Option<PollState>,
    progress: Option<Progress>,
}

impl<'a, P: Platform> Waiter<'a, P> {
    /// Starts the clock of a wait.
    pub(crate) fn start(client: &'a Client<P>, options: &WaitOptions<P::Signal>) -> Self {
        let deadline_ms = options
            .timeout_ms
            .map(|timeout| client.platform().now_ms() + timeout as f64);
        Self {
            client,
            signal: options.signal.clone(),
            timeout_ms: options.timeout_ms,
            deadline_ms,
            last: None,
            progress: options.progress.clone(),
        }
    }

    /// Sends a progress event, stamped with the time since the operation started.
    pub(crate) fn report(&self, event: ProgressEvent) {
        report(
            self.progress.as_ref(),
            self.client.platform().now_ms(),
            event,
        );
    }

    /// Reports a status the wait saw on the devbox, snapshot or execution `id`.
    fn report_status(&self, id: &str, status: &str) {
        self.report(ProgressEvent::new("waiting").id(id).status(status));
    }

    /// Options for one request of the wait: the wait's signal and deadline.
    pub(crate) fn request_options(&self) -> RequestOptions<P::Signal> {
        RequestOptions {
            signal: self.signal.clone(),
            deadline_ms: self.deadline_ms,
            ..RequestOptions::default()
        }
    }

    /// Records a state returned by the server.
    pub(crate) fn observe(&mut self, state: PollState) {
        self.last = Some(state);
    }

    fn remaining_ms(&self) -> Option<f64> {
        self.deadline_ms
            .map(|deadline| deadline - self.client.platform().now_ms())
    }

    fn expired(&self) -> bool {
        self.remaining_ms()
            .is_some_and(|remaining| remaining <= 0.0)
    }

    /// Returns half the time left before the deadline in seconds, or `None` without one.
    pub(crate) fn half_remaining_seconds(&self) -> Option<f64> {
        self.remaining_ms()
            .map(|remaining| (remaining / 2000.0).max(0.0))
    }

    /// Returns the hold to ask of the server: `max_seconds`, or less when the deadline is
    /// closer.
    fn hold_seconds(&self, max_seconds: f64) -> f64 {
        match self.remaining_ms() {
            Some(remaining) => (remaining / 1000.0).clamp(0.0, max_seconds),
            None => max_seconds,
        }
    }

    /// Turns an error of a request made during the wait into the wait's error: a timeout
    /// caused by the deadline becomes [`Error::PollingTimeout`].
    pub(crate) fn fail(&self, error: Error, waiting_for: &str) -> Error {
        match error {
            Error::Timeout { .. } if self.expired() => self.timeout_error(waiting_for),
            other => other,
        }
    }

    fn timeout_error(&self, waiting_for: &str) -> Error {
        let timeout_ms = self.timeout_ms.unwrap_or(0);
        let last_status = match &self.last {
            Some(PollState::Devbox(view)) => view.status.as_str(),
            Some(PollState::Execution(view)) => execution_status_str(view.status),
            Some(PollState::Snapshot(view)) => view.status.as_str(),
            None => "none seen",
        };
        let message = format!(
            "Timed out after {timeout_ms} ms waiting for {waiting_for} (last status: {last_status})"
        );
        Error::PollingTimeout(Box::new(PollingTimeout {
            message,
            last: self.last.clone(),
        }))
    }

    /// Fails with the polling timeout when the deadline has passed.
    fn check_deadline(&self, waiting_for: &str) -> Result<()> {
        if self.expired() {
            return Err(self.timeout_error(waiting_for));
        }
        Ok(())
    }

    /// Pauses between two polls, never past the deadline.
    async fn pause(&self, delay_ms: u64, waiting_for: &str) -> Result<()> {
        let delay_ms = match self.remaining_ms() {
            Some(remaining) if remaining <= delay_ms as f64 => remaining.max(0.0) as u64,
            _ => delay_ms,
        };
        self.client
            .platform()
            .sleep(delay_ms, self.signal.as_ref())
            .await
            .map_err(|_| Error::Aborted)?;
        self.check_deadline(waiting_for)
    }

    /// Long-polls a devbox until it is `running`. `initial` is a view already in hand, such
    /// as the create response, which may make the wait unnecessary.
    ///
    /// Fails with [`Error::DevboxNotRunning`] on `failure`, `shutdown`, `suspending` and
    /// `suspended`, which cannot turn into `running` on their own.
    pub(crate) async fn devbox_running(
        &mut self,
        id: &str,
        initial: Option<DevboxView>,
    ) -> Result<DevboxView> {
        let waiting_for = format!("devbox {id} to be running");
        let mut early_answers = 0;
        let mut view = initial;

        loop {
            if let Some(current) = view.take() {
                self.report_status(id, current.status.as_str());
                match current.status {
                    DevboxStatus::Running => return Ok(current),
                    DevboxStatus::Failure
                    | DevboxStatus::Shutdown
                    | DevboxStatus::Suspending
                    | DevboxStatus::Suspended => {
                        return Err(Error::DevboxNotRunning {
                            id: id.to_owned(),
                            status: current.status.as_str().to_owned(),
                        })
                    }
                    _ => self.observe(PollState::Devbox(Box::new(current))),
                }
            }
            self.check_deadline(&waiting_for)?;

            let params = DevboxWaitParams {
                statuses: vec![
                    DevboxStatus::Running,
                    DevboxStatus::Failure,
                    DevboxStatus::Shutdown,
                ],
                timeout_seconds: Some(self.hold_seconds(DEVBOX_HOLD_SECONDS)),
            };
            let options = self.request_options();
            match self
                .client
                .devboxes()
                .wait_for_status(id, &params, &options)
                .await
            {
                Ok(answer) => {
                    // A server that responds before a requested status is reached would make
                    // this loop spin, so pause a little between such responses.
                    if !matches!(
                        answer.status,
                        DevboxStatus::Running | DevboxStatus::Failure | DevboxStatus::Shutdown
                    ) {
                        self.pause(poll_delay_ms(early_answers), &waiting_for)
                            .await?;
                        early_answers += 1;
                    }
                    view = Some(answer);
                }
                Err(Error::Api(error)) if error.status == 408 => {}
                Err(error) => return Err(self.fail(error, &waiting_for)),
            }
        }
    }

    /// Long-polls a devbox until it is `suspended`. `initial` is a view already in hand.
    ///
    /// Fails with [`Error::DevboxNotSuspended`] on `failure` and `shutdown`. A `running`
    /// devbox is awaited like one that is `suspending`, since a suspend may not have started.
    pub(crate) async fn devbox_suspended(
        &mut self,
        id: &str,
        initial: Option<DevboxView>,
    ) -> Result<DevboxView> {
        let waiting_for = format!("devbox {id} to be suspended");
        let mut early_answers = 0;
        let mut view = initial;

        loop {
            if let Some(current) = view.take() {
                self.report_status(id, current.status.as_str());
                match current.status {
                    DevboxStatus::Suspended => return Ok(current),
                    DevboxStatus::Failure | DevboxStatus::Shutdown => {
                        return Err(Error::DevboxNotSuspended {
                            id: id.to_owned(),
                            status: current.status.as_str().to_owned(),
                        })
                    }
                    _ => self.observe(PollState::Devbox(Box::new(current))),
                }
            }
            self.check_deadline(&waiting_for)?;

            let params = DevboxWaitParams {
                statuses: vec![
                    DevboxStatus::Suspended,
                    DevboxStatus::Failure,
                    DevboxStatus::Shutdown,
                ],
                timeout_seconds: Some(self.hold_seconds(DEVBOX_HOLD_SECONDS)),
            };
            let options = self.request_options();
            match self
                .client
                .devboxes()
                .wait_for_status(id, &params, &options)
                .await
            {
                Ok(answer) => {
                    if !params.statuses.contains(&answer.status) {
                        self.pause(poll_delay_ms(early_answers), &waiting_for)
                            .await?;
                        early_answers += 1;
                    }
                    view = Some(answer);
                }
                Err(Error::Api(error)) if error.status == 408 => {}
                Err(error) => return Err(self.fail(error, &waiting_for)),
            }
        }
    }

    /// Long-polls an execution until it is `completed`. `initial` is the view returned by the
    /// call that started it.
    pub(crate) async fn execution_completed(
        &mut self,
        devbox_id: &str,
        initial: DevboxAsyncExecutionDetailView,
        last_n: Option<u32>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let execution_id = initial.execution_id.clone();
        let waiting_for = format!("execution {execution_id} on devbox {devbox_id} to complete");
        let mut early_answers = 0;
        let mut view = initial;

        loop {
            self.report_status(&execution_id, execution_status_str(view.status));
            if view.status == ExecutionStatus::Completed {
                return Ok(view);
            }
            self.observe(PollState::Execution(Box::new(view.clone())));
            self.check_deadline(&waiting_for)?;

            let params = ExecutionWaitParams {
                statuses: vec![ExecutionStatus::Completed],
                timeout_seconds: Some(self.hold_seconds(EXECUTION_HOLD_SECONDS)),
            };
            let options = self.request_options();
            let answer = self
                .client
                .executions()
                .wait_for_status(devbox_id, &execution_id, &params, last_n, &options)
                .await;
            match answer {
                Ok(answer) => {
                    if answer.status != ExecutionStatus::Completed {
                        self.pause(poll_delay_ms(early_answers), &waiting_for)
                            .await?;
                        early_answers += 1;
                    }
                    view = answer;
                }
                Err(Error::Api(error)) if error.status == 408 => {}
                Err(error) => return Err(self.fail(error, &waiting_for)),
            }
        }
    }

    /// Polls a snapshot's status until it is `complete`: at once, then after pauses that
    /// start at 10 ms and level off at 1 s, so that a small capture ends within milliseconds.
    ///
    /// Fails with [`Error::SnapshotFailed`] (with the server's message) on `error` and with
    /// [`Error::SnapshotDeleted`] on `deleted`.
    pub(crate) async fn snapshot_completed(
        &mut self,
        id: &str,
    ) -> Result<DevboxSnapshotAsyncStatusView> {
        let waiting_for = format!("snapshot {id} to complete");
        let mut attempt = 0;

        loop {
            self.check_deadline(&waiting_for)?;
            let options = self.request_options();
            let status = self
                .client
                .snapshots()
                .query_status(id, &options)
                .await
                .map_err(|error| self.fail(error, &waiting_for))?;

            self.report_status(id, status.status.as_str());
            match status.status {
                SnapshotStatus::Complete => return Ok(status),
                SnapshotStatus::Error => {
                    let message = status
                        .error_message
                        .unwrap_or_else(|| "unknown error".to_owned());
                    return Err(Error::SnapshotFailed {
                        id: id.to_owned(),
                        message,
                    });
                }
                SnapshotStatus::Deleted => {
                    return Err(Error::SnapshotDeleted { id: id.to_owned() })
                }
                SnapshotStatus::InProgress => {
                    self.observe(PollState::Snapshot(Box::new(status)));
                }
            }

            self.pause(poll_delay_ms(attempt), &waiting_for).await?;
            attempt += 1;
        }
    }
}

fn execution_status_str(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Queued => "queued",
        ExecutionStatus::Running => "running",
        ExecutionStatus::Completed => "completed",
    }
}
