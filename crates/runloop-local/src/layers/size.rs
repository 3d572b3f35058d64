//! The size of a layer, as reported in a snapshot's `size_bytes`.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::Context;

/// Sums the bytes of file data stored under `dir`: for each regular file the smaller of its
/// length and its allocated blocks, so the holes of a sparse file do not count, plus the
/// length of each symlink's target. Each hard-linked inode counts once. Directories,
/// whiteouts, FIFOs and device nodes count as zero.
pub fn layer_size(dir: &Path) -> anyhow::Result<u64> {
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
                continue;
            }
            if metadata.nlink() > 1 && !seen.insert((metadata.dev(), metadata.ino())) {
                continue;
            }
            if kind.is_file() {
                total += metadata.len().min(metadata.blocks() * 512);
            } else if kind.is_symlink() {
                total += metadata.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, SeekFrom, Write};

    use super::*;

    #[test]
    fn counts_hard_links_once() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/a"), [7u8; 100]).expect("write");
        std::fs::hard_link(dir.path().join("sub/a"), dir.path().join("b")).expect("link");
        std::fs::write(dir.path().join("c"), [7u8; 10]).expect("write");
        std::os::unix::fs::symlink("sub/a", dir.path().join("link")).expect("symlink");

        assert_eq!(layer_size(dir.path()).expect("size"), 100 + 10 + 5);
    }

    #[test]
    fn skips_sparse_holes() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut file = std::fs::File::create(dir.path().join("sparse")).expect("create");
        file.seek(SeekFrom::Start(1 << 30)).expect("seek");
        file.write_all(&[1u8; 4096]).expect("write");
        file.sync_all().expect("sync");

        let size = layer_size(dir.path()).expect("size");
        assert!(size >= 4096, "the written block counts: {size}");
        assert!(size <= 64 * 1024, "the 1 GiB hole does not count: {size}");
    }
}
