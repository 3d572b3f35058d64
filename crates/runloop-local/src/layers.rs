//! Layer store: immutable snapshot layers on disk, their parent chains, capture of a
//! devbox's changes into a new layer, and garbage collection. The only module that copies
//! or deletes layer data.
//!
//! A layer is a copy of a devbox's overlay upper directory, kept in `layers/<id>` where
//! `<id>` is the layer's row id (short names keep deep `lowerdir` chains small). The copy
//! is made by `cp -a --reflink=auto`, which keeps modes (setuid, sticky), owners,
//! timestamps, symlinks, hard links and extended attributes, including overlayfs's opaque
//! directory markers, and the character devices that overlayfs uses as whiteouts. Its
//! parent is the top layer of the chain the devbox was booted from, so a layer holds only
//! what changed on top of its parent and its cost grows with the devbox's changes, not with
//! the base.
//!
//! A capture is written to `layers/tmp-<id>`, flushed to disk and renamed into place before
//! the state database marks the layer ready, so a crash never leaves a ready layer with
//! missing files.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use anyhow::Context;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::sandbox::remove_tree;
use crate::store::Store;

/// Prefix of the directory a capture writes before it is renamed to the layer's id.
const TEMP_PREFIX: &str = "tmp-";

/// Snapshot layers of one data dir.
pub struct LayerStore {
    dir: PathBuf,
    cp: PathBuf,
    store: Arc<Store>,
}

impl LayerStore {
    /// Opens the layers in `dir`, copying with the `cp` program at `cp`.
    pub fn new(dir: PathBuf, cp: PathBuf, store: Arc<Store>) -> Self {
        Self { dir, cp, store }
    }

    /// Returns the `lowerdir` names, top first, of the chain that ends at `top`; empty for
    /// a devbox on the bare base.
    pub fn chain_names(&self, top: Option<i64>) -> anyhow::Result<Vec<String>> {
        let Some(top) = top else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .layer_chain(top)?
            .into_iter()
            .map(|id| id.to_string())
            .collect())
    }

    /// Copies `upper` into the pending layer `layer_id` and returns the layer's size in
    /// bytes. The caller must keep the devbox frozen while this runs.
    ///
    /// Stops the copy and removes its files when `deadline` passes or `cancel` fires.
    pub async fn capture(
        &self,
        layer_id: i64,
        upper: &Path,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> anyhow::Result<u64> {
        let staging = self.dir.join(format!("{TEMP_PREFIX}{layer_id}"));
        let target = self.dir.join(layer_id.to_string());
        remove_tree(&staging)?;

        let mut child = Command::new(&self.cp)
            .args(["-a", "--reflink=auto", "--no-target-directory", "--"])
            .arg(upper)
            .arg(&staging)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("failed to run {}", self.cp.display()))?;
        let mut stderr = child.stderr.take().context("cp stderr is not piped")?;
        let stderr_task = tokio::spawn(async move {
            let mut text = String::new();
            let _ = (&mut stderr)
                .take(16 * 1024)
                .read_to_string(&mut text)
                .await;
            text
        });

        let outcome = tokio::select! {
            status = child.wait() => Ok(status),
            () = tokio::time::sleep_until(deadline) => Err("the capture reached its time limit \
                 (raise --snapshot-timeout for devboxes with many changes)"),
            () = cancel.cancelled() => Err("the devbox was shut down during the capture"),
        };
        let status = match outcome {
            Ok(status) => status.context("failed to wait for cp")?,
            Err(reason) => {
                let _ = child.kill().await;
                remove_tree(&staging)?;
                anyhow::bail!("{reason}");
            }
        };
        if !status.success() {
            let stderr = stderr_task.await.unwrap_or_default();
            remove_tree(&staging)?;
            anyhow::bail!("cp failed ({status}): {}", stderr.trim());
        }

        let measured = staging.clone();
        let size = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
            flush_file_system(&measured)?;
            layer_size(&measured)
        })
        .await
        .context("the layer size task panicked")??;

        std::fs::rename(&staging, &target).with_context(|| {
            format!(
                "failed to rename {} to {}",
                staging.display(),
                target.display()
            )
        })?;
        Ok(size)
    }

    /// Removes the files of the pending layer `layer_id` after a failed capture.
    pub fn discard(&self, layer_id: i64) -> anyhow::Result<()> {
        remove_tree(&self.dir.join(format!("{TEMP_PREFIX}{layer_id}")))?;
        remove_tree(&self.dir.join(layer_id.to_string()))
    }

    /// Deletes every layer that no snapshot, child layer or live devbox references,
    /// repeating until none is left, since deleting a layer can free its parent.
    pub fn collect_garbage(&self) -> anyhow::Result<()> {
        loop {
            let mut deleted_any = false;
            for id in self.store.unreferenced_layers()? {
                if self.store.delete_layer_if_unreferenced(id)? {
                    tracing::info!(layer_id = id, "deleting an unreferenced layer");
                    remove_tree(&self.dir.join(id.to_string()))?;
                    deleted_any = true;
                }
            }
            if !deleted_any {
                return Ok(());
            }
        }
    }

    /// Removes the staging directories of interrupted captures and layer directories that
    /// the state database does not know, then collects garbage. Runs at startup, before
    /// the base is mounted.
    pub fn recover(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("failed to create {}", self.dir.display()))?;
        let known: HashSet<String> = self
            .store
            .layer_ids()?
            .into_iter()
            .map(|id| id.to_string())
            .collect();

        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("failed to list {}", self.dir.display()))?;
        for entry in entries {
            let entry = entry.context("failed to read a layer directory entry")?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_layer_name = name.chars().all(|c| c.is_ascii_digit());
            let orphan = name.starts_with(TEMP_PREFIX) || (is_layer_name && !known.contains(&name));
            if orphan {
                tracing::info!(layer = %name, "deleting a layer directory the database does not know");
                remove_tree(&entry.path())?;
            }
        }

        self.collect_garbage()
    }
}

/// Flushes the file system holding `path`, so a copied layer survives a power loss before
/// the database calls it ready.
fn flush_file_system(path: &Path) -> anyhow::Result<()> {
    let dir =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    rustix::fs::syncfs(&dir)
        .map_err(io::Error::from)
        .with_context(|| format!("failed to flush the file system of {}", path.display()))
}

/// Sums the sizes of the regular files and symlinks under `dir`, counting each hard-linked
/// inode once. Directories and whiteouts count as zero.
fn layer_size(dir: &Path) -> anyhow::Result<u64> {
    use std::os::unix::fs::MetadataExt;

    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .with_context(|| format!("failed to list {}", current.display()))?;
        for entry in entries {
            let entry = entry.context("failed to read a layer entry")?;
            let metadata = entry
                .metadata()
                .with_context(|| format!("failed to stat {}", entry.path().display()))?;
            let kind = metadata.file_type();
            if kind.is_dir() {
                pending.push(entry.path());
            } else if (kind.is_file() || kind.is_symlink())
                && (metadata.nlink() <= 1 || seen.insert((metadata.dev(), metadata.ino())))
            {
                total += metadata.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_size_counts_hard_links_once() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/a"), [0u8; 100]).expect("write");
        std::fs::hard_link(dir.path().join("sub/a"), dir.path().join("b")).expect("link");
        std::fs::write(dir.path().join("c"), [0u8; 10]).expect("write");

        assert_eq!(layer_size(dir.path()).expect("size"), 110);
    }
}
