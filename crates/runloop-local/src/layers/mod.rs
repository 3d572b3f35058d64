//! Layer store: immutable snapshot layers on disk, their parent chains, capture of a
//! devbox's changes into a new layer, squashing of deep chains, and garbage collection. The
//! only module that copies or deletes layer data.
//!
//! A layer is a copy of a devbox's overlay upper directory, kept in `layers/<id>` where
//! `<id>` is the layer's row id (short names keep deep `lowerdir` chains small). The copy
//! is made by `cp -a --reflink=auto`, which keeps modes (setuid, setgid, sticky), owners,
//! timestamps, symlinks, hard links, sparse files, FIFOs, device nodes and extended
//! attributes, including POSIX ACLs, overlayfs's opaque-directory markers and the character
//! devices that overlayfs uses as whiteouts. Its parent is the top layer of the chain the
//! devbox was booted from, so a layer holds only what changed on top of its parent and its
//! cost grows with the devbox's changes, not with the base.
//!
//! A squashed layer has no parent: it contains the files of a whole chain, merged by
//! overlayfs's rules (see [`squash`]), so a devbox mounts one layer instead of the chain.
//!
//! A layer is written to `layers/tmp-<id>`, flushed to disk and renamed into place before
//! the state database marks it ready, so a crash never leaves a ready layer with missing
//! files.

mod copy;
mod size;
mod squash;

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::sandbox::remove_tree;
use crate::store::Store;

pub use copy::Budget;

/// Prefix of the directory a layer is written to before it is renamed to the layer's id.
const TEMP_PREFIX: &str = "tmp-";

/// Snapshot layers of one data dir.
pub struct LayerStore {
    dir: PathBuf,
    /// A read-only `noatime` view of `dir`, through which layers are read, so that reading
    /// them changes none of their access times.
    view: PathBuf,
    cp: PathBuf,
    store: Arc<Store>,
}

impl LayerStore {
    /// Opens the layers in `dir`, an absolute path, reading them through `view` (see
    /// [`crate::sandbox::SandboxEngine::layers_view`]) and copying with the `cp` program at
    /// `cp`.
    pub fn new(dir: PathBuf, view: PathBuf, cp: PathBuf, store: Arc<Store>) -> Self {
        Self {
            dir,
            view,
            cp,
            store,
        }
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

    /// Copies `upper`, a devbox's upper directory, into the staging directory of the
    /// pending layer `layer_id`. The caller must keep the devbox frozen while this runs.
    /// On failure the staging directory is removed.
    pub async fn copy_changes(
        &self,
        layer_id: i64,
        upper: &Path,
        budget: &Budget,
    ) -> anyhow::Result<()> {
        let staging = self.staging_path(layer_id);
        remove_tree(&staging)?;

        let args = [
            "-a".as_ref(),
            "--reflink=auto".as_ref(),
            "--no-target-directory".as_ref(),
            "--".as_ref(),
            upper.as_os_str(),
            staging.as_os_str(),
        ];
        let copied = copy::run_cp(&self.cp, &self.dir, &args, budget).await;
        if copied.is_err() {
            remove_tree(&staging)?;
        }
        copied
    }

    /// Flushes the staged layer `layer_id` to disk, measures it and renames it into place.
    /// Returns its size as [`size::layer_size`] counts it.
    pub async fn seal(&self, layer_id: i64, budget: &Budget) -> anyhow::Result<u64> {
        let measured = self.view.join(staging_name(layer_id));
        let size = budget
            .run(async {
                tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
                    flush_file_system(&measured)?;
                    size::layer_size(&measured)
                })
                .await
                .context("the layer size task panicked")?
            })
            .await?;
        self.rename_into_place(layer_id)?;
        Ok(size)
    }

    /// Writes the pending layer `into` as the squashed form of the chain that ends at
    /// `top`, and seals it. On failure its staging directory is removed.
    pub async fn squash(&self, top: i64, into: i64, budget: &Budget) -> anyhow::Result<()> {
        let staging = self.staging_path(into);
        let squashed = self.squash_steps(top, &staging, budget).await;
        if squashed.is_err() {
            remove_tree(&staging)?;
            return squashed;
        }

        let flushed = staging.clone();
        budget
            .run(async {
                tokio::task::spawn_blocking(move || flush_file_system(&flushed))
                    .await
                    .context("the layer flush task panicked")?
            })
            .await?;
        self.rename_into_place(into)
    }

    async fn squash_steps(&self, top: i64, staging: &Path, budget: &Budget) -> anyhow::Result<()> {
        remove_tree(staging)?;
        let layers: Arc<Vec<PathBuf>> = Arc::new(
            self.store
                .layer_chain(top)?
                .into_iter()
                .map(|id| self.view.join(id.to_string()))
                .collect(),
        );

        let target = staging.to_path_buf();
        let plan_layers = layers.clone();
        let plan = budget
            .run(async {
                tokio::task::spawn_blocking(move || -> anyhow::Result<squash::Plan> {
                    std::fs::create_dir(&target)
                        .with_context(|| format!("failed to create {}", target.display()))?;
                    let plan = squash::plan(&plan_layers)?;
                    squash::create_dirs(&plan, &target)?;
                    Ok(plan)
                })
                .await
                .context("the squash planning task panicked")?
            })
            .await?;
        let plan = Arc::new(plan);

        squash::copy_entries(&plan, &layers, staging, &self.cp, budget).await?;

        let target = staging.to_path_buf();
        let finish_budget = budget.clone();
        budget
            .run(async {
                tokio::task::spawn_blocking(move || {
                    squash::finish(&plan, &layers, &target, &finish_budget)
                })
                .await
                .context("the squash attribute task panicked")?
            })
            .await
    }

    /// Removes the files of the pending layer `layer_id` after a failed capture or squash.
    pub fn discard(&self, layer_id: i64) -> anyhow::Result<()> {
        remove_tree(&self.staging_path(layer_id))?;
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

    fn staging_path(&self, layer_id: i64) -> PathBuf {
        self.dir.join(staging_name(layer_id))
    }

    /// Renames the staged layer to its final name and flushes the rename.
    fn rename_into_place(&self, layer_id: i64) -> anyhow::Result<()> {
        let staging = self.staging_path(layer_id);
        let target = self.dir.join(layer_id.to_string());
        std::fs::rename(&staging, &target).with_context(|| {
            format!(
                "failed to rename {} to {}",
                staging.display(),
                target.display()
            )
        })?;
        let dir = std::fs::File::open(&self.dir)
            .with_context(|| format!("failed to open {}", self.dir.display()))?;
        dir.sync_all()
            .with_context(|| format!("failed to flush {}", self.dir.display()))
    }
}

fn staging_name(layer_id: i64) -> String {
    format!("{TEMP_PREFIX}{layer_id}")
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
