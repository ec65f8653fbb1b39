//! The permissions of what the cache writes, for a cache that several users share (one
//! `HF_HOME` on a cluster's NFS or Lustre, say; hfh#2580).
//!
//! - A new file gets `0o666` less the umask, the mode the Python library gives its blobs
//!   (`_chmod_and_move` probes it with a fresh file); a new folder `0o777` less the umask.
//! - In a group-writable folder, a new file is also `g+rw` and a new folder `g+rwx`, whatever
//!   the umask says of the group: so the other users of the group can resume, replace and lock
//!   what this one wrote. The umask's bits for others are always respected.
//! - Under a setgid folder, a new folder is setgid too, and new files and folders belong to
//!   its group. Linux does this itself on most file systems; it is done again where it did not.
//! - Lock files are `0o664` past the umask, as the Python library's (py-filelock `fchmod`s a
//!   lock file it created to the mode asked for).
//!
//! The umask is read from `/proc/self/status` (`Umask:`), which, unlike `umask(2)`, does not
//! change it for the other threads while it is read; elsewhere `0o022` is assumed. A mode that
//! cannot be set (some FUSE or SMB mounts refuse `chmod`) is logged and left as it is, as the
//! Python library does: it never fails a download.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::Error;

/// The mode of lock files, as the Python library's.
pub(crate) const LOCK_MODE: u32 = 0o664;
/// The umask assumed where it cannot be read.
const DEFAULT_UMASK: u32 = 0o022;
#[cfg(unix)]
const S_ISGID: u32 = 0o2000;

/// The mode of a new file: `0o666` less `umask`, plus `g+rw` when `group_shared`.
pub(crate) fn file_mode(umask: u32, group_shared: bool) -> u32 {
    let mode = 0o666 & !umask;
    if group_shared { mode | 0o060 } else { mode }
}

/// The mode of a new folder: `0o777` less `umask`, plus `g+rwx` when `group_shared`.
pub(crate) fn dir_mode(umask: u32, group_shared: bool) -> u32 {
    let mode = 0o777 & !umask;
    if group_shared { mode | 0o070 } else { mode }
}

/// The `Umask:` line of a `/proc/<pid>/status` text.
pub(crate) fn parse_umask(status: &str) -> Option<u32> {
    let value = status.lines().find_map(|line| line.strip_prefix("Umask:"))?;
    u32::from_str_radix(value.trim(), 8).ok().filter(|m| *m <= 0o777)
}

/// This process's umask, read without changing it.
pub(crate) fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_umask(&status))
        .unwrap_or(DEFAULT_UMASK)
}

/// What a folder says about the files and folders made in it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sharing {
    group_writable: bool,
    setgid: bool,
    gid: u32,
}

impl Sharing {
    /// The sharing of `dir` (none when it cannot be read).
    pub(crate) fn of(dir: &Path) -> Sharing {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if let Ok(meta) = std::fs::metadata(dir) {
                return Sharing {
                    group_writable: meta.mode() & 0o020 != 0,
                    setgid: meta.mode() & S_ISGID != 0,
                    gid: meta.gid(),
                };
            }
        }
        let _ = dir;
        Sharing::default()
    }

    /// The mode of a new file in the folder.
    pub(crate) fn file_mode(&self) -> u32 {
        file_mode(umask(), self.group_writable)
    }
}

/// Gives `file`, just created at `path` in the folder `dir`, the mode `mode` (past the umask)
/// and, under a setgid folder, the folder's group.
pub(crate) fn set_file_mode(file: &File, path: &Path, dir: &Path, mode: Option<u32>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let sharing = Sharing::of(dir);
        let mode = mode.unwrap_or_else(|| sharing.file_mode());
        if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(mode)) {
            tracing::debug!("cannot set the mode {mode:o} of {}: {e}", path.display());
        }
        if sharing.setgid
            && file.metadata().is_ok_and(|m| m.gid() != sharing.gid)
            && let Err(e) = std::os::unix::fs::fchown(file, None, Some(sharing.gid))
        {
            tracing::debug!("cannot give {} the group of its folder: {e}", path.display());
        }
    }
    let _ = (file, path, dir, mode);
}

/// `mkdir -p`, each new folder with the mode and group of [`dir_mode`] and [`Sharing`] (a
/// folder that already exists is left as it is).
pub(crate) fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    // As std's: the folder first, its parents only when missing, so that a file in the way
    // says "not a directory".
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let res = match make_dir(dir, parent) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && parent != Path::new(".") => {
            create_dir_all(parent)?;
            make_dir(dir, parent)
        }
        res => res,
    };
    match res {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        res => res,
    }
}

/// Makes `dir` in `parent` with the mode and group of a folder in `parent`.
///
/// Many downloads at once make the same folders, and a folder is seen for a moment with the
/// umask's mode, before its `chmod`: another download making a folder in it at that moment
/// would take the wrong group bits from it (a `.locks/<repo>` of mode 2755 in a group cache,
/// which the group then cannot write). So the parent is read once the folder is made in it, and
/// a parent in that moment (setgid, inherited from a setgid group folder, without the group's
/// write bit) is judged by its own parent. (Making it under a temporary name and renaming it into place closes the
/// window on a local file system, not through FUSE, where `bindfs` then fails operations in the
/// folder just renamed with "no such file".)
#[cfg(unix)]
fn make_dir(dir: &Path, parent: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new().mode(dir_mode(umask(), false)).create(dir)?;
    // The parent is read once the folder is made in it: before, it may not have existed yet.
    let mut sharing = Sharing::of(parent);
    if sharing.setgid
        && !sharing.group_writable
        && let Some(grandparent) = parent.parent().filter(|p| !p.as_os_str().is_empty())
    {
        sharing.group_writable = Sharing::of(grandparent).group_writable;
    }
    let mode = dir_mode(umask(), sharing.group_writable);
    let Ok(handle) = File::open(dir) else { return Ok(()) };
    let Ok(meta) = handle.metadata() else { return Ok(()) };
    let setgid = if sharing.setgid || meta.mode() & S_ISGID != 0 { S_ISGID } else { 0 };
    if sharing.setgid
        && meta.gid() != sharing.gid
        && let Err(e) = std::os::unix::fs::fchown(&handle, None, Some(sharing.gid))
    {
        tracing::debug!("cannot give {} the group of its folder: {e}", dir.display());
    }
    if meta.mode() & 0o7777 != mode | setgid
        && let Err(e) = handle.set_permissions(std::fs::Permissions::from_mode(mode | setgid))
    {
        tracing::debug!("cannot set the mode {:o} of {}: {e}", mode | setgid, dir.display());
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_dir(dir: &Path, _: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dir)
}

/// [`Error::PermissionDenied`] for a write at `path` that the system refused: it names the
/// file or folder at fault (the path itself when it exists and may not be written, else the
/// nearest folder above it that may not be written), its owner, group and mode.
pub(crate) fn denied(path: &Path, cause: std::io::Error) -> Error {
    let culprit = culprit(path);
    #[cfg(unix)]
    if let Some(culprit) = culprit {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(&culprit) {
            return Error::PermissionDenied {
                owner: user_name(meta.uid()),
                group: group_name(meta.gid()),
                mode: meta.mode(),
                yours: meta.uid() == rustix::process::getuid().as_raw(),
                path: culprit,
            };
        }
    }
    let _ = culprit;
    Error::CacheNotWritable { path: path.to_path_buf(), cause }
}

/// The file or folder that refused a write at `path`.
fn culprit(path: &Path) -> Option<PathBuf> {
    let mut nearest = None;
    for candidate in path.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        let Ok(meta) = std::fs::metadata(candidate) else { continue };
        if !may_write(candidate, meta.is_dir()) {
            return Some(candidate.to_path_buf());
        }
        nearest.get_or_insert_with(|| candidate.to_path_buf());
    }
    nearest
}

#[cfg(target_os = "linux")]
fn may_write(path: &Path, is_dir: bool) -> bool {
    use rustix::fs::Access;
    let wanted = if is_dir { Access::WRITE_OK | Access::EXEC_OK } else { Access::WRITE_OK };
    rustix::fs::access(path, wanted).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn may_write(path: &Path, _: bool) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
}

/// The name of user `uid` in `/etc/passwd`, else the number.
fn user_name(uid: u32) -> String {
    name_in("/etc/passwd", uid).unwrap_or_else(|| format!("uid {uid}"))
}

/// The name of group `gid` in `/etc/group`, else the number.
fn group_name(gid: u32) -> String {
    name_in("/etc/group", gid).unwrap_or_else(|| format!("gid {gid}"))
}

/// The name of `id` in a file of `name:password:id:…` lines.
fn name_in(file: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    parse_name(&text, id)
}

/// The name of `id` in a text of `name:password:id:…` lines (`/etc/passwd`, `/etc/group`).
pub(crate) fn parse_name(text: &str, id: u32) -> Option<String> {
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let found = fields.nth(1)?.parse::<u32>().ok()? == id;
        (found && !name.is_empty()).then(|| name.to_owned())
    })
}

/// `drwxrwsr-x`: a mode as `ls -l` shows it.
pub(crate) fn mode_string(mode: u32) -> String {
    let kind = match mode & 0o170_000 {
        0o040_000 => 'd',
        0o120_000 => 'l',
        _ => '-',
    };
    let bit = |mask: u32, c: char| if mode & mask != 0 { c } else { '-' };
    let special = |x: u32, s: u32, set: char| match (mode & x != 0, mode & s != 0) {
        (true, true) => set,
        (false, true) => set.to_ascii_uppercase(),
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        kind,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't'),
    ]
    .iter()
    .collect()
}

/// What to do about [`Error::PermissionDenied`].
pub(crate) fn denied_hint(mode: u32, owner: &str, group: &str, yours: bool) -> String {
    let kind = if mode & 0o170_000 == 0o040_000 { "folder" } else { "file" };
    if yours {
        format!("run `chmod u+w` on that {kind}, or set HF_HUB_CACHE to another folder")
    } else if mode & 0o020 != 0 {
        format!(
            "the {kind} is writable by group {group}: ask to be added to it, or set HF_HUB_CACHE to a folder of your own"
        )
    } else {
        format!(
            "ask {owner} to run `chmod g+w` on that {kind} (`chmod -R g+w,g+s` on the cache shares it with group {group}), or set HF_HUB_CACHE to a folder of your own"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_over_umasks() {
        // (umask, group-shared folder) -> (file, folder)
        let cases = [
            (0o022, false, 0o644, 0o755),
            (0o022, true, 0o664, 0o775),
            (0o002, false, 0o664, 0o775),
            (0o002, true, 0o664, 0o775),
            (0o077, false, 0o600, 0o700),
            (0o077, true, 0o660, 0o770),
            (0o027, true, 0o660, 0o770),
            (0o000, false, 0o666, 0o777),
            (0o007, true, 0o660, 0o770),
        ];
        for (umask, shared, file, dir) in cases {
            assert_eq!(file_mode(umask, shared), file, "file, umask {umask:03o}, shared {shared}");
            assert_eq!(dir_mode(umask, shared), dir, "folder, umask {umask:03o}, shared {shared}");
        }
    }

    #[test]
    fn umask_from_proc_status() {
        let status = "Name:\tcat\nUmask:\t0027\nState:\tR (running)\n";
        assert_eq!(parse_umask(status), Some(0o027));
        assert_eq!(parse_umask("Name:\tcat\n"), None);
        assert_eq!(parse_umask("Umask:\t9\n"), None);
        #[cfg(target_os = "linux")]
        assert!(
            std::fs::read_to_string("/proc/self/status").is_ok_and(|s| parse_umask(&s).is_some())
        );
    }

    #[test]
    fn names_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/bin/false\n";
        assert_eq!(parse_name(passwd, 65534).as_deref(), Some("nobody"));
        assert_eq!(parse_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(parse_name(passwd, 1000), None);
        assert_eq!(user_name(4_000_000_123), "uid 4000000123");
    }

    #[test]
    fn modes_as_ls_shows_them() {
        assert_eq!(mode_string(0o042_775), "drwxrwsr-x");
        assert_eq!(mode_string(0o100_644), "-rw-r--r--");
        assert_eq!(mode_string(0o040_755 | 0o1000), "drwxr-xr-t");
        assert_eq!(mode_string(0o042_755 & !0o010), "drwxr-Sr-x");
    }

    #[cfg(unix)]
    #[test]
    fn new_folders_under_a_setgid_group_folder_are_shared() -> std::io::Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let tmp = tempfile::tempdir()?;
        let root = tmp.path().join("cache");
        std::fs::create_dir(&root)?;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o2770))?;
        create_dir_all(&root.join("a/b"))?;
        for dir in [root.join("a"), root.join("a/b")] {
            let mode = std::fs::metadata(&dir)?.mode();
            assert_eq!(mode & 0o2070, 0o2070, "{}: {:o}", dir.display(), mode);
        }
        let plain = tmp.path().join("plain");
        std::fs::create_dir(&plain)?;
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755))?;
        create_dir_all(&plain.join("c"))?;
        let mode = std::fs::metadata(plain.join("c"))?.mode() & 0o7777;
        assert_eq!(mode, dir_mode(umask(), false));
        Ok(())
    }

    /// Many downloads at once make the same folders: none may see a new folder before it has
    /// its group bits, or it makes its own folders in it without them (as a `.locks/<repo>`
    /// of mode 2755 in a group cache, which the group then cannot write).
    #[cfg(unix)]
    #[test]
    fn folders_made_by_many_threads_at_once_are_all_shared() -> std::io::Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let tmp = tempfile::tempdir()?;
        for round in 0..40 {
            let root = tmp.path().join(format!("cache-{round}"));
            std::fs::create_dir(&root)?;
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o2770))?;
            let barrier = std::sync::Barrier::new(8);
            std::thread::scope(|scope| {
                let threads: Vec<_> = (0..8)
                    .map(|thread| {
                        let (root, barrier) = (&root, &barrier);
                        scope.spawn(move || {
                            barrier.wait();
                            let dir = root.join(".locks").join(format!("repo-{}", thread % 3));
                            create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))
                        })
                    })
                    .collect();
                for thread in threads {
                    assert_eq!(thread.join().ok(), Some(Ok(())));
                }
            });
            let mut folders = vec![root.join(".locks")];
            folders.extend((0..3).map(|n| root.join(".locks").join(format!("repo-{n}"))));
            for dir in folders {
                let mode = std::fs::metadata(&dir)?.mode();
                assert_eq!(mode & 0o2070, 0o2070, "{}: {:o}", dir.display(), mode);
            }
            let names: Vec<_> = std::fs::read_dir(root.join(".locks"))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()?;
            assert_eq!(names.len(), 3, "only the folders asked for: {names:?}");
        }
        Ok(())
    }
}
