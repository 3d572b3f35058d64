//! Mount table parsing, overlay mounts, unmounting and mount-aware directory removal.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rustix::mount::UnmountFlags;
use tokio::process::Command;

/// Overlay options shared by every mount: no redirects, no index and no metacopy keep each
/// upper directory self-contained, so copying it yields a layer that works on its own.
const OVERLAY_OPTIONS: &str = "redirect_dir=off,index=off,metacopy=off";

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Mount point of the file system.
    pub mount_point: PathBuf,
    /// File system type, such as `overlay` or `cgroup`.
    pub fs_type: String,
    /// Per-superblock options, such as `rw,freezer` for a cgroup hierarchy.
    pub super_options: String,
}

/// Reads the mount table of this process's mount namespace.
pub fn read_mountinfo() -> anyhow::Result<Vec<MountEntry>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .context("failed to read /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text))
}

/// Parses mountinfo text, skipping malformed lines.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_mountinfo_line).collect()
}

fn parse_mountinfo_line(line: &str) -> Option<MountEntry> {
    // Fields: id parent major:minor root mount-point options [optional...] - type source super
    let fields: Vec<&str> = line.split(' ').collect();
    let mount_point = fields.get(4)?;
    let separator = fields.iter().position(|field| *field == "-")?;
    let fs_type = fields.get(separator + 1)?;
    let super_options = fields.get(separator + 3).copied().unwrap_or("");

    Some(MountEntry {
        mount_point: PathBuf::from(OsString::from_vec(unescape_octal(mount_point))),
        fs_type: (*fs_type).to_owned(),
        super_options: super_options.to_owned(),
    })
}

/// Decodes the `\NNN` octal escapes the kernel uses for spaces, tabs, newlines and
/// backslashes in mountinfo paths.
fn unescape_octal(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = bytes.get(index + 1..index + 4);
        let digits = escape.filter(|digits| digits.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[index], digits) {
            (b'\\', Some(digits)) => {
                let value = digits
                    .iter()
                    .fold(0u32, |value, digit| value * 8 + u32::from(digit - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                index += 4;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    out
}

/// Returns the mount points at or below `dir`, deepest first, so they can be unmounted in
/// that order.
pub fn mounts_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut points: Vec<PathBuf> = read_mountinfo()?
        .into_iter()
        .map(|entry| entry.mount_point)
        .filter(|point| point.starts_with(dir))
        .collect();
    points.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    points.dedup();
    Ok(points)
}

/// Mounts an overlay at `target`.
///
/// `lower` is the `lowerdir` value, top layer first, with paths relative to `cwd`: relative
/// names keep deep layer chains inside the one-page limit of mount options. Without `upper`
/// the mount is read-only. Runs mount(8) so that the relative paths resolve against `cwd`
/// without changing the working directory of this multi-threaded process.
pub async fn mount_overlay(
    mount_program: &Path,
    cwd: &Path,
    lower: &str,
    upper: Option<(&Path, &Path)>,
    target: &Path,
) -> anyhow::Result<()> {
    let mut options = format!("lowerdir={lower},{OVERLAY_OPTIONS}");
    match upper {
        Some((upper_dir, work_dir)) => {
            options.push_str(&format!(
                ",upperdir={},workdir={}",
                upper_dir.display(),
                work_dir.display()
            ));
        }
        None => options.push_str(",ro"),
    }

    let output = Command::new(mount_program)
        .current_dir(cwd)
        .args(["-t", "overlay", "overlay", "-o", &options])
        .arg(target)
        .output()
        .await
        .with_context(|| format!("failed to run {}", mount_program.display()))?;
    if !output.status.success() {
        anyhow::bail!(
            "failed to mount an overlay at {} with options {options}: {}",
            target.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Mounts a small tmpfs at `target`.
pub async fn mount_tmpfs(mount_program: &Path, target: &Path, options: &str) -> anyhow::Result<()> {
    let output = Command::new(mount_program)
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(target)
        .output()
        .await
        .with_context(|| format!("failed to run {}", mount_program.display()))?;
    if !output.status.success() {
        anyhow::bail!(
            "failed to mount a tmpfs at {}: {}",
            target.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Unmounts `target`, retrying while it is busy and detaching it lazily as a last resort.
pub async fn unmount(target: &Path) -> anyhow::Result<()> {
    for _ in 0..20 {
        match rustix::mount::unmount(target, UnmountFlags::empty()) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::BUSY) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(rustix::io::Errno::INVAL) if !is_mount_point(target)? => return Ok(()),
            Err(error) => {
                return Err(io::Error::from(error))
                    .with_context(|| format!("failed to unmount {}", target.display()));
            }
        }
    }

    tracing::warn!(target = %target.display(), "mount stayed busy; detaching it lazily");
    rustix::mount::unmount(target, UnmountFlags::DETACH)
        .map_err(io::Error::from)
        .with_context(|| format!("failed to detach the mount at {}", target.display()))
}

fn is_mount_point(path: &Path) -> anyhow::Result<bool> {
    Ok(read_mountinfo()?
        .iter()
        .any(|entry| entry.mount_point == path))
}

/// Deletes the directory tree `dir` after checking that nothing is mounted in it, so the
/// removal cannot reach into a mounted devbox root or the host file system. A missing `dir`
/// is not an error.
pub fn remove_tree(dir: &Path) -> anyhow::Result<()> {
    if let Some(point) = mounts_under(dir)?.first() {
        anyhow::bail!(
            "refusing to delete {} because {} is still mounted",
            dir.display(),
            point.display()
        );
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("failed to delete {}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mount_point_type_and_super_options() {
        let text =
            "36 35 98:0 / /sys/fs/cgroup/freezer rw,relatime shared:9 - cgroup cgroup rw,freezer\n";
        let entries = parse_mountinfo(text);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].mount_point,
            PathBuf::from("/sys/fs/cgroup/freezer")
        );
        assert_eq!(entries[0].fs_type, "cgroup");
        assert_eq!(entries[0].super_options, "rw,freezer");
    }

    #[test]
    fn decodes_escaped_spaces() {
        let text = "40 1 0:45 / /tmp/a\\040b rw - overlay overlay rw,lowerdir=x\n";
        let entries = parse_mountinfo(text);
        assert_eq!(entries[0].mount_point, PathBuf::from("/tmp/a b"));
    }

    #[test]
    fn skips_malformed_lines() {
        assert!(parse_mountinfo("garbage\n").is_empty());
    }
}
