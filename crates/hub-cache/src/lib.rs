//! The Hugging Face Hub's versioned on-disk cache, laid out byte for byte like the Python
//! library's, so a file fetched from Rust is found by Python tools and the other way round.
//!
//! `hub-cache` sits above `hub-url` and below `hub-api`: it works on the file system only and
//! never touches the network.
//!
//! ```
//! use hub_cache::CacheDir;
//!
//! // `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
//! // `~/.cache/huggingface/hub`, as the Python library.
//! let cache = CacheDir::from_env()?;
//! println!("the cache is in {}", cache.path().display());
//! # Ok::<(), hub_cache::Error>(())
//! ```

#![warn(missing_docs)]

mod location;

pub use location::{CacheDir, HfHome};

/// What can go wrong with the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No home directory, and no variable that names the cache.
    #[error("cannot find the home directory: set HF_HOME or HF_HUB_CACHE")]
    NoHomeDir,
}
