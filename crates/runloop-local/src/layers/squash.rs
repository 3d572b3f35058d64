//! Squashing a chain of layers into one layer that shows the same files over the base.
//!
//! The result must look, through overlayfs, exactly like the chain. So the merge follows
//! overlayfs's lookup rules rather than copying layers over each other:
//!
//! - A name in a directory resolves to the topmost layer that contains it. A whiteout there
//!   hides the name in every lower layer, and is kept so that it also hides the base.
//! - A directory merges with the same directory in the layers below it, down to the first
//!   one that is opaque or to a layer where the name is a file or a whiteout. A directory
//!   whose merge stops that way is marked opaque in the result, so the base's directory
//!   stays hidden as it was in the chain. Its attributes come from its topmost layer.
//! - Files, symlinks, whiteouts and other non-directories are copied whole by `cp -a` from
//!   the layer that provides them. Names that share one inode in that layer are linked
//!   again afterwards, because one `cp` run per batch of names cannot keep links between
//!   batches.
//!
//! Directories are created first, filled, and get their attributes last, children before
//! parents, because filling a directory changes its modification time.

use std::collections::{BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::copy::{run_cp, Budget};
use crate::file_attrs::{copy_attributes, get_xattr, remove_xattr, set_xattr};

/// Extended attribute that marks an overlayfs directory opaque, and its value.
const OPAQUE_XATTR: &[u8] = b"trusted.overlay.opaque";
const OPAQUE_VALUE: &[u8] = b"y";

/// Largest total length of the path arguments given to one `cp` run, well below the
/// kernel's limit on a command line.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The steps of one squash, computed from the layers before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    /// Directories of the result, each parent before its children; the first is the root.
    dirs: Vec<PlannedDir>,
    /// For each layer of the chain (top first), the relative paths copied whole from it.
    copies: Vec<Vec<PathBuf>>,
    /// Relative paths that name one inode in one layer, each group to be linked again.
    link_groups: Vec<Vec<PathBuf>>,
}

#[derive(Debug)]
struct PlannedDir {
    /// Path relative to the layer root; empty for the root.
    path: PathBuf,
    /// Index of the layer whose directory gives the attributes.
    source: usize,
    /// Whether the result must hide the directories of the base below it.
    opaque: bool,
}

/// One directory still to visit while planning.
struct Visit {
    path: PathBuf,
    /// Layers (top first) whose directory at `path` merges into the result.
    layers: Vec<usize>,
    opaque: bool,
}

/// Computes how to squash `layers` (directories, top first) into one layer.
pub fn plan(layers: &[PathBuf]) -> anyhow::Result<Plan> {
    let mut plan = Plan {
        copies: vec![Vec::new(); layers.len()],
        ..Plan::default()
    };
    let mut inodes: HashMap<(usize, u64, u64), Vec<PathBuf>> = HashMap::new();

    let (root_layers, root_opaque) = merged_dir_layers(layers, Path::new(""), 0, 1..layers.len())?;
    let mut pending = vec![Visit {
        path: PathBuf::new(),
        layers: root_layers,
        opaque: root_opaque,
    }];

    while let Some(visit) = pending.pop() {
        plan.dirs.push(PlannedDir {
            path: visit.path.clone(),
            source: visit.layers[0],
            opaque: visit.opaque,
        });

        for name in child_names(layers, &visit)? {
            let path = visit.path.join(&name);
            let Some((position, metadata)) = topmost_entry(layers, &visit.layers, &path)? else {
                continue;
            };
            let layer = visit.layers[position];

            if metadata.is_dir() {
                let below = visit.layers[position + 1..].iter().copied();
                let (merged, opaque) = merged_dir_layers(layers, &path, layer, below)?;
                pending.push(Visit {
                    path,
                    layers: merged,
                    opaque,
                });
                continue;
            }

            if metadata.nlink() > 1 {
                inodes
                    .entry((layer, metadata.dev(), metadata.ino()))
                    .or_default()
                    .push(path.clone());
            }
            plan.copies[layer].push(path);
        }
    }

    plan.link_groups = inodes
        .into_values()
        .filter(|group| group.len() > 1)
        .collect();
    Ok(plan)
}

/// Creates the directories of the squashed layer under `target`, which must exist and be
/// empty, with mode 0700 until [`finish`] gives them their attributes.
pub fn create_dirs(plan: &Plan, target: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o700);
    for dir in plan.dirs.iter().skip(1) {
        let path = target.join(&dir.path);
        builder
            .create(&path)
            .with_context(|| format!("failed to create {}", path.display()))?;
    }
    Ok(())
}

/// Copies the planned files, symlinks, whiteouts and other non-directories from `layers`
/// into `target` (an absolute path) with the `cp` program at `cp`.
pub async fn copy_entries(
    plan: &Plan,
    layers: &[PathBuf],
    target: &Path,
    cp: &Path,
    budget: &Budget,
) -> anyhow::Result<()> {
    for (layer, paths) in plan.copies.iter().enumerate() {
        for batch in batches(paths) {
            let mut args: Vec<&OsStr> = ["-a", "--reflink=auto", "--parents", "-t"]
                .map(OsStr::new)
                .to_vec();
            args.push(target.as_os_str());
            args.push(OsStr::new("--"));
            args.extend(batch.iter().map(|path| path.as_os_str()));
            run_cp(cp, &layers[layer], &args, budget)
                .await
                .with_context(|| {
                    format!("failed to copy from layer {}", layers[layer].display())
                })?;
        }
    }
    Ok(())
}

/// Links the planned hard-link groups again and gives every directory of `target` the
/// attributes of its source directory, children before parents.
pub fn finish(
    plan: &Plan,
    layers: &[PathBuf],
    target: &Path,
    budget: &Budget,
) -> anyhow::Result<()> {
    for group in &plan.link_groups {
        relink(target, group)?;
    }

    for dir in plan.dirs.iter().rev() {
        budget.check()?;
        let source = layers[dir.source].join(&dir.path);
        let copy = target.join(&dir.path);
        copy_attributes(&source, &copy, |name| name == OPAQUE_XATTR)?;
        // `cp --parents` copies the attributes of each source's parent directories, so a
        // marker of a lower layer may have landed here and is removed unless planned.
        if dir.opaque {
            set_xattr(&copy, OPAQUE_XATTR, OPAQUE_VALUE)?;
        } else {
            remove_xattr(&copy, OPAQUE_XATTR)?;
        }
    }
    Ok(())
}

/// Returns the layers whose directory at `path` merges into the result, starting with
/// `top` and going down through `below`, and whether the merge stopped before the base.
fn merged_dir_layers(
    layers: &[PathBuf],
    path: &Path,
    top: usize,
    below: impl Iterator<Item = usize>,
) -> anyhow::Result<(Vec<usize>, bool)> {
    let mut merged = vec![top];
    if is_opaque(&layers[top].join(path))? {
        return Ok((merged, true));
    }
    for layer in below {
        match lstat(&layers[layer].join(path))? {
            None => continue,
            Some(metadata) if metadata.is_dir() => {
                merged.push(layer);
                if is_opaque(&layers[layer].join(path))? {
                    return Ok((merged, true));
                }
            }
            Some(_) => return Ok((merged, true)),
        }
    }
    Ok((merged, false))
}

/// Returns the names in the directory `visit.path` of each merging layer, sorted.
fn child_names(layers: &[PathBuf], visit: &Visit) -> anyhow::Result<BTreeSet<OsString>> {
    let mut names = BTreeSet::new();
    for &layer in &visit.layers {
        let dir = layers[layer].join(&visit.path);
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("failed to list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("failed to read {}", dir.display()))?;
            names.insert(entry.file_name());
        }
    }
    Ok(names)
}

/// Returns the position in `merging` of the topmost layer that has `path`, and its
/// metadata.
fn topmost_entry(
    layers: &[PathBuf],
    merging: &[usize],
    path: &Path,
) -> anyhow::Result<Option<(usize, std::fs::Metadata)>> {
    for (position, &layer) in merging.iter().enumerate() {
        if let Some(metadata) = lstat(&layers[layer].join(path))? {
            return Ok(Some((position, metadata)));
        }
    }
    Ok(None)
}

fn lstat(path: &Path) -> anyhow::Result<Option<std::fs::Metadata>> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("failed to stat {}", path.display())),
    }
}

fn is_opaque(dir: &Path) -> anyhow::Result<bool> {
    Ok(get_xattr(dir, OPAQUE_XATTR)?.as_deref() == Some(OPAQUE_VALUE))
}

/// Splits `paths` into runs whose total length stays under [`MAX_BATCH_BYTES`].
fn batches(paths: &[PathBuf]) -> Vec<&[PathBuf]> {
    let mut result = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, path) in paths.iter().enumerate() {
        let length = path.as_os_str().as_bytes().len() + 1;
        if index > start && bytes + length > MAX_BATCH_BYTES {
            result.push(&paths[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += length;
    }
    if start < paths.len() {
        result.push(&paths[start..]);
    }
    result
}

/// Makes every path of `group` (relative to `root`) a hard link to the first one, unless
/// it already is.
fn relink(root: &Path, group: &[PathBuf]) -> anyhow::Result<()> {
    let Some((first, rest)) = group.split_first() else {
        return Ok(());
    };
    let anchor = root.join(first);
    let anchor_inode = std::fs::symlink_metadata(&anchor)
        .with_context(|| format!("failed to stat {}", anchor.display()))?
        .ino();
    for path in rest {
        let copy = root.join(path);
        let inode = std::fs::symlink_metadata(&copy)
            .with_context(|| format!("failed to stat {}", copy.display()))?
            .ino();
        if inode == anchor_inode {
            continue;
        }
        std::fs::remove_file(&copy)
            .with_context(|| format!("failed to replace {} with a hard link", copy.display()))?;
        std::fs::hard_link(&anchor, &copy).with_context(|| {
            format!("failed to link {} to {}", copy.display(), anchor.display())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rustix::fs::{FileType, Mode};

    use super::*;

    fn whiteout(path: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            FileType::CharacterDevice,
            Mode::from_raw_mode(0),
            0,
        )
        .expect("mknod a whiteout");
    }

    fn layer_dirs(root: &Path, count: usize) -> Vec<PathBuf> {
        (0..count)
            .map(|index| {
                let dir = root.join(format!("layer{index}"));
                std::fs::create_dir(&dir).expect("mkdir");
                dir
            })
            .collect()
    }

    fn planned_dir<'a>(plan: &'a Plan, path: &str) -> &'a PlannedDir {
        plan.dirs
            .iter()
            .find(|dir| dir.path == Path::new(path))
            .unwrap_or_else(|| panic!("{path} is not planned: {plan:?}"))
    }

    #[test]
    fn topmost_layer_wins_and_whiteouts_are_kept() {
        let root = tempfile::tempdir().expect("temporary directory");
        let layers = layer_dirs(root.path(), 2);
        std::fs::write(layers[1].join("file"), "old").expect("write");
        std::fs::write(layers[0].join("file"), "new").expect("write");
        std::fs::write(layers[1].join("deleted"), "x").expect("write");
        whiteout(&layers[0].join("deleted"));
        std::fs::write(layers[1].join("kept"), "x").expect("write");

        let plan = plan(&layers).expect("plan");
        assert_eq!(
            plan.copies[0],
            [PathBuf::from("deleted"), PathBuf::from("file")]
        );
        assert_eq!(plan.copies[1], [PathBuf::from("kept")]);
    }

    #[test]
    fn directory_merge_stops_at_opaque_and_files() {
        let root = tempfile::tempdir().expect("temporary directory");
        let layers = layer_dirs(root.path(), 3);
        for layer in &layers {
            std::fs::create_dir(layer.join("merged")).expect("mkdir");
        }
        std::fs::write(layers[2].join("merged/bottom"), "x").expect("write");
        std::fs::create_dir(layers[0].join("opaque")).expect("mkdir");
        std::fs::create_dir(layers[1].join("opaque")).expect("mkdir");
        set_xattr(&layers[1].join("opaque"), OPAQUE_XATTR, OPAQUE_VALUE).expect("xattr");
        std::fs::create_dir(layers[2].join("opaque")).expect("mkdir");
        std::fs::write(layers[2].join("opaque/hidden"), "x").expect("write");
        std::fs::create_dir(layers[0].join("replaced")).expect("mkdir");
        std::fs::write(layers[1].join("replaced"), "file").expect("write");

        let plan = plan(&layers).expect("plan");
        let merged = planned_dir(&plan, "merged");
        assert_eq!(merged.source, 0);
        assert!(!merged.opaque);
        assert!(plan.copies[2].contains(&PathBuf::from("merged/bottom")));
        assert!(planned_dir(&plan, "opaque").opaque);
        assert!(!plan.copies[2].contains(&PathBuf::from("opaque/hidden")));
        assert!(planned_dir(&plan, "replaced").opaque);
        assert!(!plan.copies[1].contains(&PathBuf::from("replaced")));
    }

    #[test]
    fn hard_links_are_grouped_per_layer() {
        let root = tempfile::tempdir().expect("temporary directory");
        let layers = layer_dirs(root.path(), 1);
        std::fs::write(layers[0].join("a"), "x").expect("write");
        std::fs::hard_link(layers[0].join("a"), layers[0].join("b")).expect("link");

        let plan = plan(&layers).expect("plan");
        assert_eq!(plan.link_groups.len(), 1);
        assert_eq!(plan.link_groups[0].len(), 2);
    }

    #[test]
    fn batches_split_long_lists() {
        let paths: Vec<PathBuf> = (0..3000)
            .map(|i| PathBuf::from(format!("{i:0>200}")))
            .collect();
        let split = batches(&paths);
        assert!(split.len() > 1);
        assert_eq!(split.iter().map(|batch| batch.len()).sum::<usize>(), 3000);
    }
}
