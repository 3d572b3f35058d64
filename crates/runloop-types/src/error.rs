//! The JSON body of an error response.

use serde::{Deserialize, Serialize};

/// Error body returned with every 4xx and 5xx status: `{"message": "..."}`.
///
/// The official SDKs rely only on `message`; the other fields are optional extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ErrorBody {
    /// Human-readable description of what failed and what to do about it.
    pub message: String,
    /// HTTP status, repeated in the body for clients that only see the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub status: Option<u16>,
}
