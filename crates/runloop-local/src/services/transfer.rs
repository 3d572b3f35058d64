//! Binary file transfer: upload_file and download_file.
//!
//! Both stream. An upload is written chunk by chunk into a file that has no name yet (see
//! [`rootfs::stage_file`]). Once complete, the file gets a hidden name next to its path
//! (`.runloop-upload-<id>`) and is renamed over the path, so the path shows either the old
//! file or the whole new one, and a failed upload leaves no trace. A download reads the
//! file from disk as the client receives it. Paths resolve as for read_file_contents,
//! confined to the devbox. Neither has a size limit.

use std::sync::Arc;

use anyhow::Context;
use tokio::io::AsyncWriteExt;

use super::files::{devbox_path, log_file_write, map_file_error, sandbox_root};
use super::runtime::DevboxRuntime;
use super::Services;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::new_id;
use crate::sandbox::rootfs::{self, StagedFile};

/// Source of an upload's bytes, read chunk by chunk, such as a multipart file part.
pub trait UploadBody {
    /// One chunk of bytes.
    type Chunk: AsRef<[u8]> + Send;

    /// Returns the next chunk, `None` at the end, or a message saying why reading failed.
    fn next_chunk(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<Self::Chunk>, String>> + Send;
}

/// An open file to send to a client.
#[derive(Debug)]
pub struct Download {
    /// The file, positioned at its start.
    pub file: tokio::fs::File,
    /// Its size in bytes when it was opened.
    pub size: u64,
}

/// An upload whose bytes are all written but that does not appear at its path yet.
/// [`ReceivedUpload::commit`] renames it over the path, and [`ReceivedUpload::discard`]
/// deletes it.
pub struct ReceivedUpload {
    runtime: Arc<DevboxRuntime>,
    staged: StagedFile,
    devbox_id: String,
    path: String,
    written: u64,
}

impl Services {
    /// Writes the bytes of `body` into a new file for `path` in the devbox, which appears
    /// at `path` only once [`ReceivedUpload::commit`] runs.
    pub async fn receive_upload(
        &self,
        devbox_id: &str,
        path: &str,
        body: &mut impl UploadBody,
    ) -> ServiceResult<ReceivedUpload> {
        let path = devbox_path(path)?;
        let runtime = self.running_devbox(devbox_id, "upload files")?;

        let sandbox = runtime.sandbox.read().await;
        let root = sandbox_root(sandbox.as_ref(), devbox_id)?;
        drop(sandbox);
        let temp_name = format!(".runloop-upload-{}", new_id("tmp")?);
        let stage_path = path.clone();
        let staged =
            tokio::task::spawn_blocking(move || rootfs::stage_file(&root, &stage_path, &temp_name))
                .await
                .context("the upload staging task panicked")?
                .map_err(map_file_error)?;

        // The chunks are written without the capture lock, into a file that a snapshot
        // does not contain because it has no name yet.
        let (staged, written) = match receive(staged, body, &path).await {
            Ok(received) => received,
            Err((staged, error)) => {
                discard(staged).await;
                return Err(error);
            }
        };

        Ok(ReceivedUpload {
            runtime,
            staged,
            devbox_id: devbox_id.to_owned(),
            path,
            written,
        })
    }

    /// Opens the regular file `path` in the devbox for download.
    pub async fn download_file(
        self: &Arc<Self>,
        devbox_id: &str,
        path: &str,
    ) -> ServiceResult<Download> {
        let path = devbox_path(path)?;
        let runtime = self.running_devbox(devbox_id, "download files")?;

        let sandbox = runtime.sandbox.read().await;
        let root = sandbox_root(sandbox.as_ref(), devbox_id)?;
        let (file, size) =
            tokio::task::spawn_blocking(move || rootfs::open_regular_file(&root, &path))
                .await
                .context("the download open task panicked")?
                .map_err(map_file_error)?;
        drop(sandbox);

        Ok(Download {
            file: tokio::fs::File::from_std(file),
            size,
        })
    }
}

impl ReceivedUpload {
    /// Renames the file over its path, creating missing parent directories, and returns
    /// the number of bytes written.
    pub async fn commit(self) -> ServiceResult<u64> {
        let Self {
            runtime,
            staged,
            devbox_id,
            path,
            written,
        } = self;

        // The commit names the file, creates its missing parent directories and renames it
        // under the capture lock, so a snapshot contains either no file or the whole file
        // at `path`, and never the hidden name.
        let _no_capture = runtime.changes.lock().await;
        let sandbox = runtime.sandbox.read().await;
        if sandbox.is_none() {
            discard(staged).await;
            return Err(ServiceError::InvalidState(format!(
                "devbox {devbox_id} stopped while {path} was being uploaded"
            )));
        }
        tokio::task::spawn_blocking(move || staged.commit())
            .await
            .context("the upload commit task panicked")?
            .map_err(map_file_error)?;
        drop(sandbox);

        log_file_write(&runtime, format!("uploaded {written} bytes to {path}"));
        Ok(written)
    }

    /// Deletes the file, so the upload leaves no trace.
    pub async fn discard(self) {
        discard(self.staged).await;
    }
}

/// Copies every chunk of `body` into the staged file. On failure the staged file is
/// handed back so the caller can delete it.
async fn receive(
    staged: StagedFile,
    body: &mut impl UploadBody,
    path: &str,
) -> Result<(StagedFile, u64), (StagedFile, ServiceError)> {
    let file = match staged.file.try_clone() {
        Ok(file) => file,
        Err(error) => {
            let error = ServiceError::Internal(anyhow::Error::new(error).context(format!(
                "failed to open the temporary file of the upload to {path}"
            )));
            return Err((staged, error));
        }
    };
    let mut file = tokio::fs::File::from_std(file);

    let mut written: u64 = 0;
    loop {
        let chunk = match body.next_chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(message) => {
                let error = ServiceError::InvalidRequest(format!(
                    "failed to read the uploaded file for {path}: {message}"
                ));
                return Err((staged, error));
            }
        };
        let chunk = chunk.as_ref();
        if let Err(error) = file.write_all(chunk).await {
            let error = ServiceError::Internal(
                anyhow::Error::new(error).context(format!("failed to write the upload to {path}")),
            );
            return Err((staged, error));
        }
        written += chunk.len() as u64;
    }

    // The flush waits for the last write; the commit then syncs through `staged.file`,
    // another descriptor of the same file.
    if let Err(error) = file.flush().await {
        let error = ServiceError::Internal(
            anyhow::Error::new(error).context(format!("failed to write the upload to {path}")),
        );
        return Err((staged, error));
    }
    Ok((staged, written))
}

async fn discard(staged: StagedFile) {
    let deleted = tokio::task::spawn_blocking(move || staged.discard()).await;
    if let Err(error) = deleted {
        tracing::error!(%error, "the task deleting a temporary upload file panicked");
    }
}
