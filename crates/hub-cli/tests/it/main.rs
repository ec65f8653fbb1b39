//! The integration tests of `hub-cli`: the built binary as a user runs it, against a local
//! TestHub (`hub-tests`), a cache laid out by hand, a TLS server or a FUSE view. One test binary
//! (one link, one `cargo test --test it`), one module per area; what they share (the isolated
//! environment, the setup of a seeded hub, the readings of the cache and of the hub's log) is in
//! [`support`].
//!
//! Some modules need tools or privileges the machine may lack (`bindfs`, `setpriv` and root for
//! `cluster` and `multi_user`, `openssl` for `tls`, the Python venv for one `cluster` test):
//! `cargo xtask test` installs them. Run one area with `cargo test -p hub-cli --test it MODULE::`.

// Tests read the environment they run in (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]

mod support;

mod cache;
mod cache_ops;
mod cli;
mod cluster;
mod download;
mod faults;
mod lfs_push;
mod messages;
mod multi_user;
mod readme;
mod rest;
mod snapshots;
mod tls;
mod transport;
mod upload;
