//! One handle per API area. Each method names the path and the types; the client core does
//! the rest. Methods that wait take [`WaitOptions`](crate::wait::WaitOptions).

mod devboxes;
mod executions;
mod files;
mod snapshots;

pub use devboxes::Devboxes;
pub use executions::{Executions, OutputStream};
pub use files::Files;
pub use snapshots::Snapshots;

use crate::url::encode_component;

/// Builds `/v1/devboxes/{id}` followed by `rest`, with the id percent-encoded.
fn devbox_path(id: &str, rest: &str) -> String {
    format!("/v1/devboxes/{}{rest}", encode_component(id))
}
