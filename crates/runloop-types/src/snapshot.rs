//! Disk snapshot bodies, views and list pages.

use serde::{Deserialize, Serialize};

use crate::Metadata;

/// Body of `snapshot_disk`, `snapshot_disk_async` and the snapshot update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct SnapshotDiskParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Record<string, string>"))]
    pub metadata: Option<Metadata>,
    /// Free-text description of the snapshot (at most 1000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub commit_message: Option<String>,
}

/// A disk snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(missing_as_null))]
pub struct DevboxSnapshotView {
    pub id: String,
    /// Creation time in milliseconds since the Unix epoch.
    pub create_time_ms: i64,
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "Record<string, string>"))]
    pub metadata: Metadata,
    pub source_devbox_id: String,
    pub name: Option<String>,
    pub commit_message: Option<String>,
    /// Size of the snapshot's own layer in bytes: what changed relative to its base.
    pub size_bytes: Option<u64>,
    pub source_blueprint_id: Option<String>,
}

/// State of a snapshot capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum SnapshotStatus {
    InProgress,
    Error,
    Complete,
    Deleted,
}

impl SnapshotStatus {
    /// Returns the wire string, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Error => "error",
            Self::Complete => "complete",
            Self::Deleted => "deleted",
        }
    }
}

/// Response of `GET /v1/devboxes/disk_snapshots/{id}/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxSnapshotAsyncStatusView {
    pub status: SnapshotStatus,
    /// Reason the capture failed, when `status` is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub error_message: Option<String>,
    /// The snapshot, when `status` is `complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub snapshot: Option<DevboxSnapshotView>,
}

/// One page of `GET /v1/devboxes/disk_snapshots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DevboxSnapshotListView {
    pub snapshots: Vec<DevboxSnapshotView>,
    pub has_more: bool,
    /// Number of snapshots matching the filter over all pages; `0` when not requested.
    #[serde(default)]
    pub total_count: u64,
}

/// Query of `GET /v1/devboxes/disk_snapshots`.
///
/// Metadata filters (`metadata[key]=value`) are extra query keys and are not part of this type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DiskSnapshotListParams {
    /// Only snapshots taken from this devbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub devbox_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub source_blueprint_id: Option<String>,
    /// Page size (default 20, max 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub limit: Option<u32>,
    /// Id of the last item of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub starting_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub include_total_count: Option<bool>,
}
