//! `cargo xtask tidy`: the source rules every change must keep.

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
