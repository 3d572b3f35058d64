//! Integration tests: each test starts the real server in-process on port 0 with its own
//! data dir and drives it over HTTP. They need root, overlayfs and the cgroup v1 freezer.

mod binary;
mod common;
mod devboxes;
mod executions;
mod files;
mod protocol;
mod restart;
mod snapshots;
