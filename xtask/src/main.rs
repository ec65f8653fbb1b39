//! `cargo xtask`: the project's automation, in Rust.
//!
//! - `cargo xtask test`: installs what the tests need (git-lfs, curl and openssl through the
//!   step it shares with `demo`, [`tools::ensure`]; a Python venv with the official
//!   `huggingface_hub` under `target/`), then runs every check: fmt, clippy, docs, `tidy` (the
//!   source rules and the layering), the Rust tests, the Python fidelity suite, and the demo
//!   with git-lfs, curl and openssl hidden from `PATH`. It fails loudly; it never skips.
//! - `cargo xtask demo`: the main job, offline: installs the tools it needs ([`tools::ensure`]),
//!   starts the local Hub, seeds it and runs `hub-cli` against it, then publishes a model with
//!   git and the multipart agent, and one over HTTP with `hub-cli upload`, and runs the library
//!   examples (`examples/`) against it.
//! - `cargo xtask bench …`: the benchmarks below, which are the `hub-bench` crate (`bench/`),
//!   built and run in release mode ([`mod@bench`]).
//! - `cargo xtask bench download`: `hub-cli download` of a large file from the local Hub, against
//!   `curl` and `openssl dgst -sha256` in the same run, with peak memory and cached lookups.
//! - `cargo xtask bench upload`: the multipart agent (`hub-cli lfs-multipart-upload`) sending a
//!   large file to the local Hub, against one `curl -T` in the same run, with peak memory.
//! - `cargo xtask bench upload-http`: `hub-cli upload` of a folder (a large file, many small
//!   ones) in one commit over HTTP, against one `curl -T` of the large file, with peak memory,
//!   the requests by route, and an unchanged second run that sends nothing.
//! - `cargo xtask bench cluster`: N simulated nodes (bindfs views, one UTS namespace each) on one
//!   shared cache, `hub-cli` against the official Python client: CDN bytes, wall time, peak RSS.
//! - `cargo xtask public-api [--bless]`: the public API of each published library crate, listed
//!   from rustdoc's JSON, against the listing checked in at `docs/api/` ([`public_api`]).
//! - `cargo xtask fuzz [--time S] [--merge] [TARGET…]`: coverage-guided fuzzing of the parsers of
//!   untrusted input (`crates/hub-fuzz`) with cargo-fuzz on the nightly toolchain, each target
//!   for S seconds, with its figures; a crash fails it with the reproducer ([`fuzz`]).

// xtask reads the environment freely (clippy.toml bans it outside `from_env` in the crates).
#![allow(clippy::disallowed_methods)]

mod bench;
mod demo;
mod dist;
mod fuzz;
mod layering;
mod public_api;
mod publish_check;
mod release;
mod test;
mod tidy;
mod tools;
mod util;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <TASK>

Tasks:
  test    install what the tests need (git-lfs, curl, openssl, a Python venv), then fmt, clippy,
          docs, tidy, Rust tests, Python fidelity suite, the demo with git-lfs hidden from PATH
  demo    install what it needs (git-lfs, curl, openssl), start the local Hub (offline), seed it,
          run hub-cli against it, publish a model with git and one over HTTP (hub-cli upload),
          run the library examples (examples/) against it
  bench   benchmarks: `bench download` (hub-cli download vs curl and sha256, memory, cached lookups),
          `bench upload` (the multipart agent vs curl -T, memory), `bench upload-http` (hub-cli
          upload of a folder vs curl -T, memory, requests by route, an unchanged re-run),
          `bench cluster` (N nodes on one shared cache, hub-cli vs the Python client); the
          hub-bench crate (bench/), run in release mode
  fuzz    coverage-guided fuzzing (cargo-fuzz, nightly) of the parsers of untrusted input, each
          target for --time S seconds, with runs, execs/s, coverage and crashes (`cargo test -p
          hub-fuzz` runs the same targets on stable over the committed corpora)
  tidy    source rules: module docs, no todo!/dbg!, env variable names only in hub_url::env,
          layering, the README's environment table generated from hub_url::env (part of `test`,
          and of plain `cargo test`)
  release bump the lockstep version, date the CHANGELOG, run the tests, print the tag to create
  public-api
          the public API of each published library crate, item by item, against the listing
          checked in at docs/api/<crate>.txt (part of `test`; --bless writes it)
  publish-check
          package every published crate in dependency order, check its metadata, build it from
          its tarball
  dist    a release build of hub-cli packed as hub-cli-<version>-<target>.tar.gz, with its sha256

Run `cargo xtask <TASK> --help` for a task's options.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("tidy") => tidy::run(&args[1..]),
        Some("release") => release::run(&args[1..]),
        Some("publish-check") => publish_check::run(&args[1..]),
        Some("public-api") => public_api::run(&args[1..]),
        Some("dist") => dist::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            util::say(HELP);
            Ok(())
        }
        Some(other) => Err(anyhow::format_err!("unknown task '{other}'\n\n{HELP}")),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            util::shout(&format!("xtask failed: {err:#}"));
            ExitCode::FAILURE
        }
    }
}
