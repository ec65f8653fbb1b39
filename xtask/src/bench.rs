//! `cargo xtask bench …`: runs the benchmarks, which are a crate of their own (`bench/`,
//! package `hub-bench`), in release mode: `cargo run --release -p hub-bench -- …`, with the
//! arguments as given. Everything else (the options, building `hub-cli`, the local Hub, the
//! figures) is that crate's.

use crate::util::{cargo, exec};

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    exec(cargo().args(["run", "--release", "-p", "hub-bench", "--"]).args(args))
}
