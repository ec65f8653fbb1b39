//! Examples to copy into a library that uses the Hugging Face Hub from Rust. Each is one file
//! next to this one, using only the public APIs of `hub-url`, `hub-api` and `hub-lfs`:
//!
//! | example | what it shows |
//! |---|---|
//! | `download.rs` | one file (`hf_hub_download`) and a whole repo (`snapshot_download`) into the cache shared with the Python tools, your library's name and version in the user agent (`ClientBuilder::library`) |
//! | `list_models.rs` | the models made for a library (a `ListOptions` filter on its tag), most downloaded first, read as a lazily paginated stream |
//! | `publish.rs` | a model published over HTTP, no git: the repo created, a folder uploaded in one commit (`LfsClient::upload_folder`), a model card with `library_name` and `tags` (`LfsClient::create_commit`) |
//! | `blocking.rs` | the client from synchronous code (`hub_api::blocking::BlockingClient`) |
//!
//! Run one from the repository's root; arguments follow `--`, and each file's docs say what
//! they are and which variables stand in for them:
//!
//! ```text
//! cargo run -p hub-examples --example download -- julien-c/EsperBERTo-small config.json
//! cargo run -p hub-examples --example list_models -- transformers 10
//! cargo run -p hub-examples --example publish          # needs a write token
//! cargo run -p hub-examples --example blocking
//! ```
//!
//! They work against any Hub: the real one by default, another with `HF_ENDPOINT`, as the
//! Python library. The token (`HF_TOKEN` or the token file), the cache (`HF_HOME`,
//! `HF_HUB_CACHE`) and the rest come from the environment too. Against the project's local
//! Hub, with no internet:
//!
//! ```text
//! cargo run -p hub-tests --bin testhub -- --root /tmp/exhub --seed
//! # prints {"endpoint": "http://127.0.0.1:PORT", "tokens": {"alice": "hf_…", …}, …}
//! export HF_ENDPOINT=http://127.0.0.1:PORT HF_TOKEN=<alice's token> HF_HOME=/tmp/exhome
//! cargo run -p hub-examples --example publish
//! ```
//!
//! `cargo xtask demo` runs all four against its local Hub.
//!
//! This library has no code. It makes the examples a package of the workspace, so that
//! `cargo clippy --workspace --all-targets` builds them, and compiles the Rust snippets of the
//! repository's README as doctests.

/// The repository's README: its Rust snippets are compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct RootReadme;
