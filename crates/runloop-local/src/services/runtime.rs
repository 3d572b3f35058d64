//! In-memory state of a devbox created by this server process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

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
    /// Locked by the completion hook of each execution, so an execution must not complete
    /// while this lock is held.
    executions: Arc<Mutex<ExecutionTable>>,
    clocks: Arc<Mutex<Clocks>>,
    log: DevboxLog,
}

/// Executions of one devbox in this server run. Like the state database, it keeps only the
/// newest `max_completed` completed executions, so an id the database has deleted is
/// unknown here too.
struct ExecutionTable {
    by_id: HashMap<String, TableEntry>,
    by_command_id: HashMap<String, String>,
    /// Execution ids in creation order, oldest first.
    order: VecDeque<String>,
    /// Completed executions kept, as [`crate::store::Store::max_completed_executions`].
    max_completed: usize,
}

struct TableEntry {
    execution: Arc<Execution>,
    command_id: Option<String>,
}

impl ExecutionTable {
    fn new(max_completed: usize) -> Self {
        Self {
            by_id: HashMap::new(),
            by_command_id: HashMap::new(),
            order: VecDeque::new(),
            max_completed: max_completed.max(1),
        }
    }

    /// Adds `execution`, and `command_id` if given. When an execution with that
    /// `command_id` exists, adds nothing and returns it.
    fn insert(
        &mut self,
        execution: Arc<Execution>,
        command_id: Option<String>,
    ) -> Result<(), Arc<Execution>> {
        if let Some(command_id) = &command_id {
            let existing = self.by_command_id.get(command_id);
            if let Some(existing) = existing.and_then(|id| self.by_id.get(id)) {
                return Err(existing.execution.clone());
            }
            self.by_command_id
                .insert(command_id.clone(), execution.id.clone());
        }
        self.order.push_back(execution.id.clone());
        let entry = TableEntry {
            execution,
            command_id,
        };
        self.by_id.insert(entry.execution.id.clone(), entry);
        Ok(())
    }

    /// Drops the oldest completed executions beyond `max_completed`, by creation order,
    /// the same rule the state database applies when it stores a completion. Queued and
    /// running executions are never dropped. `completing_id` counts as completed, because
    /// its status changes only after this runs.
    fn prune_completed(&mut self, completing_id: &str) {
        let is_completed = |table: &Self, id: &str| {
            id == completing_id
                || table
                    .by_id
                    .get(id)
                    .is_some_and(|entry| entry.execution.status() == ExecutionStatus::Completed)
        };
        let completed = self
            .order
            .iter()
            .filter(|id| is_completed(self, id))
            .count();
        let mut excess = completed.saturating_sub(self.max_completed);
        if excess == 0 {
            return;
        }

        let mut kept = VecDeque::with_capacity(self.order.len() - excess);
        for id in std::mem::take(&mut self.order) {
            if excess == 0 || !is_completed(self, &id) {
                kept.push_back(id);
                continue;
            }
            excess -= 1;
            let Some(removed) = self.by_id.remove(&id) else {
                continue;
            };
            removed.execution.remove_spill_files();
            if let Some(command_id) = removed.command_id {
                self.by_command_id.remove(&command_id);
            }
        }
        self.order = kept;
    }
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
    /// Creates the runtime of a devbox that has not booted yet, writing its log to `log`
    /// and keeping up to `max_completed_executions` completed executions in memory.
    /// `cancel_captures` should be a child of the server's shutdown token, so server
    /// shutdown also stops captures.
    pub fn new(
        cancel_captures: CancellationToken,
        log: DevboxLog,
        max_completed_executions: usize,
    ) -> Self {
        Self {
            sandbox: Arc::default(),
            changes: tokio::sync::Mutex::default(),
            cancel_captures,
            ended: CancellationToken::new(),
            plan: OnceLock::new(),
            shells: ShellTable::default(),
            executions: Arc::new(Mutex::new(ExecutionTable::new(max_completed_executions))),
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
        let table = self.table();
        let entry = table.by_id.get(execution_id)?;
        Some(entry.execution.clone())
    }

    /// Registers a new execution, and its `command_id` if the caller gave one. Its
    /// completion counts as activity for the idle timer and drops the oldest completed
    /// executions beyond the retention limit. When an execution with that `command_id`
    /// exists, registers nothing and returns it.
    pub fn add_execution(
        &self,
        execution: Arc<Execution>,
        command_id: Option<String>,
    ) -> Result<(), Arc<Execution>> {
        self.table().insert(execution.clone(), command_id)?;

        // A weak reference, because the table owns the execution that owns the hook.
        let table = Arc::downgrade(&self.executions);
        execution.set_completion_hook(move |id| prune_table(&table, id));
        self.watch_execution(&execution);
        Ok(())
    }

    /// Returns whether any execution of the devbox has not completed.
    pub fn has_running_execution(&self) -> bool {
        self.table()
            .by_id
            .values()
            .any(|entry| entry.execution.status() != ExecutionStatus::Completed)
    }

    /// Returns the executions of the devbox that have not completed.
    pub fn unfinished_executions(&self) -> Vec<Arc<Execution>> {
        self.table()
            .by_id
            .values()
            .filter(|entry| entry.execution.status() != ExecutionStatus::Completed)
            .map(|entry| entry.execution.clone())
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

/// Applies the retention limit to `table`, if the devbox runtime still exists, when
/// execution `completing_id` completes.
fn prune_table(table: &Weak<Mutex<ExecutionTable>>, completing_id: &str) {
    if let Some(table) = table.upgrade() {
        lock(&table).prune_completed(completing_id);
    }
}

/// Locks `mutex`, ignoring poison: the maps and clocks it guards are updated in single steps
/// that no panic can leave half done.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::execution::ExecutionSpec;

    fn execution(id: &str) -> Arc<Execution> {
        Execution::new(ExecutionSpec {
            id: id.to_owned(),
            devbox_id: "dbx_test".to_owned(),
            command: "true".to_owned(),
            shell_name: None,
            attach_stdin: false,
            spill_dir: None,
            store: None,
        })
    }

    #[test]
    fn prune_drops_oldest_completed_only() {
        let mut table = ExecutionTable::new(2);
        let running = execution("exe_running");
        table.insert(running, None).expect("new id");
        for index in 0..3 {
            let completed = execution(&format!("exe_{index}"));
            let command_id = Some(format!("cmd-{index}"));
            table.insert(completed.clone(), command_id).expect("new id");
            completed.complete(0);
            table.prune_completed(&completed.id);
        }

        assert!(table.by_id.contains_key("exe_running"));
        assert!(!table.by_id.contains_key("exe_0"));
        assert!(table.by_id.contains_key("exe_1"));
        assert!(table.by_id.contains_key("exe_2"));
        assert!(!table.by_command_id.contains_key("cmd-0"));
        assert!(table.by_command_id.contains_key("cmd-1"));
        assert_eq!(table.order, ["exe_running", "exe_1", "exe_2"]);
    }

    #[test]
    fn prune_counts_completing_execution() {
        let mut table = ExecutionTable::new(1);
        let older = execution("exe_older");
        let newer = execution("exe_newer");
        table.insert(older.clone(), None).expect("new id");
        table.insert(newer.clone(), None).expect("new id");
        newer.complete(0);
        table.prune_completed(&newer.id);
        assert_eq!(table.order, ["exe_older", "exe_newer"]);

        // The completion hook runs before the status of `older` changes to completed.
        table.prune_completed(&older.id);
        assert_eq!(table.order, ["exe_newer"]);
    }
}
