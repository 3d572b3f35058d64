//! The deadline and abort signal that bound a helper, and races of a task against them.

use std::future::Future;
use std::pin::pin;

use futures_util::future::{select, Either};

use crate::error::{Error, PollingTimeout};
use crate::platform::Platform;
use crate::progress::Progress;
use crate::wait::WaitOptions;

/// Maximum length of one sleep of [`Limits::stopped`], in milliseconds: one day, well below
/// the 2^31 - 1 ms that JS timers accept.
const MAX_SLEEP_MS: u64 = 86_400_000;

/// Reason a helper stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The caller's signal fired.
    Aborted,
    /// The helper's timeout ran out.
    TimedOut,
}

/// A helper's deadline and abort signal, fixed when the helper starts.
#[derive(Debug, Clone)]
pub struct Limits<S> {
    /// The caller's abort signal.
    pub signal: Option<S>,
    /// The timeout the caller gave, in milliseconds, for messages.
    pub timeout_ms: Option<u64>,
    /// Platform time at which the timeout runs out.
    pub deadline_ms: Option<f64>,
}

impl<S: Clone> Limits<S> {
    /// Starts the clock: the deadline is `timeout_ms` from now.
    pub fn start<P: Platform<Signal = S>>(
        platform: &P,
        timeout_ms: Option<u64>,
        signal: Option<S>,
    ) -> Self {
        let deadline_ms = timeout_ms.map(|timeout| platform.now_ms() + timeout as f64);
        Self {
            signal,
            timeout_ms,
            deadline_ms,
        }
    }

    /// Returns why the helper must stop now, or `None` while it may go on.
    pub fn check<P: Platform<Signal = S>>(&self, platform: &P) -> Option<Stop> {
        if self
            .signal
            .as_ref()
            .is_some_and(|signal| platform.is_aborted(signal))
        {
            return Some(Stop::Aborted);
        }
        if self
            .deadline_ms
            .is_some_and(|deadline| platform.now_ms() >= deadline)
        {
            return Some(Stop::TimedOut);
        }
        None
    }

    /// Resolves when the signal fires or the deadline passes; never when there is neither.
    pub async fn stopped<P: Platform<Signal = S>>(&self, platform: &P) -> Stop {
        loop {
            if let Some(stop) = self.check(platform) {
                return stop;
            }
            let sleep_ms = match self.deadline_ms {
                Some(deadline) => {
                    ((deadline - platform.now_ms()).ceil().max(1.0) as u64).min(MAX_SLEEP_MS)
                }
                None if self.signal.is_some() => MAX_SLEEP_MS,
                None => return std::future::pending().await,
            };
            if platform
                .sleep(sleep_ms, self.signal.as_ref())
                .await
                .is_err()
            {
                return Stop::Aborted;
            }
        }
    }

    /// Runs `task` until it finishes or the helper must stop. A stopped task is dropped.
    pub async fn race<P, F>(&self, platform: &P, task: F) -> Result<F::Output, Stop>
    where
        P: Platform<Signal = S>,
        F: Future,
    {
        if let Some(stop) = self.check(platform) {
            return Err(stop);
        }
        let task = pin!(task);
        let stopped = pin!(self.stopped(platform));
        match select(task, stopped).await {
            Either::Left((output, _)) => Ok(output),
            Either::Right((stop, _)) => Err(stop),
        }
    }

    /// Returns options for a wait bounded by what is left of these limits.
    pub fn wait_options<P: Platform<Signal = S>>(
        &self,
        platform: &P,
        progress: Option<Progress>,
    ) -> WaitOptions<S> {
        let timeout_ms = self
            .deadline_ms
            .map(|deadline| (deadline - platform.now_ms()).max(0.0).ceil() as u64);
        WaitOptions {
            timeout_ms,
            signal: self.signal.clone(),
            progress,
        }
    }

    /// Turns a stop into the helper's error: [`Error::Aborted`], or a
    /// [`Error::PollingTimeout`] that names what did not finish in time.
    pub fn stop_error(&self, stop: Stop, what: &str) -> Error {
        match stop {
            Stop::Aborted => Error::Aborted,
            Stop::TimedOut => {
                let timeout_ms = self.timeout_ms.unwrap_or(0);
                Error::PollingTimeout(Box::new(PollingTimeout {
                    message: format!("Timed out after {timeout_ms} ms: {what} did not finish"),
                    last: None,
                }))
            }
        }
    }
}
