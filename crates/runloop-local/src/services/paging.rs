//! Page size and cursor rules shared by the list endpoints.

use crate::error::{ServiceError, ServiceResult};

/// Page size when the request gives none.
const DEFAULT_LIMIT: u32 = 20;
/// Largest page size; larger requests are capped to it.
const MAX_LIMIT: u32 = 5000;

/// Paging parameters common to the list endpoints.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Page size (default 20, at most 5000).
    pub limit: Option<u32>,
    /// Id of the last item of the previous page.
    pub starting_after: Option<String>,
    /// Whether to count all matching items (default true); the count is 0 when false.
    pub include_total_count: Option<bool>,
}

impl ListQuery {
    /// Returns the page size: 20 by default, capped at 5000, and never 0.
    pub fn page_limit(&self) -> ServiceResult<u32> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(0) => Err(ServiceError::InvalidRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}, got 0"
            ))),
            Some(limit) => Ok(limit.min(MAX_LIMIT)),
        }
    }

    /// Returns `total` when the caller asked for a total count, else 0.
    pub fn total_count(&self, total: u64) -> u64 {
        if self.include_total_count.unwrap_or(true) {
            total
        } else {
            0
        }
    }
}
