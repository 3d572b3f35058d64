//! In-memory state of a devbox created by this server process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use runloop_types::{DevboxLogEntry, ExecutionStatus};
use tokio::sync::RwLock;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::create_params::BootPlan;
use super::execution::Execution;
use super::logs::DevboxLog;
use super::shells::ShellTable;
use super::timers::Clocks;
use crate::sandbox::Sandbox;

/// In-memory state of one devbox, besides its database record.
///
/// Lock order: `changes` before `sandbox`. `executions` and `clocks` are never held across
/// an `await`.
pub struct DevboxRuntime {
    /// The running sandbox; `None` before boot finishes and after shutdown. Boot and
    /// teardown hold the write lock. Commands, file I/O and captures hold a read lock while
    /// they use the sandbox, so it cannot be torn down under them.
    pub sandbox: Arc<RwLock<Option<Sandbox>>>,
    /// Held by a capture while it copies the upper directory, by a suspend while it
    /// freezes the devbox, and by file writes from the API, so no write lands halfway
    /// through a copy. It also runs captures one at a time.
    pub changes: tokio::sync::Mutex<()>,
    /// Fired by a forced shutdown or by server shutdown to stop captures in progress.
    pub cancel_captures: CancellationToken,
    /// Cancelled once the devbox has ended; stops its timer task and boot steps.
    pub ended: CancellationToken,
    /// Boot steps, suspend hooks and timers of the devbox, set once at create.
    plan: OnceLock<Arc<BootPlan>>,
    /// Named shells: the working directory and environment their commands share.
    pub shells: ShellTable,
    executions: Mutex<ExecutionTable>,
    clocks: Arc<Mutex<Clocks>>,
    log: DevboxLog,
}

#[derive(Default)]
struct ExecutionTable {
    by_id: HashMap<String, Arc<Execution>>,
    by_command_id: HashMap<String, String>,
}

/// Marks one request that uses the devbox as in progress until it is dropped, which also
/// records the end of the request as activity.
pub struct RequestGuard {
    runtime: Arc<DevboxRuntime>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut clocks = lock(&self.runtime.clocks);
        clocks.requests_in_flight = clocks.requests_in_flight.saturating_sub(1);
        clocks.active_at = Instant::now();
    }
}

impl DevboxRuntime {
    /// Creates the runtime of a devbox that has not booted yet, writing its log to `log`.
    /// `cancel_captures` should be a child of the server's shutdown token, so server
    /// shutdown also stops captures.
    pub fn new(cancel_captures: CancellationToken, log: DevboxLog) -> Self {
        Self {
            sandbox: Arc::default(),
            changes: tokio::sync::Mutex::default(),
            cancel_captures,
            ended: CancellationToken::new(),
            plan: OnceLock::new(),
            shells: ShellTable::default(),
            executions: Mutex::default(),
            clocks: Arc::new(Mutex::new(Clocks::new(Instant::now()))),
            log,
        }
    }

    /// Stores the boot plan of the devbox; later calls change nothing.
    pub fn set_plan(&self, plan: Arc<BootPlan>) {
        let _ = self.plan.set(plan);
    }

    /// Returns the boot plan of the devbox, once set.
    pub fn plan(&self) -> Option<Arc<BootPlan>> {
        self.plan.get().cloned()
    }

    /// Returns the execution `execution_id`.
    pub fn execution(&self, execution_id: &str) -> Option<Arc<Execution>> {
        self.table().by_id.get(execution_id).cloned()
    }

    /// Registers a new execution, and its `command_id` if the caller gave one. Its
    /// completion counts as activity for the idle timer. When an execution with that
    /// `command_id` exists, registers nothing and returns it.
    pub fn add_execution(
        &self,
        execution: Arc<Execution>,
        command_id: Option<String>,
    ) -> Result<(), Arc<Execution>> {
        let mut table = self.table();
        if let Some(command_id) = command_id {
            let existing = table.by_command_id.get(&command_id);
            if let Some(existing) = existing.and_then(|id| table.by_id.get(id)) {
                return Err(existing.clone());
            }
            table.by_command_id.insert(command_id, execution.id.clone());
        }
        table.by_id.insert(execution.id.clone(), execution.clone());
        drop(table);

        self.watch_execution(&execution);
        Ok(())
    }

    /// Returns whether any execution of the devbox has not completed.
    pub fn has_running_execution(&self) -> bool {
        self.table()
            .by_id
            .values()
            .any(|execution| execution.status() != ExecutionStatus::Completed)
    }

    /// Returns the executions of the devbox that have not completed.
    pub fn unfinished_executions(&self) -> Vec<Arc<Execution>> {
        self.table()
            .by_id
            .values()
            .filter(|execution| execution.status() != ExecutionStatus::Completed)
            .cloned()
            .collect()
    }

    fn watch_execution(&self, execution: &Arc<Execution>) {
        let clocks = self.clocks.clone();
        let mut status = execution.subscribe();
        tokio::spawn(async move {
            let completed = status
                .wait_for(|status| *status == ExecutionStatus::Completed)
                .await
                .is_ok();
            if completed {
                lock(&clocks).active_at = Instant::now();
            }
        });
    }

    /// Appends `entry` to the devbox log.
    pub fn log(&self, entry: DevboxLogEntry) {
        self.log.push(entry);
    }

    /// Returns the keep-alive and idle clocks.
    pub fn clocks(&self) -> Clocks {
        *lock(&self.clocks)
    }

    /// Restarts the keep-alive and idle clocks, for a keep_alive call or when the devbox
    /// starts or resumes running.
    pub fn restart_clocks(&self) {
        lock(&self.clocks).restart(Instant::now());
    }

    /// Marks a request that uses the devbox as in progress until the guard is dropped.
    pub fn begin_request(self: &Arc<Self>) -> RequestGuard {
        let mut clocks = lock(&self.clocks);
        clocks.requests_in_flight += 1;
        clocks.active_at = Instant::now();
        drop(clocks);
        RequestGuard {
            runtime: self.clone(),
        }
    }

    fn table(&self) -> MutexGuard<'_, ExecutionTable> {
        lock(&self.executions)
    }
}

/// Locks `mutex`, ignoring poison: the maps and clocks it guards are updated in single steps
/// that no panic can leave half done.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
