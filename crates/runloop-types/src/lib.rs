//! Wire types of the Runloop REST API: the JSON views the server returns and the request
//! bodies it accepts, shared by the wasm SDK and the `runloop-local` server.
//!
//! Field names are the wire names (snake_case). Conventions that hold for every type here:
//!
//! - In views, a nullable field is an `Option` that serializes as `null`, and an absent field
//!   deserializes as `None`, so a view from an older or newer server still decodes.
//! - In request bodies, an optional field that is `None` is left out of the JSON, never sent
//!   as `null`.
//! - With the `tsify` feature, each type also emits a TypeScript declaration; string maps are
//!   typed `Record<string, string>` (plain objects), not `Map`.

#![forbid(unsafe_code)]

pub mod devbox;
pub mod error;
pub mod execution;
pub mod file;
pub mod snapshot;

pub use devbox::*;
pub use error::*;
pub use execution::*;
pub use file::*;
pub use snapshot::*;

/// String-to-string metadata map, ordered by key so that JSON output is stable.
pub type Metadata = std::collections::BTreeMap<String, String>;
