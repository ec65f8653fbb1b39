//! File paths inside a repository, checked so that they can never escape it.

use std::fmt;
use std::str::FromStr;

use crate::error::PathError;

/// A validated, relative, `/`-separated path of a file inside a repository.
///
/// The rules are those of the Python library (and a little stricter): not empty, not absolute,
/// no Windows drive or UNC prefix, no `..` segment (also when `\` is read as a separator),
/// no empty or `.` segment, no NUL byte. A path that passes can be joined under a snapshot
/// folder or a `local_dir` and stays inside it.
///
/// ```
/// use hub_url::RepoPath;
///
/// let path = RepoPath::new("sub/folder/model.bin").unwrap();
/// assert_eq!(path.segments().collect::<Vec<_>>(), ["sub", "folder", "model.bin"]);
/// assert!(RepoPath::new("../../.ssh/id_rsa").is_err());
/// assert!(RepoPath::new("..\\..\\secret").is_err());
/// assert!(RepoPath::new("/etc/passwd").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath(String);

impl RepoPath {
    /// Validates `path`.
    pub fn new(path: &str) -> Result<RepoPath, PathError> {
        let fail = |reason| Err(PathError { path: path.to_owned(), reason });
        if path.is_empty() {
            return fail("it is empty");
        }
        if path.contains('\0') {
            return fail("it contains a NUL byte");
        }
        let normalized = path.replace('\\', "/");
        if normalized.starts_with('/') {
            return fail("it cannot be an absolute, drive-relative or UNC path");
        }
        for segment in normalized.split('/') {
            match segment {
                ".." => {
                    return fail(
                        "it cannot contain a '..' path segment; ask the repository owner to rename the file",
                    );
                }
                "" | "." => return fail("it cannot contain an empty or '.' path segment"),
                _ => (),
            }
            if has_windows_drive(segment) {
                return fail("it cannot be an absolute, drive-relative or UNC path");
            }
        }
        Ok(RepoPath(path.to_owned()))
    }

    /// `subfolder/filename`, with an empty subfolder meaning none, as in the Python library.
    pub fn with_subfolder(subfolder: Option<&str>, filename: &str) -> Result<RepoPath, PathError> {
        match subfolder {
            Some(sub) if !sub.is_empty() => {
                RepoPath::new(&format!("{}/{}", sub.trim_end_matches('/'), filename))
            }
            _ => RepoPath::new(filename),
        }
    }

    /// The path as written, with `/` separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `/`-separated segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment: the file's name.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// How many folders deep the file is (`a.txt` is 0, `a/b.txt` is 1).
    pub fn depth(&self) -> usize {
        self.0.matches('/').count()
    }
}

/// `C:`, `c:foo`: a segment that Windows reads as a drive.
fn has_windows_drive(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RepoPath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<RepoPath, PathError> {
        RepoPath::new(s)
    }
}

impl AsRef<str> for RepoPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
