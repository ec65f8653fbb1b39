//! `cargo xtask public-api [--bless]`: the public API of every published library crate, listed
//! item by item, compared with the listing checked in at `docs/api/<crate>.txt`.
//!
//! The listing comes from rustdoc's JSON output, read by the `public-api` crate. That output is
//! unstable: stable rustdoc writes it when `RUSTC_BOOTSTRAP=1` is set, in the format of its own
//! version, and `public-api` reads one format only (`FORMAT_VERSION`). A toolchain with another
//! format fails here with what to change, rather than listing something else.
//!
//! rustdoc runs in its own target folder (`target/public-api`) so that `RUSTC_BOOTSTRAP` never
//! invalidates the ordinary build.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::{cargo, exec, project_root, say};

const HELP: &str = "\
cargo xtask public-api [--bless]

Lists the public API of each published library crate (hub-url, hub-cache, hub-api, hub-lfs)
from rustdoc's JSON output and compares it with docs/api/<crate>.txt, the listing checked in.
A difference fails, with the items removed (-) and added (+): a change of the public API is
then a reviewed diff of that file. After reviewing it, --bless writes the new listings; note
every break in the CHANGELOG. Part of `cargo xtask test`.
";

/// The library crates published to crates.io (hub-cli is a binary: its interface is its CLI).
const LIBRARIES: [&str; 4] = ["hub-url", "hub-cache", "hub-api", "hub-lfs"];

/// The rustdoc JSON format that the pinned `public-api` crate reads (its `rustdoc-types`).
const FORMAT_VERSION: u64 = 57;

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let bless = match args {
        [] => false,
        [flag] if flag == "--bless" => true,
        [flag] if flag == "-h" || flag == "--help" => {
            say(HELP);
            return Ok(());
        }
        _ => anyhow::bail!("unexpected arguments {args:?}\n\n{HELP}"),
    };
    let root = project_root();
    let target = root.join("target/public-api");
    let mut changed = Vec::new();
    for krate in LIBRARIES {
        let listing = list(krate, &target)?;
        let file = root.join("docs/api").join(format!("{krate}.txt"));
        let checked_in = std::fs::read_to_string(&file).unwrap_or_default();
        if checked_in == listing {
            say(&format!("{krate}: the public API is the one in {}", relative(&root, &file)));
            continue;
        }
        if bless {
            std::fs::create_dir_all(file.parent().unwrap_or(&root))?;
            std::fs::write(&file, &listing)
                .map_err(|e| anyhow::format_err!("cannot write {}: {e}", file.display()))?;
            say(&format!("{krate}: wrote {}", relative(&root, &file)));
            continue;
        }
        say(&format!("{krate}: the public API differs from {}:", relative(&root, &file)));
        say(&difference(&checked_in, &listing));
        changed.push(krate);
    }
    anyhow::ensure!(
        changed.is_empty(),
        "the public API of {} changed: review the lines above, then run `cargo xtask public-api \
         --bless`, commit docs/api/, and list every break in CHANGELOG.md",
        changed.join(", ")
    );
    Ok(())
}

/// The public API of `krate`, one item a line.
fn list(krate: &str, target: &Path) -> anyhow::Result<String> {
    exec(
        cargo()
            .args(["rustdoc", "--quiet", "--locked", "--lib", "-p", krate, "--all-features"])
            .args(["--", "-Z", "unstable-options", "--output-format", "json"])
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", target),
    )?;
    let json = target.join("doc").join(format!("{}.json", krate.replace('-', "_")));
    check_format(&json)?;
    let api = public_api::Builder::from_rustdoc_json(&json)
        .omit_blanket_impls(true)
        .include_function_parameter_names(true)
        .build()
        .map_err(|e| anyhow::format_err!("cannot read {}: {e}", json.display()))?;
    Ok(render(api.items().map(ToString::to_string)))
}

fn check_format(json: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(json)
        .map_err(|e| anyhow::format_err!("rustdoc wrote no {}: {e}", json.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::format_err!("{} is not JSON: {e}", json.display()))?;
    let found = doc["format_version"].as_u64();
    anyhow::ensure!(
        found == Some(FORMAT_VERSION),
        "this toolchain's rustdoc writes JSON format {found:?}, and the public-api crate of \
         xtask reads format {FORMAT_VERSION}: pin in xtask/Cargo.toml the public-api version \
         whose rustdoc-types has that FORMAT_VERSION, and change FORMAT_VERSION here"
    );
    Ok(())
}

/// The items, one a line, in public-api's order (each item's impls and members after it), with a
/// final newline.
fn render(items: impl Iterator<Item = String>) -> String {
    items.map(|item| item + "\n").collect()
}

/// The lines only in `old` (`- `) and only in `new` (`+ `), in order.
fn difference(old: &str, new: &str) -> String {
    let old: BTreeSet<&str> = old.lines().collect();
    let new: BTreeSet<&str> = new.lines().collect();
    let removed = old.difference(&new).map(|line| format!("- {line}"));
    let added = new.difference(&old).map(|line| format!("+ {line}"));
    let lines: Vec<String> = removed.chain(added).collect();
    lines.join("\n")
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_one_item_a_line() {
        let items = ["pub struct a::B", "pub fn a::B::new() -> a::B"].map(str::to_owned);
        assert_eq!(render(items.into_iter()), "pub struct a::B\npub fn a::B::new() -> a::B\n");
    }

    #[test]
    fn shows_what_was_removed_and_added() {
        let old = "pub fn a()\npub fn b(x: u8)\npub struct C\n";
        let new = "pub fn a()\npub fn b(x: u16)\npub struct C\n";
        assert_eq!(difference(old, new), "- pub fn b(x: u8)\n+ pub fn b(x: u16)");
        assert_eq!(difference(new, new), "");
    }
}
