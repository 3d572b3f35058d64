//! Keep-alive and idle timers: the rules that end or suspend a running devbox on its own.
//!
//! - **Keep-alive.** A devbox shuts down with `keep_alive_timeout` once
//!   `keep_alive_time_seconds` (3600 by default) pass without a keep_alive call. The clock
//!   starts when the devbox starts or resumes running. It does not apply when `after_idle`
//!   is set, as in the hosted API.
//! - **Idle.** With `after_idle`, a devbox that has been idle for `idle_time_seconds`
//!   shuts down with `idle` or suspends. Idle means that no execution is running and that
//!   no request that uses the devbox ran within that time. `http::activity` lists the
//!   requests that count.
//!
//! Both clocks run only while the devbox is `running`. One task per devbox, started when
//! it first runs, sleeps until the next deadline and checks again, because activity only
//! moves deadlines later.

use std::sync::Arc;
use std::time::Duration;

use runloop_types::{DevboxStatus, IdleAction, ShutdownReason};
use tokio::time::Instant;

use super::runtime::{DevboxRuntime, RequestGuard};
use super::Services;

/// Keep-alive time of a devbox created without `keep_alive_time_seconds` or `after_idle`.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(3600);

/// Time the timer task waits before it reads a devbox again after the store failed.
const RETRY_AFTER_STORE_ERROR: Duration = Duration::from_secs(1);

/// The instants the timers measure from.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    /// Last keep_alive call, or when the devbox last started running.
    pub keep_alive_at: Instant,
    /// End of the last request that used the devbox or of its last execution, or when the
    /// devbox last started running.
    pub active_at: Instant,
    /// Requests that use the devbox and have not finished.
    pub requests_in_flight: u32,
}

impl Clocks {
    /// Creates clocks that start at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            keep_alive_at: now,
            active_at: now,
            requests_in_flight: 0,
        }
    }

    /// Restarts both clocks at `now`, as a keep_alive call or a resume does.
    pub fn restart(&mut self, now: Instant) {
        self.keep_alive_at = now;
        self.active_at = now;
    }
}

/// The timeouts a devbox was created with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerPolicy {
    /// Time without keep_alive after which the devbox shuts down.
    pub keep_alive: Option<Duration>,
    /// Idle time after which the action runs.
    pub idle: Option<(Duration, IdleAction)>,
}

/// A timer that has expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerEvent {
    /// No keep_alive arrived in time.
    KeepAliveExpired,
    /// The devbox was idle for its idle time.
    Idle(IdleAction),
}

/// Next step of the timer task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextTimer {
    /// Act on an expired timer now.
    Fire(TimerEvent),
    /// Check again at this instant.
    WakeAt(Instant),
    /// No timer applies.
    Never,
}

/// Decides what happens next for a running devbox. `busy` is true while an execution runs;
/// a busy devbox is not idle, so its idle deadline is at least one idle time away.
pub fn next_timer(policy: TimerPolicy, clocks: Clocks, busy: bool, now: Instant) -> NextTimer {
    let mut earliest: Option<Instant> = None;

    if let Some(limit) = policy.keep_alive {
        let due = clocks.keep_alive_at + limit;
        if now >= due {
            return NextTimer::Fire(TimerEvent::KeepAliveExpired);
        }
        earliest = Some(due);
    }

    if let Some((limit, action)) = policy.idle {
        let due = if busy || clocks.requests_in_flight > 0 {
            now + limit
        } else {
            clocks.active_at + limit
        };
        if now >= due {
            return NextTimer::Fire(TimerEvent::Idle(action));
        }
        earliest = Some(earliest.map_or(due, |other| other.min(due)));
    }

    earliest.map_or(NextTimer::Never, NextTimer::WakeAt)
}

impl Services {
    /// Marks a request that uses the devbox `id` as in progress until the returned guard
    /// is dropped. Returns `None` for a devbox this server process did not create.
    pub fn begin_devbox_request(&self, id: &str) -> Option<RequestGuard> {
        self.runtime(id).map(|runtime| runtime.begin_request())
    }

    /// Enforces `policy` on the devbox `id` until it ends or the server shuts down.
    pub(super) async fn watch_timers(
        self: Arc<Self>,
        id: String,
        runtime: Arc<DevboxRuntime>,
        policy: TimerPolicy,
    ) {
        loop {
            // Subscribing before the read means no status change between them is missed.
            let mut changes = self.devbox_changes.subscribe();
            let status = match self.store.get_devbox(&id) {
                Ok(Some(record)) => record.view.status,
                Ok(None) => return,
                Err(error) => {
                    tracing::error!(devbox_id = %id, error = %format!("{error:#}"), "failed to read a devbox for its timers");
                    tokio::time::sleep(RETRY_AFTER_STORE_ERROR).await;
                    continue;
                }
            };
            if status.is_terminal() {
                return;
            }

            let next = if status == DevboxStatus::Running {
                next_timer(
                    policy,
                    runtime.clocks(),
                    runtime.has_running_execution(),
                    Instant::now(),
                )
            } else {
                NextTimer::Never
            };
            let wake_at = match next {
                NextTimer::Fire(event) => {
                    self.fire_timer(&id, &runtime, event).await;
                    continue;
                }
                NextTimer::WakeAt(instant) => Some(instant),
                NextTimer::Never => None,
            };

            tokio::select! {
                () = sleep_until_or_forever(wake_at) => {}
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = runtime.ended.cancelled() => return,
                () = self.shutdown.cancelled() => return,
            }
        }
    }

    async fn fire_timer(
        self: &Arc<Self>,
        id: &str,
        runtime: &Arc<DevboxRuntime>,
        event: TimerEvent,
    ) {
        let reason = match event {
            TimerEvent::KeepAliveExpired => ShutdownReason::KeepAliveTimeout,
            TimerEvent::Idle(IdleAction::Shutdown) => ShutdownReason::Idle,
            TimerEvent::Idle(IdleAction::Suspend) => {
                tracing::info!(devbox_id = %id, "suspending an idle devbox");
                if let Err(error) = self.begin_suspend(id, runtime) {
                    tracing::warn!(devbox_id = %id, %error, "failed to suspend an idle devbox");
                    // Without this the task would retry at once; it retries after one more
                    // idle period instead.
                    runtime.restart_clocks();
                }
                return;
            }
        };

        tracing::info!(devbox_id = %id, reason = ?reason, "shutting down a devbox on a timer");
        if let Err(error) = self.stop_runtime(id, runtime, Some(reason)).await {
            tracing::error!(devbox_id = %id, error = %format!("{error:#}"), "failed to stop a devbox on a timer");
        }
    }
}

async fn sleep_until_or_forever(instant: Option<Instant>) {
    match instant {
        Some(instant) => tokio::time::sleep_until(instant).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn keep_alive_only(seconds: u64) -> TimerPolicy {
        TimerPolicy {
            keep_alive: Some(Duration::from_secs(seconds)),
            idle: None,
        }
    }

    fn idle_only(seconds: u64, action: IdleAction) -> TimerPolicy {
        TimerPolicy {
            keep_alive: None,
            idle: Some((Duration::from_secs(seconds), action)),
        }
    }

    #[test]
    fn keep_alive_fires_after_its_time() {
        let start = Instant::now();
        let clocks = Clocks::new(start);
        let policy = keep_alive_only(2);

        assert_eq!(
            next_timer(policy, clocks, false, start + SECOND),
            NextTimer::WakeAt(start + 2 * SECOND)
        );
        assert_eq!(
            next_timer(policy, clocks, false, start + 2 * SECOND),
            NextTimer::Fire(TimerEvent::KeepAliveExpired)
        );
    }

    #[test]
    fn keep_alive_call_moves_deadline() {
        let start = Instant::now();
        let mut clocks = Clocks::new(start);
        clocks.restart(start + SECOND);
        assert_eq!(
            next_timer(keep_alive_only(2), clocks, false, start + 2 * SECOND),
            NextTimer::WakeAt(start + 3 * SECOND)
        );
    }

    #[test]
    fn idle_fires_after_last_activity() {
        let start = Instant::now();
        let mut clocks = Clocks::new(start);
        clocks.active_at = start + SECOND;
        let policy = idle_only(2, IdleAction::Suspend);

        assert_eq!(
            next_timer(policy, clocks, false, start + 2 * SECOND),
            NextTimer::WakeAt(start + 3 * SECOND)
        );
        assert_eq!(
            next_timer(policy, clocks, false, start + 3 * SECOND),
            NextTimer::Fire(TimerEvent::Idle(IdleAction::Suspend))
        );
    }

    #[test]
    fn running_execution_or_request_keeps_devbox_busy() {
        let start = Instant::now();
        let clocks = Clocks::new(start);
        let policy = idle_only(1, IdleAction::Shutdown);
        let later = start + 5 * SECOND;

        assert_eq!(
            next_timer(policy, clocks, true, later),
            NextTimer::WakeAt(later + SECOND)
        );
        let requesting = Clocks {
            requests_in_flight: 1,
            ..clocks
        };
        assert_eq!(
            next_timer(policy, requesting, false, later),
            NextTimer::WakeAt(later + SECOND)
        );
    }

    #[test]
    fn earliest_deadline_wins() {
        let start = Instant::now();
        let policy = TimerPolicy {
            keep_alive: Some(5 * SECOND),
            idle: Some((2 * SECOND, IdleAction::Shutdown)),
        };
        assert_eq!(
            next_timer(policy, Clocks::new(start), false, start),
            NextTimer::WakeAt(start + 2 * SECOND)
        );
    }

    #[test]
    fn no_policy_never_fires() {
        let start = Instant::now();
        assert_eq!(
            next_timer(TimerPolicy::default(), Clocks::new(start), false, start),
            NextTimer::Never
        );
    }
}
