//! What the `hub-api` tests share: a seeded TestHub, and `git` isolated from the user.

use std::path::Path;
use std::process::Command;

use hub_tests::{HubConfig, SeedManifest, TestHub};

/// A started hub with the default seed.
pub(crate) fn seeded() -> anyhow::Result<(TestHub, SeedManifest)> {
    seeded_with(HubConfig::default())
}

/// A started hub with `config` and the default seed.
pub(crate) fn seeded_with(config: HubConfig) -> anyhow::Result<(TestHub, SeedManifest)> {
    let hub = TestHub::start(config)?;
    let seed = hub.seed_default()?;
    Ok((hub, seed))
}

/// A `git` command isolated from the user's config and credential helpers.
pub(crate) fn git(dir: &Path) -> Command {
    hub_tests::isolated_git(dir)
}
