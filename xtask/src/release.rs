//! `cargo xtask release`: bump the lockstep version, date the CHANGELOG, print the tag.

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
