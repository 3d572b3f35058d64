//! File transfer bodies. Read and write name the path `file_path`; upload and download name
//! it `path`.

use serde::{Deserialize, Serialize};

/// Body of `POST /v1/devboxes/{id}/read_file_contents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ReadFileParams {
    /// Path in the devbox; relative paths start at the home directory.
    pub file_path: String,
}

/// Body of `POST /v1/devboxes/{id}/write_file_contents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct WriteFileParams {
    /// Path in the devbox; relative paths start at the home directory.
    pub file_path: String,
    /// UTF-8 contents that replace the file.
    pub contents: String,
}

/// Body of `POST /v1/devboxes/{id}/download_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct DownloadFileParams {
    pub path: String,
}
