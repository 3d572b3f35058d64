//! Integration tests: each test starts the real server in-process on port 0 with its own
//! data dir and drives it over HTTP. They need root, overlayfs and the cgroup v1 freezer.

mod binary;
mod body_limits;
mod common;
mod cors;
mod devboxes;
mod executions;
mod executions_kill;
mod executions_shells;
mod executions_stdin;
mod executions_streams;
mod executions_support;
mod fidelity;
mod files;
mod lifecycle;
mod lifecycle_boot;
mod lifecycle_list;
mod protocol;
mod restart;
mod restart_executions;
mod snapshot_api;
mod snapshot_capture;
mod snapshot_chain;
mod snapshot_refcount;
mod snapshot_restart;
mod snapshot_support;
mod snapshots;
mod transfer;
mod upload_snapshot;
