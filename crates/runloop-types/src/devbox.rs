//! Devbox views, create and update bodies, list pages and the lifecycle long poll.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Metadata;

/// Lifecycle state of a devbox, as the exact wire strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum DevboxStatus {
    /// Deprecated synonym of `queued`.
    Scheduled,
    Queued,
    Provisioning,
    Initializing,
    Running,
    Suspending,
    Suspended,
    Resuming,
    Failure,
    Shutdown,
}

impl DevboxStatus {
    /// Returns the wire string, for query parameters and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Provisioning => "provisioning",
            Self::Initializing => "initializing",
            Self::Running => "running",
            Self::Suspending => "suspending",
            Self::Suspended => "suspended",
            Self::Resuming => "resuming",
            Self::Failure => "failure",
            Self::Shutdown => "shutdown",
        }
    }

    /// Returns whether the devbox can never leave this state (`failure` or `shutdown`).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Failure | Self::Shutdown)
    }

    /// Parses a wire string; `None` for anything that is not a documented status.
    pub fn parse(value: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(value.to_owned())).ok()
    }
}

/// Reason a devbox was shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum ShutdownReason {
    ApiShutdown,
    KeepAliveTimeout,
    EntrypointExit,
    Idle,
    TtlExpired,
}

/// Reason a devbox failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    OutOfMemory,
    OutOfDisk,
    ExecutionFailed,
    HealthCheckFailed,
}

/// One entry of a devbox's `state_transitions` history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(missing_as_null))]
pub struct StateTransition {
    pub status: Option<DevboxStatus>,
    /// Time of the transition, in milliseconds since the Unix epoch.
    pub transition_time_ms: Option<i64>,
    pub failure_reason: Option<String>,
}

/// Machine size requested at launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceSize {
    XSmall,
    Small,
    Medium,
    Large,
    XLarge,
    XxLarge,
    CustomSize,
}

/// CPU architecture requested at launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    X86_64,
    Arm64,
}

/// Idle policy: the action taken once a devbox has been idle for `idle_time_seconds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct AfterIdle {
    pub idle_time_seconds: i64,
    pub on_idle: IdleAction,
}

/// Action taken when a devbox goes idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum IdleAction {
    Shutdown,
    Suspend,
}

/// User the devbox's commands run as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct UserParameters {
    pub uid: i64,
    pub username: String,
}

/// Launch-time settings of a devbox. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct LaunchParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub resource_size_request: Option<ResourceSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub custom_cpu_cores: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub custom_gb_memory: Option<i64>,
    /// Disk size in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub custom_disk_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub architecture: Option<Architecture>,
    /// Seconds the devbox stays up without a keep-alive call (default 3600, max 172800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub keep_alive_time_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub after_idle: Option<AfterIdle>,
    /// Lifecycle hooks and resume triggers, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Record<string, unknown>"))]
    pub lifecycle: Option<serde_json::Map<String, serde_json::Value>>,
    /// Shell commands run once, in order, when the devbox starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub launch_commands: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub network_policy_id: Option<String>,
    /// `standard` or `flex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub provisioning_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub required_services: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub user_parameters: Option<UserParameters>,
    /// Deprecated and ignored by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub available_ports: Option<Vec<i64>>,
}

/// Tunnel settings of a create request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TunnelParams {
    /// `open` or `authenticated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub auth_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub http_keep_alive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub wake_on_http: Option<bool>,
}

/// A repository checked out into the devbox at launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct CodeMountParameters {
    pub repo_name: String,
    pub repo_owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub git_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub install_command: Option<String>,
}

/// One entry of the create body's `mounts`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "tsify", tsify(missing_as_null))]
pub enum Mount {
    ObjectMount {
        object_id: String,
        object_path: String,
    },
    CodeMount(CodeMountParameters),
    FileMount {
        target: String,
        content: String,
    },
    AgentMount {
        agent_id: Option<String>,
        agent_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "tsify", tsify(optional))]
        agent_path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "tsify", tsify(optional))]
        auth_token: Option<String>,
    },
    BrokerMount {
        axon_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "tsify", tsify(optional))]
        agent_binary: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "tsify", tsify(optional))]
        launch_args: Option<Vec<String>>,
        /// `acp`, `claude_json`, `codex_json` or `pi_json`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "tsify", tsify(optional))]
        protocol: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "tsify", tsify(optional))]
        working_directory: Option<String>,
    },
}

/// Credential proxy settings for one gateway prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct GatewayParams {
    pub gateway: String,
    pub secret: String,
}

/// MCP server settings for one environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct McpParams {
    pub mcp_config: String,
    pub secret: String,
}

/// Body of `POST /v1/devboxes` and `POST /v1/devboxes/create_and_await_running`.
///
/// Every field is optional; at most one of `snapshot_id`, `blueprint_id` and
/// `blueprint_name` may be given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxCreateParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub blueprint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub blueprint_name: Option<String>,
    /// Disk snapshot to boot from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub snapshot_id: Option<String>,
    /// Main process; the devbox shuts down when it exits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub entrypoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Record<string, string>"))]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Environment variable name to secret name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Record<string, string>"))]
    pub secrets: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Record<string, string>"))]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub launch_parameters: Option<LaunchParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub mounts: Option<Vec<Mount>>,
    /// Deprecated in favour of `mounts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub code_mounts: Option<Vec<CodeMountParameters>>,
    /// Path to file contents; deprecated in favour of `mounts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Record<string, string>"))]
    pub file_mounts: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "tsify",
        tsify(optional, type = "Record<string, GatewayParams>")
    )]
    pub gateways: Option<BTreeMap<String, GatewayParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Record<string, McpParams>"))]
    pub mcp: Option<BTreeMap<String, McpParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub tunnel: Option<TunnelParams>,
}

/// Tunnel of a running devbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TunnelView {
    pub auth_mode: String,
    pub create_time_ms: i64,
    pub http_keep_alive: bool,
    pub tunnel_key: String,
    pub wake_on_http: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub auth_token: Option<String>,
}

/// A devbox as returned by create, retrieve, update, list and the lifecycle calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(missing_as_null))]
pub struct DevboxView {
    pub id: String,
    pub status: DevboxStatus,
    /// Creation time in milliseconds since the Unix epoch.
    pub create_time_ms: i64,
    /// Time the devbox reached `shutdown` or `failure`; `null` while it lives.
    pub end_time_ms: Option<i64>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub launch_parameters: LaunchParameters,
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "Record<string, string>"))]
    pub metadata: Metadata,
    #[serde(default)]
    pub state_transitions: Vec<StateTransition>,
    pub name: Option<String>,
    pub blueprint_id: Option<String>,
    pub snapshot_id: Option<String>,
    pub initiator_id: Option<String>,
    pub initiator_type: Option<String>,
    pub failure_reason: Option<FailureReason>,
    pub shutdown_reason: Option<ShutdownReason>,
    pub tunnel: Option<TunnelView>,
    #[cfg_attr(feature = "tsify", tsify(type = "Record<string, unknown> | null"))]
    pub gateway_specs: Option<serde_json::Map<String, serde_json::Value>>,
    #[cfg_attr(feature = "tsify", tsify(type = "Record<string, unknown> | null"))]
    pub mcp_specs: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Body of `POST /v1/devboxes/{id}` (update). An omitted field stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxUpdateParams {
    /// New name; `""` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub name: Option<String>,
    /// Replacement metadata; `{}` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Record<string, string>"))]
    pub metadata: Option<Metadata>,
}

/// Query of `GET /v1/devboxes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxListParams {
    /// Page size (default 20, max 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub limit: Option<u32>,
    /// Id of the last item of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub starting_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub status: Option<DevboxStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub include_total_count: Option<bool>,
}

/// One page of `GET /v1/devboxes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxListView {
    pub devboxes: Vec<DevboxView>,
    pub has_more: bool,
    /// Number of devboxes matching the filter over all pages; `0` when not requested.
    #[serde(default)]
    pub total_count: u64,
}

/// Body of `POST /v1/devboxes/{id}/wait_for_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxWaitParams {
    pub statuses: Vec<DevboxStatus>,
    /// How long the server may hold the request, in seconds (at most 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub timeout_seconds: Option<f64>,
}

/// Resource usage of a devbox over its life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(missing_as_null))]
pub struct DevboxResourceUsageView {
    pub id: String,
    pub status: String,
    pub start_time_ms: i64,
    pub end_time_ms: Option<i64>,
    pub total_active_seconds: f64,
    pub total_elapsed_seconds: f64,
    pub vcpu_seconds: f64,
    pub memory_gb_seconds: f64,
    pub disk_gb_seconds: f64,
}

/// One log line of a devbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxLogEntry {
    pub level: String,
    /// `setup_commands`, `entrypoint`, `exec`, `files`, `stats` or `kmsg`.
    pub source: String,
    pub timestamp_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub cmd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub cmd_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub shell_name: Option<String>,
}

/// Response of `GET /v1/devboxes/{id}/logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxLogsView {
    pub logs: Vec<DevboxLogEntry>,
}
