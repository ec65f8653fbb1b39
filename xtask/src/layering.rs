//! The layering of ARCHITECTURE.md, checked on the real dependency graph (`cargo tree`).

use std::collections::BTreeSet;

use crate::util::{cargo, output, say};

/// (crate, crates it must not depend on, even indirectly, through normal dependencies)
const RULES: &[(&str, &[&str])] = &[
    ("hub-url", &["hub-cache", "hub-api", "hub-lfs", "hub-cli", "tokio", "hyper", "fs2", "anyhow"]),
    (
        "hub-cache",
        &[
            "hub-api",
            "hub-lfs",
            "hub-cli",
            "hyper",
            "hyper-util",
            "hyper-rustls",
            "rustls",
            "anyhow",
        ],
    ),
    ("hub-api", &["hub-lfs", "hub-cli", "clap", "anyhow", "indicatif"]),
    ("hub-lfs", &["hub-cli", "clap", "anyhow", "indicatif"]),
    // The fuzz targets and the benchmarks sit over every library crate (a cycle stops those);
    // not under the CLI.
    ("hub-cli", &["hub-fuzz", "hub-bench"]),
    // The local Hub must not share the client's code, or it would share its mistakes.
    ("hub-tests", &["hub-url", "hub-cache", "hub-api", "hub-lfs", "hub-cli", "hub-bench"]),
    // Automation only, quick to build: the benchmarks, the local Hub and the client's transport
    // are crates it runs, never links.
    (
        "xtask",
        &["hub-cache", "hub-api", "hub-lfs", "hub-cli", "hub-tests", "hub-bench", "tokio", "hyper"],
    ),
];

pub(crate) fn check() -> anyhow::Result<()> {
    let mut broken = Vec::new();
    for (krate, forbidden) in RULES {
        let deps = dependencies(krate)?;
        for dep in *forbidden {
            if deps.contains(*dep) {
                broken.push(format!("{krate} depends on {dep}"));
            }
        }
        say(&format!("{krate}: {} dependencies, none forbidden", deps.len()));
    }
    if !broken.is_empty() {
        anyhow::bail!("the layering of ARCHITECTURE.md is broken: {}", broken.join("; "));
    }
    Ok(())
}

/// Every crate `krate` depends on through normal (not dev, not build) edges.
fn dependencies(krate: &str) -> anyhow::Result<BTreeSet<String>> {
    let tree = output(cargo().args([
        "tree", "--locked", "-p", krate, "-e", "normal", "--prefix", "none", "--format", "{p}",
    ]))?;
    Ok(tree
        .lines()
        .skip(1) // the crate itself
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}
