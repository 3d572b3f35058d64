//! Checks a devbox create request and turns it into the steps its boot runs.
//!
//! Every documented field parses. Some fields are honoured. Others are stored and echoed
//! without effect: resource sizes, `available_ports` and `provisioning_tier`. The rest are
//! rejected with a 400 that names them, because they need something this server does not
//! have: blueprints, secrets, tunnels, gateways, MCP, network policies, services, users
//! other than root, and mounts other than file mounts.

use std::time::Duration;

use runloop_types::{AfterIdle, Architecture, DevboxCreateParams, LaunchParameters, Mount};
use serde::Deserialize;

use super::files::devbox_path;
use super::timers::{TimerPolicy, DEFAULT_KEEP_ALIVE};
use crate::error::{ServiceError, ServiceResult};

/// Largest `keep_alive_time_seconds`, as documented for the hosted API (48 hours).
const MAX_KEEP_ALIVE_SECONDS: i64 = 172_800;

/// Default and largest `lifecycle.lifecycle_hooks.suspend_deadline_ms`.
const DEFAULT_SUSPEND_DEADLINE_MS: u64 = 30_000;
const MAX_SUSPEND_DEADLINE_MS: u64 = 60_000;

/// Boot steps, suspend hooks and timers of a devbox, taken from its create request.
#[derive(Debug, Clone, PartialEq)]
pub struct BootPlan {
    /// Files created before the launch commands, as absolute devbox paths and contents.
    pub files: Vec<(String, String)>,
    /// Shell commands run in order before the devbox is `running`.
    pub launch_commands: Vec<String>,
    /// Main process; the devbox shuts down when it exits.
    pub entrypoint: Option<String>,
    /// Commands run in order before each suspend, and their shared time limit.
    pub suspend_commands: Vec<String>,
    /// Time limit of the suspend commands.
    pub suspend_deadline: Duration,
    /// Keep-alive and idle timeouts.
    pub timers: TimerPolicy,
}

/// The `launch_parameters.lifecycle` object, of which this server reads these fields.
#[derive(Debug, Default, Deserialize)]
struct Lifecycle {
    #[serde(default)]
    after_idle: Option<AfterIdle>,
    #[serde(default)]
    lifecycle_hooks: Option<LifecycleHooks>,
    #[serde(default)]
    resume_triggers: Option<ResumeTriggers>,
}

#[derive(Debug, Default, Deserialize)]
struct LifecycleHooks {
    #[serde(default)]
    suspend_commands: Option<Vec<String>>,
    #[serde(default)]
    suspend_deadline_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct ResumeTriggers {
    #[serde(default)]
    axon_event: Option<bool>,
    #[serde(default)]
    http: Option<bool>,
}

/// Checks `params` and returns the boot plan, or a 400 naming the first field that is
/// invalid or not supported.
pub fn plan_boot(params: &DevboxCreateParams) -> ServiceResult<BootPlan> {
    reject_unsupported(params)?;
    check_environment(params)?;

    let launch = params.launch_parameters.clone().unwrap_or_default();
    check_launch_parameters(&launch)?;
    let lifecycle = parse_lifecycle(&launch)?;

    let after_idle = match (&launch.after_idle, &lifecycle.after_idle) {
        (Some(top), Some(nested)) if top != nested => {
            return Err(invalid(
                "launch_parameters.after_idle and launch_parameters.lifecycle.after_idle differ; \
                 give the same value or only one of them",
            ));
        }
        (Some(after_idle), _) | (None, Some(after_idle)) => Some(after_idle.clone()),
        (None, None) => None,
    };
    let timers = timer_policy(launch.keep_alive_time_seconds, after_idle.as_ref())?;

    let hooks = lifecycle.lifecycle_hooks.unwrap_or_default();
    let suspend_commands = hooks.suspend_commands.unwrap_or_default();
    check_commands(
        "launch_parameters.lifecycle.lifecycle_hooks.suspend_commands",
        &suspend_commands,
    )?;
    let deadline_ms = hooks
        .suspend_deadline_ms
        .unwrap_or(DEFAULT_SUSPEND_DEADLINE_MS);
    if deadline_ms == 0 || deadline_ms > MAX_SUSPEND_DEADLINE_MS {
        return Err(invalid(format!(
            "launch_parameters.lifecycle.lifecycle_hooks.suspend_deadline_ms must be between 1 \
             and {MAX_SUSPEND_DEADLINE_MS}, got {deadline_ms}"
        )));
    }

    let launch_commands = launch.launch_commands.clone().unwrap_or_default();
    check_commands("launch_parameters.launch_commands", &launch_commands)?;

    let entrypoint = params.entrypoint.clone();
    if let Some(entrypoint) = &entrypoint {
        if entrypoint.trim().is_empty() {
            return Err(invalid(
                "entrypoint is empty; omit it or give the command of the devbox's main process",
            ));
        }
        if entrypoint.contains('\0') {
            return Err(invalid("entrypoint contains a NUL byte"));
        }
    }

    Ok(BootPlan {
        files: file_mounts(params)?,
        launch_commands,
        entrypoint,
        suspend_commands,
        suspend_deadline: Duration::from_millis(deadline_ms),
        timers,
    })
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::InvalidRequest(message.into())
}

fn unsupported(field: &str, reason: &str) -> ServiceError {
    invalid(format!(
        "{field} is not supported by runloop-local: {reason}; remove it from the request"
    ))
}

fn reject_unsupported(params: &DevboxCreateParams) -> ServiceResult<()> {
    if params.blueprint_id.is_some() || params.blueprint_name.is_some() {
        let field = if params.blueprint_id.is_some() {
            "blueprint_id"
        } else {
            "blueprint_name"
        };
        return Err(unsupported(
            field,
            "it has no blueprints; boot from the host base or from a snapshot_id",
        ));
    }

    let rejected = [
        (
            "secrets",
            params.secrets.as_ref().is_some_and(|map| !map.is_empty()),
            "it has no secret store; pass values in environment_variables",
        ),
        (
            "code_mounts",
            params.code_mounts.as_ref().is_some_and(|list| !list.is_empty()),
            "it does not clone repositories; clone one with a launch command",
        ),
        (
            "gateways",
            params.gateways.as_ref().is_some_and(|map| !map.is_empty()),
            "it has no agent gateways",
        ),
        (
            "mcp",
            params.mcp.as_ref().is_some_and(|map| !map.is_empty()),
            "it has no MCP hub",
        ),
        (
            "tunnel",
            params.tunnel.is_some(),
            "it creates no tunnels; devboxes share the host network, so connect to their ports on 127.0.0.1",
        ),
    ];
    if let Some((field, _, reason)) = rejected.iter().find(|(_, given, _)| *given) {
        return Err(unsupported(field, reason));
    }

    for (index, mount) in params.mounts.iter().flatten().enumerate() {
        let kind = match mount {
            Mount::FileMount { .. } => continue,
            Mount::ObjectMount { .. } => "object_mount",
            Mount::CodeMount(_) => "code_mount",
            Mount::AgentMount { .. } => "agent_mount",
            Mount::BrokerMount { .. } => "broker_mount",
        };
        return Err(unsupported(
            &format!("mounts[{index}] of type {kind}"),
            "only file_mount entries are supported",
        ));
    }
    Ok(())
}

fn check_environment(params: &DevboxCreateParams) -> ServiceResult<()> {
    for (name, value) in params.environment_variables.iter().flatten() {
        if name.is_empty() || name.contains(['=', '\0']) {
            return Err(invalid(format!(
                "environment variable name {name:?} is invalid; it must be non-empty without '=' or NUL"
            )));
        }
        if value.contains('\0') {
            return Err(invalid(format!(
                "environment variable {name} contains a NUL byte"
            )));
        }
    }
    Ok(())
}

fn check_launch_parameters(launch: &LaunchParameters) -> ServiceResult<()> {
    if launch.network_policy_id.is_some() {
        return Err(unsupported(
            "launch_parameters.network_policy_id",
            "devboxes share the host network and it applies no network policies",
        ));
    }
    if launch
        .required_services
        .as_ref()
        .is_some_and(|services| !services.is_empty())
    {
        return Err(unsupported(
            "launch_parameters.required_services",
            "it has no blueprints and so no containerized services",
        ));
    }
    if let Some(user) = &launch.user_parameters {
        if user.uid != 0 || user.username != "root" {
            return Err(unsupported(
                "launch_parameters.user_parameters other than {uid: 0, username: \"root\"}",
                "commands run as root",
            ));
        }
    }
    if let Some(architecture) = launch.architecture {
        let host = host_architecture();
        if Some(architecture) != host {
            return Err(unsupported(
                &format!(
                    "launch_parameters.architecture {}",
                    architecture_name(architecture)
                ),
                "devboxes run on the host's architecture; omit the field",
            ));
        }
    }
    if let Some(tier) = launch.provisioning_tier.as_deref() {
        if tier != "standard" && tier != "flex" {
            return Err(invalid(format!(
                "launch_parameters.provisioning_tier must be standard or flex, got {tier:?}"
            )));
        }
    }
    check_resource_size(launch)
}

fn host_architecture() -> Option<Architecture> {
    match std::env::consts::ARCH {
        "x86_64" => Some(Architecture::X86_64),
        "aarch64" => Some(Architecture::Arm64),
        _ => None,
    }
}

fn architecture_name(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::X86_64 => "x86_64",
        Architecture::Arm64 => "arm64",
    }
}

/// Applies the size rules documented for the hosted API, although sizes have no effect
/// here, so that a request this server accepts is one the hosted API accepts too.
fn check_resource_size(launch: &LaunchParameters) -> ServiceResult<()> {
    use runloop_types::ResourceSize;

    let custom = launch.resource_size_request == Some(ResourceSize::CustomSize);
    let any_custom = launch.custom_cpu_cores.is_some()
        || launch.custom_gb_memory.is_some()
        || launch.custom_disk_size.is_some();
    if any_custom && !custom {
        return Err(invalid(
            "launch_parameters.custom_cpu_cores, custom_gb_memory and custom_disk_size need \
             resource_size_request CUSTOM_SIZE",
        ));
    }
    if !custom {
        return Ok(());
    }

    let (Some(cpu), Some(memory)) = (launch.custom_cpu_cores, launch.custom_gb_memory) else {
        return Err(invalid(
            "resource_size_request CUSTOM_SIZE needs launch_parameters.custom_cpu_cores and \
             custom_gb_memory",
        ));
    };
    let cpu_valid = cpu == 0.5 || cpu == 1.0 || (cpu.fract() == 0.0 && cpu % 2.0 == 0.0);
    if !cpu_valid || !(0.5..=16.0).contains(&cpu) {
        return Err(invalid(format!(
            "launch_parameters.custom_cpu_cores must be 0.5, 1 or an even number up to 16, got {cpu}"
        )));
    }
    if !(memory == 1 || memory % 2 == 0) || !(1..=64).contains(&memory) {
        return Err(invalid(format!(
            "launch_parameters.custom_gb_memory must be 1 or an even number up to 64, got {memory}"
        )));
    }
    let ratio = memory as f64 / cpu;
    if !(2.0..=8.0).contains(&ratio) {
        return Err(invalid(format!(
            "launch_parameters.custom_gb_memory must be 2 to 8 GiB per CPU core; {memory} GiB \
             for {cpu} cores is outside that"
        )));
    }
    if let Some(disk) = launch.custom_disk_size {
        if disk % 2 != 0 || !(2..=64).contains(&disk) {
            return Err(invalid(format!(
                "launch_parameters.custom_disk_size must be an even number of GiB from 2 to 64, got {disk}"
            )));
        }
    }
    Ok(())
}

fn parse_lifecycle(launch: &LaunchParameters) -> ServiceResult<Lifecycle> {
    let Some(map) = &launch.lifecycle else {
        return Ok(Lifecycle::default());
    };
    let lifecycle: Lifecycle = serde_json::from_value(serde_json::Value::Object(map.clone()))
        .map_err(|error| invalid(format!("launch_parameters.lifecycle is invalid: {error}")))?;

    let triggers = lifecycle.resume_triggers.as_ref();
    let trigger = [
        ("axon_event", triggers.and_then(|t| t.axon_event)),
        ("http", triggers.and_then(|t| t.http)),
    ]
    .into_iter()
    .find(|(_, enabled)| *enabled == Some(true));
    if let Some((name, _)) = trigger {
        return Err(unsupported(
            &format!("launch_parameters.lifecycle.resume_triggers.{name}"),
            "a suspended devbox resumes only through POST /v1/devboxes/{id}/resume",
        ));
    }
    Ok(lifecycle)
}

fn timer_policy(
    keep_alive_seconds: Option<i64>,
    after_idle: Option<&AfterIdle>,
) -> ServiceResult<TimerPolicy> {
    let keep_alive = match keep_alive_seconds {
        None => DEFAULT_KEEP_ALIVE,
        Some(seconds @ 1..=MAX_KEEP_ALIVE_SECONDS) => Duration::from_secs(seconds.unsigned_abs()),
        Some(seconds) => {
            return Err(invalid(format!(
                "launch_parameters.keep_alive_time_seconds must be between 1 and \
                 {MAX_KEEP_ALIVE_SECONDS}, got {seconds}"
            )));
        }
    };

    let idle = match after_idle {
        None => None,
        Some(after_idle) if after_idle.idle_time_seconds >= 1 => Some((
            Duration::from_secs(after_idle.idle_time_seconds.unsigned_abs()),
            after_idle.on_idle,
        )),
        Some(after_idle) => {
            return Err(invalid(format!(
                "after_idle.idle_time_seconds must be at least 1, got {}",
                after_idle.idle_time_seconds
            )));
        }
    };

    // As in the hosted API, an idle policy replaces the keep-alive time.
    Ok(TimerPolicy {
        keep_alive: idle.is_none().then_some(keep_alive),
        idle,
    })
}

fn check_commands(field: &str, commands: &[String]) -> ServiceResult<()> {
    if let Some(index) = commands.iter().position(|command| command.contains('\0')) {
        return Err(invalid(format!("{field}[{index}] contains a NUL byte")));
    }
    Ok(())
}

/// Collects `file_mounts` and `mounts` entries of type `file_mount` as devbox paths.
fn file_mounts(params: &DevboxCreateParams) -> ServiceResult<Vec<(String, String)>> {
    let mut files = Vec::new();
    for (path, contents) in params.file_mounts.iter().flatten() {
        let path = devbox_path(path).map_err(|error| {
            invalid(format!(
                "file_mounts key {path:?} is not a valid path: {error}"
            ))
        })?;
        files.push((path, contents.clone()));
    }
    for (index, mount) in params.mounts.iter().flatten().enumerate() {
        if let Mount::FileMount { target, content } = mount {
            let path = devbox_path(target).map_err(|error| {
                invalid(format!(
                    "mounts[{index}].target is not a valid path: {error}"
                ))
            })?;
            files.push((path, content.clone()));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use runloop_types::{IdleAction, ResourceSize, UserParameters};
    use serde_json::json;

    use super::*;

    fn parse(value: serde_json::Value) -> DevboxCreateParams {
        serde_json::from_value(value).expect("valid create body")
    }

    fn rejection(value: serde_json::Value) -> String {
        match plan_boot(&parse(value)) {
            Err(ServiceError::InvalidRequest(message)) => message,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn empty_body_gets_default_keep_alive() {
        let plan = plan_boot(&DevboxCreateParams::default()).expect("valid");
        assert_eq!(plan.timers.keep_alive, Some(DEFAULT_KEEP_ALIVE));
        assert_eq!(plan.timers.idle, None);
        assert!(plan.launch_commands.is_empty());
        assert_eq!(plan.suspend_deadline, Duration::from_secs(30));
    }

    #[test]
    fn after_idle_replaces_keep_alive() {
        let plan = plan_boot(&parse(json!({
            "launch_parameters": {
                "keep_alive_time_seconds": 5,
                "after_idle": { "idle_time_seconds": 2, "on_idle": "suspend" }
            }
        })))
        .expect("valid");
        assert_eq!(plan.timers.keep_alive, None);
        assert_eq!(
            plan.timers.idle,
            Some((Duration::from_secs(2), IdleAction::Suspend))
        );
    }

    #[test]
    fn lifecycle_after_idle_and_hooks_are_read() {
        let plan = plan_boot(&parse(json!({
            "launch_parameters": { "lifecycle": {
                "after_idle": { "idle_time_seconds": 3, "on_idle": "shutdown" },
                "lifecycle_hooks": { "suspend_commands": ["sync"], "suspend_deadline_ms": 500 }
            } }
        })))
        .expect("valid");
        assert_eq!(
            plan.timers.idle,
            Some((Duration::from_secs(3), IdleAction::Shutdown))
        );
        assert_eq!(plan.suspend_commands, ["sync"]);
        assert_eq!(plan.suspend_deadline, Duration::from_millis(500));
    }

    #[test]
    fn differing_after_idle_values_are_rejected() {
        let message = rejection(json!({
            "launch_parameters": {
                "after_idle": { "idle_time_seconds": 2, "on_idle": "suspend" },
                "lifecycle": { "after_idle": { "idle_time_seconds": 3, "on_idle": "suspend" } }
            }
        }));
        assert!(message.contains("differ"), "{message}");
    }

    #[test]
    fn unsupported_fields_are_named() {
        let cases = [
            (json!({ "blueprint_id": "bpt_1" }), "blueprint_id"),
            (json!({ "blueprint_name": "x" }), "blueprint_name"),
            (json!({ "secrets": { "A": "s" } }), "secrets"),
            (json!({ "tunnel": {} }), "tunnel"),
            (
                json!({ "gateways": { "G": { "gateway": "g", "secret": "s" } } }),
                "gateways",
            ),
            (
                json!({ "mcp": { "M": { "mcp_config": "m", "secret": "s" } } }),
                "mcp",
            ),
            (
                json!({ "code_mounts": [{ "repo_name": "r", "repo_owner": "o" }] }),
                "code_mounts",
            ),
            (
                json!({ "mounts": [{ "type": "object_mount", "object_id": "o", "object_path": "/x" }] }),
                "mounts[0] of type object_mount",
            ),
            (
                json!({ "launch_parameters": { "network_policy_id": "np" } }),
                "network_policy_id",
            ),
            (
                json!({ "launch_parameters": { "required_services": ["db"] } }),
                "required_services",
            ),
            (
                json!({ "launch_parameters": { "user_parameters": { "uid": 1000, "username": "user" } } }),
                "user_parameters",
            ),
            (
                json!({ "launch_parameters": { "lifecycle": { "resume_triggers": { "http": true } } } }),
                "resume_triggers.http",
            ),
        ];
        for (body, field) in cases {
            let message = rejection(body.clone());
            assert!(message.contains(field), "{body}: {message}");
        }
    }

    #[test]
    fn stored_only_fields_are_accepted() {
        let plan = plan_boot(&parse(json!({
            "secrets": {},
            "launch_parameters": {
                "resource_size_request": "CUSTOM_SIZE",
                "custom_cpu_cores": 2,
                "custom_gb_memory": 8,
                "custom_disk_size": 16,
                "available_ports": [8080],
                "provisioning_tier": "flex",
                "user_parameters": { "uid": 0, "username": "root" }
            }
        })));
        assert!(plan.is_ok(), "{plan:?}");
    }

    #[test]
    fn resource_size_rules_apply() {
        let invalid_sizes = [
            json!({ "custom_cpu_cores": 2, "custom_gb_memory": 8 }),
            json!({ "resource_size_request": "CUSTOM_SIZE", "custom_cpu_cores": 3, "custom_gb_memory": 8 }),
            json!({ "resource_size_request": "CUSTOM_SIZE", "custom_cpu_cores": 2, "custom_gb_memory": 3 }),
            json!({ "resource_size_request": "CUSTOM_SIZE", "custom_cpu_cores": 2, "custom_gb_memory": 32 }),
            json!({ "resource_size_request": "CUSTOM_SIZE", "custom_cpu_cores": 2 }),
            json!({ "resource_size_request": "CUSTOM_SIZE", "custom_cpu_cores": 1, "custom_gb_memory": 2, "custom_disk_size": 3 }),
        ];
        for launch in invalid_sizes {
            rejection(json!({ "launch_parameters": launch }));
        }
        let named = LaunchParameters {
            resource_size_request: Some(ResourceSize::Large),
            ..LaunchParameters::default()
        };
        assert!(check_resource_size(&named).is_ok());
    }

    #[test]
    fn root_user_is_accepted_only_as_root() {
        let launch = LaunchParameters {
            user_parameters: Some(UserParameters {
                uid: 0,
                username: "admin".to_owned(),
            }),
            ..LaunchParameters::default()
        };
        assert!(check_launch_parameters(&launch).is_err());
    }

    #[test]
    fn keep_alive_range_is_checked() {
        for seconds in [0, -1, MAX_KEEP_ALIVE_SECONDS + 1] {
            rejection(json!({ "launch_parameters": { "keep_alive_time_seconds": seconds } }));
        }
        rejection(json!({ "launch_parameters": {
            "after_idle": { "idle_time_seconds": 0, "on_idle": "shutdown" }
        } }));
    }

    #[test]
    fn file_mounts_resolve_like_file_paths() {
        let plan = plan_boot(&parse(json!({
            "file_mounts": { "a.txt": "A" },
            "mounts": [{ "type": "file_mount", "target": "/etc/b.conf", "content": "B" }]
        })))
        .expect("valid");
        assert_eq!(
            plan.files,
            vec![
                ("/home/user/a.txt".to_owned(), "A".to_owned()),
                ("/etc/b.conf".to_owned(), "B".to_owned()),
            ]
        );
    }

    #[test]
    fn empty_entrypoint_is_rejected() {
        let message = rejection(json!({ "entrypoint": " " }));
        assert!(message.contains("entrypoint"), "{message}");
    }
}
