//! In-memory state of a devbox created by this server process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use super::execution::Execution;
use crate::sandbox::Sandbox;

/// In-memory state of one devbox, besides its database record.
///
/// Lock order: `changes` before `sandbox`; `executions` is never held across an `await`.
pub struct DevboxRuntime {
    /// The running sandbox; `None` before boot finishes and after shutdown. Boot and
    /// teardown hold the write lock. Commands, file I/O and captures hold a read lock while
    /// they use the sandbox, so it cannot be torn down under them.
    pub sandbox: Arc<RwLock<Option<Sandbox>>>,
    /// Held by a capture while it copies the upper directory, and by file writes from the
    /// API, so no write lands halfway through a copy. It also runs captures one at a time.
    pub changes: tokio::sync::Mutex<()>,
    /// Fired by a forced shutdown or by server shutdown to stop captures in progress.
    pub cancel_captures: CancellationToken,
    executions: Mutex<ExecutionTable>,
}

#[derive(Default)]
struct ExecutionTable {
    by_id: HashMap<String, Arc<Execution>>,
    by_command_id: HashMap<String, String>,
}

impl DevboxRuntime {
    /// Creates the runtime of a devbox that has not booted yet. `cancel_captures` should be
    /// a child of the server's shutdown token, so server shutdown also stops captures.
    pub fn new(cancel_captures: CancellationToken) -> Self {
        Self {
            sandbox: Arc::default(),
            changes: tokio::sync::Mutex::default(),
            cancel_captures,
            executions: Mutex::default(),
        }
    }

    /// Returns the execution `execution_id`.
    pub fn execution(&self, execution_id: &str) -> Option<Arc<Execution>> {
        self.table().by_id.get(execution_id).cloned()
    }

    /// Returns the execution started earlier with the caller's `command_id`.
    pub fn execution_for_command(&self, command_id: &str) -> Option<Arc<Execution>> {
        let table = self.table();
        let id = table.by_command_id.get(command_id)?;
        table.by_id.get(id).cloned()
    }

    /// Registers a new execution, and its `command_id` if the caller gave one.
    pub fn add_execution(&self, execution: Arc<Execution>, command_id: Option<String>) {
        let mut table = self.table();
        if let Some(command_id) = command_id {
            table.by_command_id.insert(command_id, execution.id.clone());
        }
        table.by_id.insert(execution.id.clone(), execution);
    }

    fn table(&self) -> MutexGuard<'_, ExecutionTable> {
        // The table holds only maps that no panic can leave half-updated.
        self.executions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
