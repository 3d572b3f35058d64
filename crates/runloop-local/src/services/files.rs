//! Reading and writing text files inside devboxes; see `transfer` for binary uploads and
//! downloads.
//!
//! Paths follow the hosted API: relative paths start at `/home/user`, `~` and `~/…` name
//! the home directory, and absolute paths are absolute inside the devbox. The sandbox's
//! confined I/O keeps every resolved path inside the devbox root. It resolves paths through
//! the devbox's own mounts, so the file API finds the same files as commands in the devbox.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use runloop_types::DevboxExecutionDetailView;

use super::logs::{log_entry, LogLevel, LogSource};
use super::runtime::DevboxRuntime;
use super::Services;
use crate::error::{ServiceError, ServiceResult};
use crate::sandbox::rootfs::{self, FileError};
use crate::sandbox::{Sandbox, HOME_DIR};

/// Largest file that read_file_contents returns and write_file_contents accepts, in bytes;
/// larger files are meant for upload_file and download_file.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

impl Services {
    /// Returns the contents of the UTF-8 text file `file_path` in the devbox.
    pub async fn read_file(&self, devbox_id: &str, file_path: &str) -> ServiceResult<String> {
        let path = devbox_path(file_path)?;
        let runtime = self.running_devbox(devbox_id, "read files")?;

        let sandbox = runtime.sandbox.read().await;
        let root = sandbox_root(sandbox.as_ref(), devbox_id)?;
        let read_path = path.clone();
        let data = tokio::task::spawn_blocking(move || {
            rootfs::read_file(&root, &read_path, MAX_FILE_BYTES)
        })
        .await
        .context("the file read task panicked")?
        .map_err(map_file_error)?;
        drop(sandbox);

        String::from_utf8(data).map_err(|error| {
            ServiceError::InvalidRequest(format!(
                "{path} is not valid UTF-8 text (invalid byte at offset {}); use download_file \
                 for binary files",
                error.utf8_error().valid_up_to()
            ))
        })
    }

    /// Replaces the contents of `file_path` in the devbox with `contents`, creating missing
    /// parent directories. Returns an execution view with exit status 0 and no output.
    pub async fn write_file(
        &self,
        devbox_id: &str,
        file_path: &str,
        contents: String,
    ) -> ServiceResult<DevboxExecutionDetailView> {
        let path = devbox_path(file_path)?;
        if contents.len() as u64 > MAX_FILE_BYTES {
            return Err(ServiceError::TooLarge(format!(
                "contents are {} bytes, more than the write_file_contents limit of \
                 {MAX_FILE_BYTES} bytes (100 MiB); use upload_file for large files",
                contents.len()
            )));
        }
        let runtime = self.running_devbox(devbox_id, "write files")?;

        let size = contents.len();
        let _no_capture = runtime.changes.lock().await;
        let sandbox = runtime.sandbox.read().await;
        let root = sandbox_root(sandbox.as_ref(), devbox_id)?;
        let write_path = path.clone();
        tokio::task::spawn_blocking(move || {
            rootfs::write_file(&root, &write_path, contents.as_bytes())
        })
        .await
        .context("the file write task panicked")?
        .map_err(map_file_error)?;
        log_file_write(&runtime, format!("wrote {size} bytes to {path}"));

        Ok(DevboxExecutionDetailView {
            devbox_id: devbox_id.to_owned(),
            exit_status: 0,
            stdout: String::new(),
            stderr: String::new(),
            shell_name: None,
        })
    }
}

/// Records a file change made through the API in the devbox log.
pub(super) fn log_file_write(runtime: &Arc<DevboxRuntime>, message: String) {
    runtime.log(log_entry(LogSource::Files, LogLevel::Info, message));
}

/// Turns an API file path into an absolute path inside the devbox.
pub(super) fn devbox_path(file_path: &str) -> ServiceResult<String> {
    if file_path.is_empty() {
        return Err(ServiceError::InvalidRequest(
            "file path is empty; pass a path such as notes.txt, ~/notes.txt or /tmp/notes.txt"
                .to_owned(),
        ));
    }
    if file_path.contains('\0') {
        return Err(ServiceError::InvalidRequest(
            "file path contains a NUL byte".to_owned(),
        ));
    }

    let path = if file_path == "~" {
        HOME_DIR.to_owned()
    } else if let Some(rest) = file_path.strip_prefix("~/") {
        format!("{HOME_DIR}/{rest}")
    } else if file_path.starts_with('/') {
        file_path.to_owned()
    } else {
        format!("{HOME_DIR}/{file_path}")
    };
    Ok(path)
}

/// Returns the root for file I/O of a sandbox that is still running.
pub(super) fn sandbox_root(sandbox: Option<&Sandbox>, devbox_id: &str) -> ServiceResult<PathBuf> {
    sandbox.map(Sandbox::file_root).ok_or_else(|| {
        ServiceError::InvalidState(format!(
            "devbox {devbox_id} stopped before the file operation could start"
        ))
    })
}

/// Maps a confined file operation's failure to the API error: 404 for a missing path, 413
/// for a file over the limit, 400 for a path that names no regular file.
pub(super) fn map_file_error(error: FileError) -> ServiceError {
    match error {
        FileError::NotFound(_) => ServiceError::NotFound(error.to_string()),
        FileError::TooLarge { .. } => ServiceError::TooLarge(error.to_string()),
        FileError::IsDirectory(_) | FileError::NotADirectory(_) | FileError::NotRegularFile(_) => {
            ServiceError::InvalidRequest(error.to_string())
        }
        FileError::Io { .. } => ServiceError::Internal(anyhow::Error::new(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_start_at_home() {
        assert_eq!(devbox_path("a/b.txt").expect("valid"), "/home/user/a/b.txt");
    }

    #[test]
    fn tilde_names_home() {
        assert_eq!(devbox_path("~").expect("valid"), "/home/user");
        assert_eq!(devbox_path("~/x").expect("valid"), "/home/user/x");
    }

    #[test]
    fn absolute_paths_are_kept() {
        assert_eq!(devbox_path("/tmp/x").expect("valid"), "/tmp/x");
    }

    #[test]
    fn empty_path_is_rejected() {
        assert!(devbox_path("").is_err());
    }

    #[test]
    fn too_large_maps_to_413() {
        let error = map_file_error(FileError::TooLarge {
            path: "/x".to_owned(),
            limit: 5,
        });
        assert!(matches!(error, ServiceError::TooLarge(_)));
    }
}
