//! The tree listing of a commit, cached as the Python library does (v1.22 and later,
//! `docs/protocol/cache.md#tree-listings`): `<folder>/trees/<commit>.json` with
//! `{"format_version": 1, "files": {"<path>": {"size", "blob_id", "lfs_sha256"?, "lfs_size"?}}}`,
//! where the folder is the repo's cache folder, or `<local_dir>/.cache/huggingface`. A commit
//! never changes, so the listing is kept forever; it tells an offline run whether a cached
//! snapshot is complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::fsutil::write_atomic;
use crate::ids::CommitHash;

const FORMAT_VERSION: u64 = 1;

/// One file of a tree listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeFile {
    /// The size the Hub lists for the file.
    pub size: u64,
    /// The git blob id.
    pub blob_id: String,
    /// The LFS object's sha256, for an LFS file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfs_sha256: Option<String>,
    /// The LFS object's size, for an LFS file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfs_size: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct TreeDoc {
    format_version: u64,
    files: BTreeMap<String, TreeFile>,
}

/// `<folder>/trees/<commit>.json`.
pub fn tree_path(folder: &Path, commit: &CommitHash) -> PathBuf {
    folder.join("trees").join(format!("{commit}.json"))
}

/// Reads a cached listing; `None` when absent, unreadable or of another format version.
pub fn read_tree(folder: &Path, commit: &CommitHash) -> Option<BTreeMap<String, TreeFile>> {
    parse_tree(&std::fs::read(tree_path(folder, commit)).ok()?)
}

/// The files of a cached listing's text; `None` when it does not parse or is of another format
/// version.
pub(crate) fn parse_tree(content: &[u8]) -> Option<BTreeMap<String, TreeFile>> {
    let doc: TreeDoc = serde_json::from_slice(content).ok()?;
    (doc.format_version == FORMAT_VERSION).then_some(doc.files)
}

/// Writes a listing atomically, keys sorted, indented by one space (as Python's
/// `json.dump(…, indent=1)`).
pub fn write_tree(
    folder: &Path,
    commit: &CommitHash,
    files: &BTreeMap<String, TreeFile>,
) -> Result<(), Error> {
    let doc = TreeDoc { format_version: FORMAT_VERSION, files: files.clone() };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    doc.serialize(&mut serializer).map_err(|e| Error::Io {
        path: tree_path(folder, commit),
        cause: std::io::Error::other(e),
    })?;
    write_atomic(&tree_path(folder, commit), &out)
}
