//! Settings of one server instance.

use std::path::PathBuf;
use std::time::Duration;

/// Time a snapshot capture may take, by default, before it ends as `error`.
pub const DEFAULT_SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(600);

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
            cors_origins: Vec::new(),
            playground_dir: None,
        }
    }
}
