//! One module per API area. Each module has functions that build the [`ApiRequest`] of an
//! endpoint, and a handle (from [`Client`](crate::Client)) whose methods send them and
//! decode the response. Methods that wait take [`WaitOptions`](crate::wait::WaitOptions).
//!
//! [`ApiRequest`]: crate::client::ApiRequest

pub mod devboxes;
pub mod executions;
pub mod files;
pub mod snapshots;

pub use devboxes::Devboxes;
pub use executions::{Executions, OutputStream};
pub use files::Files;
pub use snapshots::{MetadataFilter, Snapshots};

pub(crate) use executions::execution_path;

use crate::url::encode_component;

/// Builds `/v1/devboxes/{id}` followed by `rest`, with the id percent-encoded.
fn devbox_path(id: &str, rest: &str) -> String {
    format!("/v1/devboxes/{}{rest}", encode_component(id))
}

/// Converts a hold in seconds to whole milliseconds, rounding up.
pub(crate) fn seconds_to_ms(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0).ceil() as u64
}
