//! File I/O confined to a devbox's root directory.
//!
//! Every path is resolved by `openat2` with `RESOLVE_IN_ROOT` against the root directory
//! the caller passes, which for a devbox is `/proc/<init pid>/root`. So `..`, absolute
//! paths and symlinks (absolute or relative) resolve as they would inside the devbox and
//! never reach the host file system. `RESOLVE_NO_MAGICLINKS` also blocks links such as
//! `/proc/<pid>/root` inside the devbox.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use thiserror::Error;

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// How often a lookup is retried when the kernel reports a concurrent rename (`EAGAIN`).
const RESOLVE_ATTEMPTS: usize = 5;

/// Failure of a file operation inside a devbox.
#[derive(Debug, Error)]
pub enum FileError {
    /// The path or one of its parents does not exist.
    #[error("{0} does not exist in the devbox")]
    NotFound(String),
    /// The path names a directory where a file is needed.
    #[error("{0} is a directory in the devbox")]
    IsDirectory(String),
    /// A component of the path that must be a directory is a file.
    #[error("a parent of {0} is not a directory in the devbox")]
    NotADirectory(String),
    /// The path names a device, FIFO or socket.
    #[error("{0} is not a regular file in the devbox")]
    NotRegularFile(String),
    /// The file is larger than the caller's limit.
    #[error("{path} is larger than {limit} bytes; use download_file for large files")]
    TooLarge {
        /// Path inside the devbox.
        path: String,
        /// Largest size accepted, in bytes.
        limit: u64,
    },
    /// Any other I/O failure.
    #[error("failed to {action} {path} in the devbox: {source}")]
    Io {
        /// Operation that failed, such as "open".
        action: &'static str,
        /// Path inside the devbox.
        path: String,
        /// The underlying error.
        source: io::Error,
    },
}

/// Reads the regular file `path` (absolute inside the devbox) under `root`, failing with
/// [`FileError::TooLarge`] beyond `limit` bytes.
pub fn read_file(root: &Path, path: &str, limit: u64) -> Result<Vec<u8>, FileError> {
    let root_fd = open_root(root, path)?;
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = open_in_root(&root_fd, Path::new(path), flags, Mode::empty())
        .map_err(|errno| map_errno(errno, "open", path))?;
    let size = require_regular_file(&fd, path)?;
    if size > limit {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }

    let mut data = Vec::new();
    std::fs::File::from(fd)
        .take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|source| io_error("read", path, source))?;
    if data.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(data)
}

/// Replaces the contents of `path` (absolute inside the devbox) under `root`, creating the
/// file (mode 0644) and missing parent directories (mode 0755).
pub fn write_file(root: &Path, path: &str, contents: &[u8]) -> Result<(), FileError> {
    let root_fd = open_root(root, path)?;
    create_parent_dirs(&root_fd, path)?;

    let flags =
        OFlags::WRONLY | OFlags::CREATE | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = open_in_root(&root_fd, Path::new(path), flags, Mode::from_raw_mode(0o644))
        .map_err(|errno| map_errno(errno, "create", path))?;
    require_regular_file(&fd, path)?;
    rustix::fs::ftruncate(&fd, 0).map_err(|errno| map_errno(errno, "truncate", path))?;

    std::fs::File::from(fd)
        .write_all(contents)
        .map_err(|source| io_error("write", path, source))
}

/// Opens the regular file `path` (absolute inside the devbox) under `root` for reading and
/// returns it with its size in bytes.
pub fn open_regular_file(root: &Path, path: &str) -> Result<(std::fs::File, u64), FileError> {
    let root_fd = open_root(root, path)?;
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = open_in_root(&root_fd, Path::new(path), flags, Mode::empty())
        .map_err(|errno| map_errno(errno, "open", path))?;
    let size = require_regular_file(&fd, path)?;
    Ok((std::fs::File::from(fd), size))
}

/// A new file being written for a path inside a devbox, which appears at that path only
/// once it is complete.
///
/// While it is written the file has no name, because it is an `O_TMPFILE` inode in the
/// deepest existing directory on the way to the path. So neither the devbox's commands nor
/// a snapshot capture of the overlay's upper directory can see it. [`StagedFile::commit`]
/// then creates the missing parent directories, links the file under a hidden temporary
/// name next to the path and renames it over the path.
#[derive(Debug)]
pub struct StagedFile {
    /// The open file.
    pub file: std::fs::File,
    root: OwnedFd,
    /// Directory that contains the file under `temp_name`; `None` while it has no name.
    named_in: Option<OwnedFd>,
    temp_name: String,
    final_name: std::ffi::OsString,
    path: String,
}

/// Creates a new file (mode 0644) for `path` (absolute inside the devbox) under `root`,
/// to be named `temp_name` and then renamed to `path` by [`StagedFile::commit`]. An
/// existing regular file at `path` lends the new file its mode and owner, so replacing
/// it keeps them.
pub fn stage_file(root: &Path, path: &str, temp_name: &str) -> Result<StagedFile, FileError> {
    let target = Path::new(path);
    let Some(final_name) = target.file_name() else {
        return Err(FileError::IsDirectory(path.to_owned()));
    };
    let root_fd = open_root(root, path)?;
    let parent_path = target.parent().unwrap_or(Path::new("/"));
    let (nearest, parent_exists) = open_nearest_dir(&root_fd, parent_path, path)?;

    let existing = if parent_exists {
        match rustix::fs::statat(&nearest, final_name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Some(stat),
            Err(Errno::NOENT) => None,
            Err(errno) => return Err(map_errno(errno, "stat", path)),
        }
    } else {
        None
    };
    if let Some(stat) = &existing {
        if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
            return Err(FileError::IsDirectory(path.to_owned()));
        }
    }

    let anonymous = rustix::fs::openat(
        &nearest,
        ".",
        OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    );
    let (fd, named_in) = match anonymous {
        Ok(fd) => (fd, None),
        Err(Errno::OPNOTSUPP | Errno::ISDIR) => {
            // NOTE: overlayfs gained O_TMPFILE in Linux 6.6. On older kernels the file has
            // its hidden name from the start, so a snapshot taken during an upload
            // contains the partial `.runloop-upload-*` file.
            create_named_temp(&root_fd, parent_path, path, temp_name)?
        }
        Err(errno) => return Err(map_errno(errno, "create a temporary file for", path)),
    };
    let staged = StagedFile {
        file: std::fs::File::from(fd),
        root: root_fd,
        named_in,
        temp_name: temp_name.to_owned(),
        final_name: final_name.to_owned(),
        path: path.to_owned(),
    };

    if let Some(stat) =
        existing.filter(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
    {
        let copied = rustix::fs::fchmod(&staged.file, Mode::from_raw_mode(stat.st_mode & 0o7777))
            .and_then(|()| {
                rustix::fs::fchown(
                    &staged.file,
                    Some(rustix::process::Uid::from_raw(stat.st_uid)),
                    Some(rustix::process::Gid::from_raw(stat.st_gid)),
                )
            });
        if let Err(errno) = copied {
            staged.discard();
            return Err(map_errno(errno, "copy the mode and owner of", path));
        }
    }
    Ok(staged)
}

/// Creates the parent directories of `path` and the file `temp_name` in its directory, for
/// a file system without `O_TMPFILE`. Returns the file and its directory.
fn create_named_temp(
    root_fd: &OwnedFd,
    parent_path: &Path,
    path: &str,
    temp_name: &str,
) -> Result<(OwnedFd, Option<OwnedFd>), FileError> {
    create_parent_dirs(root_fd, path)?;
    let parent = open_dir(root_fd, parent_path).map_err(|errno| map_errno(errno, "open", path))?;
    let flags = OFlags::WRONLY
        | OFlags::CREATE
        | OFlags::EXCL
        | OFlags::NOFOLLOW
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(&parent, temp_name, flags, Mode::from_raw_mode(0o644))
        .map_err(|errno| map_errno(errno, "create a temporary file for", path))?;
    Ok((fd, Some(parent)))
}

impl StagedFile {
    /// Flushes the file to disk, creates the missing parent directories of its path, and
    /// renames the file to the path, replacing what was there unless that is a directory.
    pub fn commit(mut self) -> Result<(), FileError> {
        if let Err(error) = self.file.sync_all() {
            self.discard();
            return Err(io_error("flush", &self.path, error));
        }
        let parent = match self.named_in.take() {
            Some(parent) => parent,
            None => self.link_under_temp_name()?,
        };

        let renamed = rustix::fs::renameat(
            &parent,
            self.temp_name.as_str(),
            &parent,
            self.final_name.as_os_str(),
        );
        let Err(errno) = renamed else {
            return Ok(());
        };
        self.named_in = Some(parent);
        self.discard();
        let path = self.path.clone();
        Err(match errno {
            Errno::ISDIR | Errno::NOTEMPTY | Errno::EXIST => FileError::IsDirectory(path),
            other => map_errno(other, "rename a temporary file to", &path),
        })
    }

    /// Gives the unnamed file its temporary name in the directory of its path, creating
    /// that directory and its missing parents. Returns the directory.
    fn link_under_temp_name(&self) -> Result<OwnedFd, FileError> {
        let path = self.path.as_str();
        create_parent_dirs(&self.root, path)?;
        let parent_path = Path::new(path).parent().unwrap_or(Path::new("/"));
        let parent =
            open_dir(&self.root, parent_path).map_err(|errno| map_errno(errno, "open", path))?;
        // Linking a descriptor by `AT_EMPTY_PATH` needs CAP_DAC_READ_SEARCH, which the
        // server has as root. A directory on another file system fails with EXDEV.
        rustix::fs::linkat(
            &self.file,
            "",
            &parent,
            self.temp_name.as_str(),
            AtFlags::EMPTY_PATH,
        )
        .map_err(|errno| map_errno(errno, "name the uploaded file at", path))?;
        Ok(parent)
    }

    /// Deletes the file's temporary name, if it has one, logging a failure: the caller is
    /// already reporting one. An unnamed file is freed when its descriptors close.
    pub fn discard(&self) {
        let Some(parent) = &self.named_in else {
            return;
        };
        if let Err(error) = rustix::fs::unlinkat(parent, self.temp_name.as_str(), AtFlags::empty())
        {
            tracing::warn!(path = %self.path, temp_name = %self.temp_name, %error, "failed to delete a temporary upload file");
        }
    }
}

/// Opens the deepest existing directory on the way to `dir` (absolute inside the devbox).
/// Returns it and whether it is `dir` itself.
fn open_nearest_dir(
    root_fd: &OwnedFd,
    dir: &Path,
    path: &str,
) -> Result<(OwnedFd, bool), FileError> {
    let mut prefix = PathBuf::from("/");
    let mut nearest = open_dir(root_fd, &prefix).map_err(|errno| map_errno(errno, "open", path))?;
    for component in dir.components() {
        let next = match component {
            Component::Normal(name) => prefix.join(name),
            Component::ParentDir => prefix.join(".."),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
        };
        match open_dir(root_fd, &next) {
            Ok(fd) => {
                nearest = fd;
                prefix = next;
            }
            Err(Errno::NOENT) => return Ok((nearest, false)),
            Err(errno) => return Err(map_errno(errno, "open a parent directory of", path)),
        }
    }
    Ok((nearest, true))
}

fn open_root(root: &Path, path: &str) -> Result<OwnedFd, FileError> {
    rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| io_error("open the root for", path, errno.into()))
}

/// Creates each missing directory above `path`, one component at a time. Each directory is
/// created with `mkdirat` relative to its parent, which was itself resolved inside the root,
/// so a symlink swapped in concurrently still cannot redirect the creation to the host.
fn create_parent_dirs(root_fd: &OwnedFd, path: &str) -> Result<(), FileError> {
    let Some(parent) = Path::new(path).parent() else {
        return Ok(());
    };

    let mut prefix = PathBuf::from("/");
    for component in parent.components() {
        let name: &OsStr = match component {
            Component::Normal(name) => name,
            Component::ParentDir => {
                prefix.push("..");
                continue;
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
        };

        let next = prefix.join(name);
        match open_dir(root_fd, &next) {
            Ok(_) => {}
            Err(Errno::NOENT) => {
                let parent_fd =
                    open_dir(root_fd, &prefix).map_err(|errno| map_errno(errno, "open", path))?;
                match rustix::fs::mkdirat(&parent_fd, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(errno) => {
                        return Err(map_errno(errno, "create a parent directory of", path))
                    }
                }
            }
            Err(errno) => return Err(map_errno(errno, "open a parent directory of", path)),
        }
        prefix = next;
    }
    Ok(())
}

fn open_dir(root_fd: &OwnedFd, path: &Path) -> Result<OwnedFd, Errno> {
    open_in_root(
        root_fd,
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn open_in_root(
    root_fd: &OwnedFd,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd, Errno> {
    let mut attempt = 0;
    loop {
        match rustix::fs::openat2(root_fd, path, flags, mode, RESOLVE) {
            Err(Errno::AGAIN) if attempt + 1 < RESOLVE_ATTEMPTS => attempt += 1,
            result => return result,
        }
    }
}

/// Returns the file's size, or an error unless it is a regular file.
fn require_regular_file(fd: &OwnedFd, path: &str) -> Result<u64, FileError> {
    let stat = rustix::fs::fstat(fd).map_err(|errno| map_errno(errno, "stat", path))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => Ok(u64::try_from(stat.st_size).unwrap_or(0)),
        FileType::Directory => Err(FileError::IsDirectory(path.to_owned())),
        _ => Err(FileError::NotRegularFile(path.to_owned())),
    }
}

fn map_errno(errno: Errno, action: &'static str, path: &str) -> FileError {
    match errno {
        Errno::NOENT => FileError::NotFound(path.to_owned()),
        Errno::ISDIR => FileError::IsDirectory(path.to_owned()),
        Errno::NOTDIR => FileError::NotADirectory(path.to_owned()),
        Errno::NXIO => FileError::NotRegularFile(path.to_owned()),
        other => io_error(action, path, other.into()),
    }
}

fn io_error(action: &'static str, path: &str, source: io::Error) -> FileError {
    FileError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_creates_parents_and_read_returns_contents() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_file(root.path(), "/a/b/c.txt", b"hello").expect("write");
        let data = read_file(root.path(), "/a/b/c.txt", 1024).expect("read");
        assert_eq!(data, b"hello");
    }

    #[test]
    fn dot_dot_stays_inside_root() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_file(root.path(), "/../../../escape.txt", b"x").expect("write");
        assert!(root.path().join("escape.txt").exists());
    }

    #[test]
    fn absolute_symlink_resolves_inside_root() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::os::unix::fs::symlink("/", root.path().join("link")).expect("symlink");
        write_file(root.path(), "/link/inside.txt", b"x").expect("write");
        assert!(root.path().join("inside.txt").exists());
    }

    #[test]
    fn read_rejects_directories_and_missing_files() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir(root.path().join("dir")).expect("mkdir");
        assert!(matches!(
            read_file(root.path(), "/dir", 1024),
            Err(FileError::IsDirectory(_))
        ));
        assert!(matches!(
            read_file(root.path(), "/missing", 1024),
            Err(FileError::NotFound(_))
        ));
    }

    #[test]
    fn staged_file_appears_only_on_commit() {
        use std::io::Write;

        let root = tempfile::tempdir().expect("temporary directory");
        let mut staged = stage_file(root.path(), "/d/e/f.bin", ".tmp-1").expect("stage");
        staged.file.write_all(b"data").expect("write");
        let entries = std::fs::read_dir(root.path()).expect("list root").count();
        assert_eq!(entries, 0, "nothing is visible before the commit");

        staged.commit().expect("commit");
        assert_eq!(
            std::fs::read(root.path().join("d/e/f.bin")).expect("read"),
            b"data"
        );
        assert!(!root.path().join("d/e/.tmp-1").exists());
    }

    #[test]
    fn staged_file_keeps_mode_of_replaced_file() {
        use std::os::unix::fs::PermissionsExt;

        let root = tempfile::tempdir().expect("temporary directory");
        let existing = root.path().join("run.sh");
        std::fs::write(&existing, b"old").expect("write");
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o750)).expect("chmod");

        let staged = stage_file(root.path(), "/run.sh", ".tmp-2").expect("stage");
        staged.commit().expect("commit");
        let mode = std::fs::metadata(&existing)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
        assert!(std::fs::read(&existing).expect("read").is_empty());
    }

    #[test]
    fn staging_over_a_directory_is_rejected() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir(root.path().join("dir")).expect("mkdir");
        assert!(matches!(
            stage_file(root.path(), "/dir", ".tmp-3"),
            Err(FileError::IsDirectory(_))
        ));
        assert!(matches!(
            stage_file(root.path(), "/", ".tmp-4"),
            Err(FileError::IsDirectory(_))
        ));
    }

    #[test]
    fn staging_through_symlinked_parent_stays_inside() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::os::unix::fs::symlink("/", root.path().join("up")).expect("symlink");
        let staged = stage_file(root.path(), "/up/../../x.bin", ".tmp-5").expect("stage");
        staged.commit().expect("commit");
        assert!(root.path().join("x.bin").exists());
    }

    #[test]
    fn open_regular_file_returns_size() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_file(root.path(), "/f", b"12345").expect("write");
        let (_, size) = open_regular_file(root.path(), "/f").expect("open");
        assert_eq!(size, 5);
        assert!(matches!(
            open_regular_file(root.path(), "/missing"),
            Err(FileError::NotFound(_))
        ));
    }

    #[test]
    fn read_enforces_limit() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_file(root.path(), "/big", &[b'x'; 10]).expect("write");
        assert!(matches!(
            read_file(root.path(), "/big", 5),
            Err(FileError::TooLarge { .. })
        ));
    }
}
