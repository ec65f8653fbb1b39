//! Git LFS for the Hugging Face Hub: the LFS batch API, `basic` and `multipart` transfers, and
//! the git-lfs custom transfer agent behind `hub-cli lfs-multipart-upload`.
//!
//! `hub-lfs` is the top library layer, above `hub-api` (whose HTTP transport it uses); only
//! `hub-cli` depends on it. Its contents arrive with the publishing issues; today it exposes
//! the one constant the CLI needs to configure git.
//!
//! ```
//! assert_eq!(hub_lfs::CUSTOM_TRANSFER_NAME, "multipart");
//! ```

#![warn(missing_docs)]

/// The name of the custom transfer the Hub selects for objects above its single-PUT limit;
/// git config keys are `lfs.customtransfer.multipart.*`.
pub const CUSTOM_TRANSFER_NAME: &str = "multipart";
