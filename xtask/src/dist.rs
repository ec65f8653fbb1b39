//! `cargo xtask dist`: the hub-cli release archive for the host, with its sha256.

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
