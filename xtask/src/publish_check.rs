//! `cargo xtask publish-check`: every published crate packaged and built from its tarball.

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
