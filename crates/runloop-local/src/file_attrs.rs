//! Copies the attributes of one inode to another: owner, mode, extended attributes (which
//! include POSIX ACLs and overlayfs markers) and access and modification times.
//!
//! Used where a directory is rebuilt instead of copied by `cp -a`: the directories of a
//! squashed layer and the root of a devbox's upper directory. The change time cannot be
//! set by any system call, so it is never copied.

use std::io;
use std::path::Path;

use anyhow::Context;
use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps, XattrFlags, CWD};

/// Prefix of the extended attributes that overlayfs keeps for itself in its layers.
pub const OVERLAY_XATTR_PREFIX: &[u8] = b"trusted.overlay.";

/// Copies owner, mode, extended attributes and times from `source` to `target`, neither
/// followed if it is a symlink. Extended attributes on `target` that `source` lacks are
/// removed. Names for which `skip` returns true are neither copied nor removed.
///
/// The steps run in the order that keeps each one from undoing an earlier one: `chown`
/// clears setuid and setgid bits and file capabilities, so it runs before `chmod` and the
/// extended attributes, and the times are set last.
pub fn copy_attributes(
    source: &Path,
    target: &Path,
    skip: impl Fn(&[u8]) -> bool,
) -> anyhow::Result<()> {
    let stat = rustix::fs::lstat(source)
        .map_err(io::Error::from)
        .with_context(|| format!("failed to stat {}", source.display()))?;

    rustix::fs::chownat(
        CWD,
        target,
        Some(rustix::fs::Uid::from_raw(stat.st_uid)),
        Some(rustix::fs::Gid::from_raw(stat.st_gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
    .with_context(|| format!("failed to set the owner of {}", target.display()))?;

    if FileType::from_raw_mode(stat.st_mode) != FileType::Symlink {
        rustix::fs::chmod(target, Mode::from_raw_mode(stat.st_mode & 0o7777))
            .map_err(io::Error::from)
            .with_context(|| format!("failed to set the mode of {}", target.display()))?;
    }

    copy_xattrs(source, target, &skip)?;

    let times = Timestamps {
        last_access: Timespec {
            tv_sec: stat.st_atime,
            tv_nsec: stat.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: stat.st_mtime,
            tv_nsec: stat.st_mtime_nsec as _,
        },
    };
    rustix::fs::utimensat(CWD, target, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(io::Error::from)
        .with_context(|| format!("failed to set the times of {}", target.display()))
}

/// Returns the names of the extended attributes of `path`, not following a symlink.
pub fn list_xattrs(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut buffer = Vec::new();
    loop {
        let needed = rustix::fs::llistxattr_query(path)
            .map_err(io::Error::from)
            .with_context(|| {
                format!(
                    "failed to list the extended attributes of {}",
                    path.display()
                )
            })?;
        buffer.resize(needed, 0);
        match rustix::fs::llistxattr(path, &mut buffer[..]) {
            Ok(length) => {
                buffer.truncate(length);
                break;
            }
            // The list grew between the two calls; measure it again.
            Err(rustix::io::Errno::RANGE) => continue,
            Err(errno) => {
                return Err(io::Error::from(errno)).with_context(|| {
                    format!(
                        "failed to list the extended attributes of {}",
                        path.display()
                    )
                })
            }
        }
    }

    Ok(buffer
        .split(|byte| *byte == 0)
        .filter(|name| !name.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// Returns the value of the extended attribute `name` of `path`, or `None` if it has
/// none, not following a symlink.
pub fn get_xattr(path: &Path, name: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    let name_text = String::from_utf8_lossy(name);
    loop {
        let needed = match rustix::fs::lgetxattr_query(path, name) {
            Ok(needed) => needed,
            Err(rustix::io::Errno::NODATA) => return Ok(None),
            Err(errno) => {
                return Err(io::Error::from(errno))
                    .with_context(|| format!("failed to read {name_text} of {}", path.display()))
            }
        };
        let mut value = vec![0; needed];
        match rustix::fs::lgetxattr(path, name, &mut value[..]) {
            Ok(length) => {
                value.truncate(length);
                return Ok(Some(value));
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(rustix::io::Errno::NODATA) => return Ok(None),
            Err(errno) => {
                return Err(io::Error::from(errno))
                    .with_context(|| format!("failed to read {name_text} of {}", path.display()))
            }
        }
    }
}

/// Sets the extended attribute `name` of `path` to `value`, not following a symlink.
pub fn set_xattr(path: &Path, name: &[u8], value: &[u8]) -> anyhow::Result<()> {
    rustix::fs::lsetxattr(path, name, value, XattrFlags::empty())
        .map_err(io::Error::from)
        .with_context(|| {
            format!(
                "failed to set {} on {}",
                String::from_utf8_lossy(name),
                path.display()
            )
        })
}

/// Removes the extended attribute `name` of `path` if it has one, not following a symlink.
pub fn remove_xattr(path: &Path, name: &[u8]) -> anyhow::Result<()> {
    match rustix::fs::lremovexattr(path, name) {
        Ok(()) | Err(rustix::io::Errno::NODATA) => Ok(()),
        Err(errno) => Err(io::Error::from(errno)).with_context(|| {
            format!(
                "failed to remove {} from {}",
                String::from_utf8_lossy(name),
                path.display()
            )
        }),
    }
}

fn copy_xattrs(source: &Path, target: &Path, skip: &impl Fn(&[u8]) -> bool) -> anyhow::Result<()> {
    let source_names = list_xattrs(source)?;
    for name in list_xattrs(target)? {
        if skip(&name) || source_names.contains(&name) {
            continue;
        }
        remove_xattr(target, &name)?;
    }

    for name in source_names.iter().filter(|name| !skip(name)) {
        // An attribute removed between the listing and this read is skipped.
        if let Some(value) = get_xattr(source, name)? {
            set_xattr(target, name, &value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn copies_owner_mode_xattrs_and_times() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let source = dir.path().join("source");
        let target = dir.path().join("target");
        std::fs::create_dir(&source).expect("mkdir");
        std::fs::create_dir(&target).expect("mkdir");

        rustix::fs::chownat(
            CWD,
            &source,
            Some(rustix::fs::Uid::from_raw(1234)),
            Some(rustix::fs::Gid::from_raw(5678)),
            AtFlags::empty(),
        )
        .expect("chown");
        rustix::fs::chmod(&source, Mode::from_raw_mode(0o3750)).expect("chmod");
        set_xattr(&source, b"user.kept", b"value").expect("xattr");
        set_xattr(&target, b"user.stale", b"old").expect("xattr");
        set_xattr(&target, b"trusted.overlay.opaque", b"y").expect("xattr");
        let times = Timestamps {
            last_access: Timespec {
                tv_sec: 1_000_000_000,
                tv_nsec: 123,
            },
            last_modification: Timespec {
                tv_sec: 1_100_000_000,
                tv_nsec: 456,
            },
        };
        rustix::fs::utimensat(CWD, &source, &times, AtFlags::empty()).expect("utimensat");

        copy_attributes(&source, &target, |name| {
            name.starts_with(OVERLAY_XATTR_PREFIX)
        })
        .expect("copy");

        let copied = std::fs::metadata(&target).expect("stat");
        assert_eq!(copied.uid(), 1234);
        assert_eq!(copied.gid(), 5678);
        assert_eq!(copied.mode() & 0o7777, 0o3750);
        assert_eq!((copied.atime(), copied.atime_nsec()), (1_000_000_000, 123));
        assert_eq!((copied.mtime(), copied.mtime_nsec()), (1_100_000_000, 456));
        assert_eq!(
            get_xattr(&target, b"user.kept").expect("read"),
            Some(b"value".to_vec())
        );
        assert_eq!(get_xattr(&target, b"user.stale").expect("read"), None);
        assert_eq!(
            get_xattr(&target, b"trusted.overlay.opaque").expect("read"),
            Some(b"y".to_vec()),
            "skipped names stay untouched"
        );
    }
}
