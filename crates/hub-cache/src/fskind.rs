//! The kind of file system the cache is on, from `statfs(2)`: NFS, Lustre, GPFS, CephFS, FUSE,
//! SMB/CIFS, or a local one (ext4, xfs, btrfs, tmpfs, overlay, zfs…), with its name from
//! `/proc/self/mountinfo` when the mount is found there.
//!
//! This is shown to people (`hub-cli env`, bug reports); no behaviour depends on it, since the
//! cache stays correct on file systems whose locks do nothing.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::location::CacheDir;

/// The family of a file system, as far as a shared cache cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FsKind {
    /// NFS (any version).
    Nfs,
    /// Lustre.
    Lustre,
    /// IBM Storage Scale (GPFS).
    Gpfs,
    /// CephFS (the kernel client; `ceph-fuse` shows as [`FsKind::Fuse`]).
    CephFs,
    /// A FUSE file system (sshfs, bindfs, s3fs, gcsfuse, JuiceFS, ceph-fuse, virtiofs…).
    Fuse,
    /// SMB or CIFS.
    Smb,
    /// Any other network or cluster file system known by its magic number (AFS, BeeGFS, 9p…).
    OtherNetwork,
    /// A file system of this machine (ext4, xfs, btrfs, tmpfs, overlay, zfs…).
    Local,
    /// Not known (not Linux, or `statfs` failed).
    Unknown,
}

impl FsKind {
    /// The lowercase word for the kind (`nfs`, `lustre`, `gpfs`, `cephfs`, `fuse`, `smb`,
    /// `network`, `local`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            FsKind::Nfs => "nfs",
            FsKind::Lustre => "lustre",
            FsKind::Gpfs => "gpfs",
            FsKind::CephFs => "cephfs",
            FsKind::Fuse => "fuse",
            FsKind::Smb => "smb",
            FsKind::OtherNetwork => "network",
            FsKind::Local => "local",
            FsKind::Unknown => "unknown",
        }
    }

    /// Whether several machines may share the file system (every kind but
    /// [`FsKind::Local`]; FUSE and unknown ones are counted in, since they may).
    pub fn may_be_shared_across_nodes(self) -> bool {
        self != FsKind::Local
    }
}

/// The file system of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileSystem {
    kind: FsKind,
    name: String,
    magic: Option<u64>,
}

impl FileSystem {
    /// The file system holding `path` (or, when it does not exist yet, the nearest folder above
    /// it that does). Never fails: [`FsKind::Unknown`] when it cannot tell.
    pub fn of(path: &Path) -> FileSystem {
        let existing = path.ancestors().find(|p| p.exists()).unwrap_or(path);
        let Some(magic) = magic_of(existing) else {
            return FileSystem { kind: FsKind::Unknown, name: "unknown".to_owned(), magic: None };
        };
        let (kind, known) = classify(magic);
        let name = mount_type(existing).unwrap_or_else(|| known.to_owned());
        FileSystem { kind, name, magic: Some(magic) }
    }

    /// Its kind.
    pub fn kind(&self) -> FsKind {
        self.kind
    }

    /// Its type's name: from `/proc/self/mountinfo` (`ext4`, `nfs4`, `fuse.sshfs`…) when the
    /// mount is found there, else the name of its magic number.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `statfs`'s `f_type`, when it answered.
    pub fn magic(&self) -> Option<u64> {
        self.magic
    }
}

/// `fuse (fuse.sshfs)`, `local (ext4)`.
impl fmt::Display for FileSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.magic {
            Some(magic) if self.name == UNKNOWN_NAME => {
                write!(f, "{} (f_type {magic:#x})", self.kind.as_str())
            }
            _ => write!(f, "{} ({})", self.kind.as_str(), self.name),
        }
    }
}

impl CacheDir {
    /// The file system the cache is on (of the nearest existing folder above it, when the
    /// cache does not exist yet).
    pub fn file_system(&self) -> FileSystem {
        FileSystem::of(self.path())
    }
}

const UNKNOWN_NAME: &str = "unrecognised";

/// The kind and name of a `statfs` magic number (`linux/magic.h` and the file systems'
/// sources).
pub(crate) fn classify(magic: u64) -> (FsKind, &'static str) {
    match magic {
        0x6969 => (FsKind::Nfs, "nfs"),
        0x0BD0_0BD0 => (FsKind::Lustre, "lustre"),
        0x4750_4653 => (FsKind::Gpfs, "gpfs"),
        0x00C3_6400 => (FsKind::CephFs, "ceph"),
        0x6573_5546 => (FsKind::Fuse, "fuse"),
        0x517B => (FsKind::Smb, "smbfs"),
        0xFF53_4D42 => (FsKind::Smb, "cifs"),
        0xFE53_4D42 => (FsKind::Smb, "smb2"),
        0x5346_414F => (FsKind::OtherNetwork, "afs"),
        0x6B41_4653 => (FsKind::OtherNetwork, "afs"),
        0x1983_0326 => (FsKind::OtherNetwork, "beegfs"),
        0x0102_1997 => (FsKind::OtherNetwork, "9p"),
        0x0000_EF53 => (FsKind::Local, "ext2/ext3/ext4"),
        0x5846_5342 => (FsKind::Local, "xfs"),
        0x9123_683E => (FsKind::Local, "btrfs"),
        0x0102_1994 => (FsKind::Local, "tmpfs"),
        0x794C_7630 => (FsKind::Local, "overlay"),
        0x2FC1_2FC1 => (FsKind::Local, "zfs"),
        0xF2F5_2010 => (FsKind::Local, "f2fs"),
        0xCA45_1A4E => (FsKind::Local, "bcachefs"),
        0x8584_58F6 => (FsKind::Local, "ramfs"),
        0x7371_7368 => (FsKind::Local, "squashfs"),
        0x4D44 => (FsKind::Local, "vfat"),
        0x2011_BAB0 => (FsKind::Local, "exfat"),
        0x5346_544E => (FsKind::Local, "ntfs"),
        0x7366_746E => (FsKind::Local, "ntfs3"),
        0x3153_464A => (FsKind::Local, "jfs"),
        0x5265_4973 => (FsKind::Local, "reiserfs"),
        0x0000_9660 => (FsKind::Local, "iso9660"),
        0xF15F => (FsKind::Local, "ecryptfs"),
        _ => (FsKind::Unknown, UNKNOWN_NAME),
    }
}

#[cfg(target_os = "linux")]
fn magic_of(path: &Path) -> Option<u64> {
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    rustix::fs::statfs(path).ok().map(|s| s.f_type as u64 & 0xFFFF_FFFF)
}

#[cfg(not(target_os = "linux"))]
fn magic_of(_: &Path) -> Option<u64> {
    None
}

/// The type of the mount holding `path`, from `/proc/self/mountinfo`.
fn mount_type(path: &Path) -> Option<String> {
    let path = std::fs::canonicalize(path).ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    parse_mount_type(&mountinfo, &path)
}

/// The file-system type of the longest mount point of `mountinfo` that holds `path`.
pub(crate) fn parse_mount_type(mountinfo: &str, path: &Path) -> Option<String> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let mount_point = PathBuf::from(unescape(fields.get(4)?));
            let dash = fields.iter().position(|f| *f == "-")?;
            let fs_type = fields.get(dash + 1)?;
            path.starts_with(&mount_point)
                .then(|| (mount_point.components().count(), (*fs_type).to_owned()))
        })
        // The last of the longest: a later mount on the same point hides an earlier one.
        .fold(None, |best: Option<(usize, String)>, (depth, fs_type)| match best {
            Some((d, _)) if d > depth => best,
            _ => Some((depth, fs_type)),
        })
        .map(|(_, fs_type)| fs_type)
}

/// `mountinfo`'s octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| std::str::from_utf8(d).ok());
        match octal.and_then(|d| u8::from_str_radix(d, 8).ok()) {
            Some(b) if bytes[i] == b'\\' => {
                out.push(b);
                i += 4;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(classify(0x6969).0, FsKind::Nfs);
        assert_eq!(classify(0x0BD0_0BD0).0, FsKind::Lustre);
        assert_eq!(classify(0x4750_4653).0, FsKind::Gpfs);
        assert_eq!(classify(0x00C3_6400).0, FsKind::CephFs);
        assert_eq!(classify(0x6573_5546).0, FsKind::Fuse);
        assert_eq!(classify(0xFF53_4D42).0, FsKind::Smb);
        assert_eq!(classify(0x9123_683E), (FsKind::Local, "btrfs"));
        assert_eq!(classify(0x1234).0, FsKind::Unknown);
    }

    #[test]
    fn mount_type_of_the_longest_mount_point() {
        let mountinfo = "\
22 1 0:21 / / rw,relatime - overlay overlay rw
30 22 0:40 / /data rw - ext4 /dev/sda1 rw
31 30 0:41 / /data/my\\040cache rw - fuse.sshfs host:/x rw
32 22 0:42 / /dat rw - tmpfs tmpfs rw
";
        let at = |p: &str| parse_mount_type(mountinfo, Path::new(p));
        assert_eq!(at("/data/my cache/hub").as_deref(), Some("fuse.sshfs"));
        assert_eq!(at("/data/other").as_deref(), Some("ext4"));
        assert_eq!(at("/database").as_deref(), Some("overlay"));
        assert_eq!(at("/dat/x").as_deref(), Some("tmpfs"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_temp_dir_is_known() {
        let fs = FileSystem::of(&std::env::temp_dir().join("not-there-yet"));
        assert_ne!(fs.kind(), FsKind::Unknown, "{fs}");
        assert!(fs.magic().is_some());
    }
}
