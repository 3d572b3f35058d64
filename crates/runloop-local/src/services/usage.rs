//! Resource usage and logs of a devbox.
//!
//! Usage follows the definitions of the hosted API: elapsed time runs from creation to the
//! end (or now), and active time is elapsed time minus the time spent `suspended`. A devbox
//! here has no CPU, memory or disk allocation, so `vcpu_seconds`, `memory_gb_seconds` and
//! `disk_gb_seconds`, which the hosted API computes as allocation times time, are 0.

use runloop_types::{DevboxLogsView, DevboxResourceUsageView, DevboxStatus, DevboxView};

use super::Services;
use crate::clock::now_ms;
use crate::error::ServiceResult;

impl Services {
    /// Returns the resource usage of the devbox `id` so far.
    pub fn devbox_usage(&self, id: &str) -> ServiceResult<DevboxResourceUsageView> {
        let view = self.devbox(id)?;
        Ok(usage_of(&view, now_ms()))
    }

    /// Returns the log of the devbox `id`, oldest first, keeping only entries of the
    /// execution `execution_id` and the shell `shell_name` when those are given.
    pub fn devbox_logs(
        &self,
        id: &str,
        execution_id: Option<&str>,
        shell_name: Option<&str>,
    ) -> ServiceResult<DevboxLogsView> {
        self.devbox_record(id)?;
        let logs = self.store.devbox_logs(id, execution_id, shell_name)?;
        Ok(DevboxLogsView { logs })
    }
}

/// Computes the usage of `view` at `now_ms` from its creation, end and state transitions.
fn usage_of(view: &DevboxView, now_ms: i64) -> DevboxResourceUsageView {
    let end = view.end_time_ms.unwrap_or(now_ms).max(view.create_time_ms);
    let elapsed_ms = end - view.create_time_ms;

    let mut suspended_ms = 0;
    let transitions = &view.state_transitions;
    for (index, transition) in transitions.iter().enumerate() {
        if transition.status != Some(DevboxStatus::Suspended) {
            continue;
        }
        let Some(start) = transition.transition_time_ms else {
            continue;
        };
        let until = transitions
            .get(index + 1)
            .and_then(|next| next.transition_time_ms)
            .unwrap_or(end);
        suspended_ms += (until.min(end) - start).max(0);
    }

    DevboxResourceUsageView {
        id: view.id.clone(),
        status: view.status.as_str().to_owned(),
        start_time_ms: view.create_time_ms,
        end_time_ms: view.end_time_ms,
        total_active_seconds: seconds(elapsed_ms - suspended_ms),
        total_elapsed_seconds: seconds(elapsed_ms),
        vcpu_seconds: 0.0,
        memory_gb_seconds: 0.0,
        disk_gb_seconds: 0.0,
    }
}

fn seconds(milliseconds: i64) -> f64 {
    milliseconds.max(0) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use runloop_types::{LaunchParameters, StateTransition};

    use super::*;

    fn view(transitions: &[(DevboxStatus, i64)], end: Option<i64>) -> DevboxView {
        DevboxView {
            id: "dbx_1".to_owned(),
            status: transitions
                .last()
                .map_or(DevboxStatus::Provisioning, |t| t.0),
            create_time_ms: 1_000,
            end_time_ms: end,
            capabilities: Vec::new(),
            launch_parameters: LaunchParameters::default(),
            metadata: Default::default(),
            state_transitions: transitions
                .iter()
                .map(|&(status, time)| StateTransition {
                    status: Some(status),
                    transition_time_ms: Some(time),
                    failure_reason: None,
                })
                .collect(),
            name: None,
            blueprint_id: None,
            snapshot_id: None,
            initiator_id: None,
            initiator_type: None,
            failure_reason: None,
            shutdown_reason: None,
            tunnel: None,
            gateway_specs: None,
            mcp_specs: None,
        }
    }

    #[test]
    fn live_devbox_counts_until_now() {
        let usage = usage_of(
            &view(
                &[
                    (DevboxStatus::Provisioning, 1_000),
                    (DevboxStatus::Running, 1_500),
                ],
                None,
            ),
            4_000,
        );
        assert_eq!(usage.total_elapsed_seconds, 3.0);
        assert_eq!(usage.total_active_seconds, 3.0);
        assert_eq!(usage.end_time_ms, None);
        assert_eq!(usage.status, "running");
    }

    #[test]
    fn suspended_time_is_not_active() {
        let usage = usage_of(
            &view(
                &[
                    (DevboxStatus::Provisioning, 1_000),
                    (DevboxStatus::Running, 1_000),
                    (DevboxStatus::Suspending, 2_000),
                    (DevboxStatus::Suspended, 2_500),
                    (DevboxStatus::Resuming, 6_500),
                    (DevboxStatus::Running, 6_600),
                    (DevboxStatus::Shutdown, 8_000),
                ],
                Some(8_000),
            ),
            20_000,
        );
        assert_eq!(usage.total_elapsed_seconds, 7.0);
        assert_eq!(usage.total_active_seconds, 3.0);
        assert_eq!(usage.end_time_ms, Some(8_000));
    }

    #[test]
    fn still_suspended_counts_until_now() {
        let usage = usage_of(
            &view(
                &[
                    (DevboxStatus::Running, 1_000),
                    (DevboxStatus::Suspended, 2_000),
                ],
                None,
            ),
            5_000,
        );
        assert_eq!(usage.total_elapsed_seconds, 4.0);
        assert_eq!(usage.total_active_seconds, 1.0);
    }
}
