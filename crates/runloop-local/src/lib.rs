//! `runloop-local`: a local server that speaks the Runloop REST API, with real devboxes and
//! disk snapshots.
//!
//! A devbox is an overlay of the host's root file system in its own mount and PID
//! namespaces and its own cgroup v1 freezer group; a snapshot is an immutable copy of the
//! devbox's overlay upper directory, stacked on the layers it was booted from.
//!
//! Layers, each calling only the ones below it:
//!
//! - `http`: axum routes; parse, validate, call a service, map errors to JSON.
//! - `services`: devbox lifecycle, executions, files and snapshots, and their rules.
//! - `sandbox`: the only code that touches namespaces, mounts and cgroups.
//! - `layers`: the only code that copies or deletes snapshot layer data.
//! - `store`: SQLite; every state write runs in a transaction.
//!
//! Tests and embedders start a server with [`launch_with_listener`] on a listener bound to
//! port 0, or build the routes with [`router`] over [`App::state`].

#![forbid(unsafe_code)]

mod app;
mod clock;
mod config;
mod error;
mod file_attrs;
mod http;
mod ids;
mod layers;
mod sandbox;
mod services;
mod store;

pub use app::{launch_with_listener, App};
pub use config::{Config, DEFAULT_MAX_CHAIN_DEPTH, DEFAULT_SNAPSHOT_TIMEOUT};
pub use http::{router, AppState};
