//! Read-only `noatime` views for reading snapshot data without changing it.
//!
//! A capture copies a devbox's upper directory through a read-only bind mount with
//! `noatime`. Reading every file for the copy then changes no access time that the devbox
//! can see, and a bug in the copy cannot write into the devbox. The layer store reads layers
//! through a view of the same kind, so measuring or squashing layers changes nothing a
//! restored devbox would see.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rustix::mount::MountFlags;

use super::{mounts, Sandbox};

/// Name of the view's mount point inside the devbox's directory.
const VIEW_NAME: &str = "capture";

/// A mounted read-only view of a devbox's upper directory. Call [`CaptureView::close`] when
/// the copy is done. A view left behind by a crash is unmounted at the next startup, with
/// every other mount under the data dir.
#[derive(Debug)]
pub struct CaptureView {
    path: PathBuf,
}

impl Sandbox {
    /// Mounts the upper directory read-only with `noatime` at `<devbox dir>/capture`.
    pub fn open_capture_view(&self) -> anyhow::Result<CaptureView> {
        let path = self.dir.join(VIEW_NAME);
        mount_read_only_view(&self.upper, &path)?;
        Ok(CaptureView { path })
    }
}

/// Bind-mounts `source` at `target`, creating `target` if needed, and makes the new mount
/// read-only with `noatime`. Submounts of `source` are not included.
pub(super) fn mount_read_only_view(source: &Path, target: &Path) -> anyhow::Result<()> {
    match std::fs::create_dir(target) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => {
            return Err(error).with_context(|| format!("failed to create {}", target.display()))
        }
    }

    rustix::mount::mount_bind(source, target)
        .map_err(io::Error::from)
        .with_context(|| {
            format!(
                "failed to bind-mount {} at {}",
                source.display(),
                target.display()
            )
        })?;
    let flags = MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOATIME;
    if let Err(errno) = rustix::mount::mount_remount(target, flags, "") {
        let _ = rustix::mount::unmount(target, rustix::mount::UnmountFlags::DETACH);
        return Err(io::Error::from(errno))
            .with_context(|| format!("failed to make the view {} read-only", target.display()));
    }
    Ok(())
}

impl CaptureView {
    /// Path of the view's root.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unmounts the view and removes its mount point.
    pub async fn close(self) -> anyhow::Result<()> {
        mounts::unmount(&self.path).await?;
        match std::fs::remove_dir(&self.path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => {
                Err(error).with_context(|| format!("failed to remove {}", self.path.display()))
            }
        }
    }
}
