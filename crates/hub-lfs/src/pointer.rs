//! LFS pointer files (`git-lfs:docs/spec.md`): the small text git stores in place of a large
//! file, and the streamed sha256 that names the object.
//!
//! ```
//! use hub_lfs::Pointer;
//!
//! let pointer = Pointer::for_bytes(b"hello");
//! let text = pointer.to_string();
//! assert!(text.starts_with("version https://git-lfs.github.com/spec/v1\noid sha256:2cf24dba"));
//! assert_eq!(Pointer::parse(text.as_bytes()), Ok(pointer));
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// The `version` line's value.
pub const SPEC_V1: &str = "https://git-lfs.github.com/spec/v1";
/// The version an early git-lfs (then "hawser") wrote; still readable.
const SPEC_HAWSER: &str = "https://hawser.github.com/spec/v1";
/// git-lfs never treats a blob of this size or more as a pointer.
pub const MAX_POINTER_SIZE: usize = 1024;

/// A pointer: the object's sha256 and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pointer {
    oid: String,
    size: u64,
}

/// Why a text is not a pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PointerError {
    /// Too large, or not UTF-8.
    #[error("not an LFS pointer: {0}")]
    NotAPointer(&'static str),
    /// A pointer with a missing or invalid field.
    #[error("invalid LFS pointer: {0}")]
    Invalid(String),
}

impl Pointer {
    /// A pointer to an object; `oid` must be a sha256 in hex (any case; kept lowercase).
    pub fn new(oid: &str, size: u64) -> Result<Pointer, PointerError> {
        if !is_sha256_hex(oid) {
            return Err(PointerError::Invalid(format!("{oid:?} is not a sha256 in hex")));
        }
        Ok(Pointer { oid: oid.to_ascii_lowercase(), size })
    }

    /// The pointer to `data`.
    pub fn for_bytes(data: &[u8]) -> Pointer {
        Pointer { oid: hex(&Sha256::digest(data)), size: data.len() as u64 }
    }

    /// The pointer to the file at `path`, hashed as it is read.
    pub fn for_file(path: &Path) -> io::Result<Pointer> {
        let (oid, size) = sha256_file(path)?;
        Ok(Pointer { oid, size })
    }

    /// The object's sha256, lowercase hex.
    pub fn oid(&self) -> &str {
        &self.oid
    }

    /// The object's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Parses a pointer file: `version` first, then `key value` lines with `oid sha256:…` and
    /// `size`. Extension lines (`ext-…`) and unknown keys are allowed and ignored.
    pub fn parse(text: &[u8]) -> Result<Pointer, PointerError> {
        if text.len() >= MAX_POINTER_SIZE {
            return Err(PointerError::NotAPointer("too large"));
        }
        let text = std::str::from_utf8(text).map_err(|_| PointerError::NotAPointer("not UTF-8"))?;
        let mut lines = text.lines();
        match lines.next().and_then(|l| l.strip_prefix("version ")) {
            Some(SPEC_V1 | SPEC_HAWSER) => (),
            Some(other) => {
                return Err(PointerError::Invalid(format!("unknown version {other:?}")));
            }
            None => return Err(PointerError::NotAPointer("no version line")),
        }
        let (mut oid, mut size) = (None, None);
        for line in lines.filter(|l| !l.is_empty()) {
            let Some((key, value)) = line.split_once(' ') else {
                return Err(PointerError::Invalid(format!("line {line:?} is not `key value`")));
            };
            let slot = match key {
                "oid" => &mut oid,
                "size" => &mut size,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(PointerError::Invalid(format!("`{key}` appears twice")));
            }
        }
        let oid = oid.ok_or_else(|| PointerError::Invalid("no `oid` line".into()))?;
        let Some(hash) = oid.strip_prefix("sha256:") else {
            return Err(PointerError::Invalid(format!("oid {oid:?} is not `sha256:<hex>`")));
        };
        let size = size.ok_or_else(|| PointerError::Invalid("no `size` line".into()))?;
        let size = size
            .parse::<u64>()
            .map_err(|_| PointerError::Invalid(format!("size {size:?} is not a number")))?;
        Pointer::new(hash, size)
    }

    /// Whether `data` is a pointer file (not a large file's content).
    pub fn detect(data: &[u8]) -> Option<Pointer> {
        Pointer::parse(data).ok()
    }
}

impl fmt::Display for Pointer {
    /// The canonical text, as git-lfs writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version {SPEC_V1}\noid sha256:{}\nsize {}\n", self.oid, self.size)
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes read per call while hashing: large enough that the system call cost vanishes beside
/// the hash, small enough to stay in the CPU's cache.
const HASH_READ: usize = 1 << 20;

/// The sha256 (lowercase hex) and size of everything `reader` yields.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_READ];
    let mut size = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => (),
            Err(e) => return Err(e),
        }
    }
    Ok((hex(&hasher.finalize()), size))
}

/// The sha256 (lowercase hex) and size of the file at `path`, streamed.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    sha256_reader(File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of git-lfs's spec.
    const SPEC_EXAMPLE: &str = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";

    #[test]
    fn the_spec_example_round_trips() -> Result<(), PointerError> {
        let pointer = Pointer::parse(SPEC_EXAMPLE.as_bytes())?;
        assert_eq!(
            pointer.oid(),
            "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
        );
        assert_eq!(pointer.size(), 12345);
        assert_eq!(pointer.to_string(), SPEC_EXAMPLE);
        Ok(())
    }

    #[test]
    fn extensions_and_unknown_keys_are_ignored() -> Result<(), PointerError> {
        let text = "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:00\noid sha256:4D7A214614AB2935C943F9E0FF69D22EADBB8F32B1258DAAA5E2CA24D17E2393\nsize 1\nzzz later\n";
        let pointer = Pointer::parse(text.as_bytes())?;
        assert_eq!(
            pointer.oid(),
            "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
        );
        Ok(())
    }

    #[test]
    fn non_pointers_are_refused() {
        let oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
        for text in [
            String::new(),
            "hello world\n".into(),
            format!("version https://example.com/v9\noid sha256:{oid}\nsize 1\n"),
            format!("version {SPEC_V1}\noid sha256:{oid}\n"),
            format!("version {SPEC_V1}\nsize 1\n"),
            format!("version {SPEC_V1}\noid md5:{oid}\nsize 1\n"),
            format!("version {SPEC_V1}\noid sha256:abc\nsize 1\n"),
            format!("version {SPEC_V1}\noid sha256:{oid}\nsize -1\n"),
            format!("version {SPEC_V1}\noid sha256:{oid}\nsize 1\nsize 2\n"),
            format!("version {SPEC_V1}\noid sha256:{oid}\nsize 1\n{}", "x".repeat(1024)),
        ] {
            assert!(Pointer::detect(text.as_bytes()).is_none(), "{text:?}");
        }
        assert!(Pointer::detect(&[0xff, 0xfe]).is_none());
    }

    #[test]
    fn a_file_hashes_as_its_bytes() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f.bin");
        let data: Vec<u8> = (0..3 * HASH_READ + 7).map(|i| (i * 7 % 256) as u8).collect();
        std::fs::write(&path, &data)?;
        assert_eq!(Pointer::for_file(&path)?, Pointer::for_bytes(&data));
        assert_eq!(
            sha256_reader(&b""[..])?,
            ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned(), 0)
        );
        assert!(Pointer::for_file(&dir.path().join("missing")).is_err());
        Ok(())
    }
}
