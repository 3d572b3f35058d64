//! Settings of one server instance.

use std::path::PathBuf;
use std::time::Duration;

/// Time a snapshot capture may take, by default, before it ends as `error`.
pub const DEFAULT_SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(600);

/// Snapshot layers a devbox mounts at most, by default, before captures squash the chain.
pub const DEFAULT_MAX_CHAIN_DEPTH: usize = 32;

/// Settings of one server instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the state database, snapshot layers and devbox file systems.
    /// Created if missing.
    pub data_dir: PathBuf,
    /// Token that clients must send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Time a snapshot capture may take before it ends as `error`.
    pub snapshot_timeout: Duration,
    /// Snapshot layers a devbox mounts at most (1 to 400). A capture whose layer chain
    /// would be longer also writes one squashed layer holding the whole chain, and devboxes
    /// booted from that snapshot mount only the squashed layer.
    pub max_chain_depth: usize,
    /// Extra time every capture waits after copying, with the devbox still frozen, so tests
    /// can observe a capture in progress, time it out or crash in the middle of it.
    #[cfg(feature = "test-hooks")]
    pub capture_delay: Duration,
    /// Completed executions each devbox keeps in the state database, so tests can reach the
    /// limit with a few commands. Defaults to the built-in limit of 1,000.
    #[cfg(feature = "test-hooks")]
    pub max_completed_executions: usize,
    /// Browser origins (such as `http://127.0.0.1:5173`) allowed to call the API through
    /// CORS. Preflight requests from any other origin get a 403.
    pub cors_origins: Vec<String>,
    /// Package directory whose `playground/`, `js/` and `pkg/` folders are served without
    /// auth at `/playground/`, `/js/` and `/pkg/`; `None` serves no pages.
    pub playground_dir: Option<PathBuf>,
}

impl Config {
    /// Creates a configuration with default timeouts.
    pub fn new(data_dir: impl Into<PathBuf>, token: impl Into<String>) -> Self {
        Self {
            data_dir: data_dir.into(),
            token: token.into(),
            snapshot_timeout: DEFAULT_SNAPSHOT_TIMEOUT,
            max_chain_depth: DEFAULT_MAX_CHAIN_DEPTH,
            #[cfg(feature = "test-hooks")]
            capture_delay: Duration::ZERO,
            #[cfg(feature = "test-hooks")]
            max_completed_executions: crate::store::MAX_COMPLETED_EXECUTIONS,
            cors_origins: Vec::new(),
            playground_dir: None,
        }
    }
}
