//! Progress reports of long operations: the waits, fan-out, checkpoint and prune.
//!
//! An operation reports through a [`Progress`] handle, which calls the caller's sink
//! synchronously with a [`ProgressEvent`]. The sink decides what to do with a failing
//! callback; the wasm bindings warn once and go on, so a broken callback never breaks the
//! operation.

use std::fmt;
use std::rc::Rc;

use serde::Serialize;

/// One progress report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    /// Step of the operation, such as `creating` or `waiting`; each operation documents its
    /// phases.
    pub phase: &'static str,
    /// Status seen in this step, such as a devbox status or `fulfilled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Milliseconds since the operation started.
    pub elapsed_ms: f64,
    /// Items finished so far in this phase: devboxes, snapshots or bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<u64>,
    /// Items this phase has in all, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Index of the fan-out task the event belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Id of the devbox or snapshot the event concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ProgressEvent {
    /// Starts an event of `phase` with no other field set; [`Progress::report`] fills in
    /// `elapsed_ms`.
    pub fn new(phase: &'static str) -> Self {
        Self {
            phase,
            status: None,
            elapsed_ms: 0.0,
            done: None,
            total: None,
            index: None,
            id: None,
        }
    }

    /// Sets the status.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Sets the id of the devbox or snapshot concerned.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets how many items are done out of how many (`None` when the total is unknown).
    pub fn count(mut self, done: u64, total: Option<u64>) -> Self {
        self.done = Some(done);
        self.total = total;
        self
    }
}

/// The callback that receives events.
pub type ProgressSink = Rc<dyn Fn(&ProgressEvent)>;

/// A progress handle: the caller's sink, the operation's start time and, inside a fan-out,
/// the task index stamped on every event.
#[derive(Clone)]
pub struct Progress {
    sink: ProgressSink,
    started_ms: f64,
    index: Option<usize>,
}

impl Progress {
    /// Creates a handle for an operation that started at `started_ms` (milliseconds since
    /// the Unix epoch, from the platform's clock).
    pub fn new(sink: ProgressSink, started_ms: f64) -> Self {
        Self {
            sink,
            started_ms,
            index: None,
        }
    }

    /// Returns a handle whose events carry the fan-out task `index`, on the same clock.
    pub fn for_index(&self, index: usize) -> Self {
        Self {
            index: Some(index),
            ..self.clone()
        }
    }

    /// Sends `event` to the sink, stamped with the time since the start and the task index.
    pub fn report(&self, now_ms: f64, mut event: ProgressEvent) {
        event.elapsed_ms = (now_ms - self.started_ms).max(0.0);
        if event.index.is_none() {
            event.index = self.index;
        }
        (self.sink)(&event);
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("started_ms", &self.started_ms)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// Reports `event` when there is a handle; the form every operation uses.
pub(crate) fn report(progress: Option<&Progress>, now_ms: f64, event: ProgressEvent) {
    if let Some(progress) = progress {
        progress.report(now_ms, event);
    }
}
