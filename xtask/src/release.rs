//! `cargo xtask release`: bump the lockstep version, date the CHANGELOG, run the tests, print
//! the tag to create.
//!
//! The root `Cargo.toml` is edited with `toml_edit`, so its comments and layout stay
//! ([`bump_manifest`]); `CHANGELOG.md` is a text transform ([`release_changelog`]); cargo
//! rewrites `Cargo.lock`. A dry run does all of it in a temporary `git worktree` of HEAD and
//! shows it as `git diff` there ([`dry_run`]): exactly what a real run writes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use jiff::civil::Date;

use crate::util::{
    cargo, exec, output, project_root, read_text, say, shout, step, write_atomically,
};

const HELP: &str = "\
cargo xtask release (--bump patch|minor|major | --version X.Y.Z) [--date YYYY-MM-DD] [--dry-run]

Releases the published crates together, with one version:
  1. refuses a working tree with changes or untracked files (commit them first);
  2. sets the new version in the root Cargo.toml: [workspace.package] version, and the
     `=X.Y.Z` pins of the internal crates in [workspace.dependencies];
  3. moves CHANGELOG.md's `## [Unreleased]` section under `## [X.Y.Z] - DATE`, with a new
     empty `## [Unreleased]` above it (an empty Unreleased section is refused), and updates
     the link references at the bottom (REPO is [workspace.package] repository):
       [Unreleased]: REPO/compare/vX.Y.Z...HEAD
       [X.Y.Z]: REPO/compare/vPREVIOUS...vX.Y.Z
     PREVIOUS is the newest version with a section in the CHANGELOG; for the first release
     (no such section) the link is REPO/releases/tag/vX.Y.Z;
  4. refreshes Cargo.lock (cargo update --workspace --offline) and shows the changes (git diff);
  5. runs every test (cargo xtask test);
  6. prints the tag to create and the git commands to commit and tag: it runs none of them.

Options:
  --bump patch|minor|major  X.Y.(Z+1), X.(Y+1).0 or (X+1).0.0 from the current version
  --version X.Y.Z           this version, which must be greater than the current one
  --date YYYY-MM-DD         the release date (default: today in UTC)
  --dry-run                 steps 2 to 4 in a temporary git worktree of HEAD, removed after:
                            shows the changes as git diff; writes nothing here, runs no tests
";

/// The root files the release rewrites.
const MANIFEST: &str = "Cargo.toml";
const CHANGELOG: &str = "CHANGELOG.md";
const LOCK: &str = "Cargo.lock";

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let Some(options) = Options::parse(args)? else {
        return Ok(());
    };
    let date = match options.date {
        Some(date) => date,
        None => today_utc()?,
    };
    let root = project_root();
    ensure_clean(&root)?;
    let plan = Plan::new(&root, options.target, date)?;
    let tag = format!("v{}", plan.to);

    if options.dry_run {
        step(&format!(
            "release {} -> {} ({date}), dry run: nothing is written",
            plan.from, plan.to
        ));
        say(&dry_run(&root, &plan)?);
        say("would run the tests: cargo xtask test");
        say(&format!("the tag to create: {tag}, once a real run has passed the tests"));
        say(&next_steps(&plan.to));
        return Ok(());
    }

    step(&format!(
        "release {} -> {} ({date}): writing {MANIFEST} and {CHANGELOG}",
        plan.from, plan.to
    ));
    plan.write(&root)?;
    step(&format!("refreshing {LOCK}"));
    refresh_lock(&root).map_err(|e| {
        anyhow::format_err!(
            "{e}; {MANIFEST} and {CHANGELOG} are written: fix it and run `cargo update \
             --workspace`, or undo with `git checkout -- {MANIFEST} {CHANGELOG} {LOCK}`"
        )
    })?;
    say(&diff(&root)?);

    step("the tests (cargo xtask test)");
    crate::test::run(&[]).map_err(|e| {
        anyhow::format_err!(
            "the tests failed ({e:#}); the new version is written but not committed: fix and \
             run `cargo xtask test` again, or undo with `git checkout -- {MANIFEST} {CHANGELOG} \
             {LOCK}`"
        )
    })?;

    step(&format!("release {} is ready: the tag to create is {tag}", plan.to));
    say(&next_steps(&plan.to));
    Ok(())
}

/// The commands that finish a release, printed rather than run.
fn next_steps(version: &Version) -> String {
    format!(
        "Commit, tag and push:\n  \
         git add {MANIFEST} {LOCK} {CHANGELOG}\n  \
         git commit -m \"Release {version}\"\n  \
         git tag -a v{version} -m \"Release {version}\"\n  \
         git push origin HEAD v{version}\n\
         Then: cargo xtask publish-check, cargo publish --workspace, cargo xtask dist."
    )
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir);
    cmd
}

/// Refuses a working tree with changes or untracked files: the release commit must hold
/// exactly what was tested.
fn ensure_clean(root: &Path) -> anyhow::Result<()> {
    let status = output(git(root).args(["status", "--porcelain"]))
        .map_err(|e| anyhow::format_err!("cannot ask git for the tree's state ({e})"))?;
    let dirty: Vec<&str> = status.lines().filter(|l| !l.trim().is_empty()).collect();
    if !dirty.is_empty() {
        let shown: Vec<&str> = dirty.iter().take(5).map(|l| l.get(3..).unwrap_or(l)).collect();
        let more =
            if dirty.len() > 5 { format!(" and {} more", dirty.len() - 5) } else { "".into() };
        anyhow::bail!(
            "the working tree is not clean ({}{more}): commit or stash the changes before a release",
            shown.join(", ")
        );
    }
    Ok(())
}

/// `cargo update --workspace --offline` in `dir`: the lock file after the bump.
fn refresh_lock(dir: &Path) -> anyhow::Result<()> {
    exec(cargo().current_dir(dir).args(["update", "--workspace", "--offline"]))
}

/// What the release changed in the tree at `dir`, as `git diff` shows it.
fn diff(dir: &Path) -> anyhow::Result<String> {
    let diff = output(git(dir).args(["diff", "--no-color", "--", MANIFEST, CHANGELOG, LOCK]))?;
    Ok(diff.trim_end().to_owned())
}

/// The whole release done in a temporary worktree of HEAD (the tree is clean, so HEAD is what
/// a real run starts from), Cargo.lock refreshed there by cargo too: the `git diff` there.
fn dry_run(root: &Path, plan: &Plan) -> anyhow::Result<String> {
    let worktree = Worktree::add(root)?;
    plan.write(&worktree.path)?;
    refresh_lock(&worktree.path)?;
    diff(&worktree.path)
}

/// A detached `git worktree` of HEAD in a temporary folder, removed on drop (an error
/// included).
#[derive(Debug)]
struct Worktree {
    repo: PathBuf,
    path: PathBuf,
    /// Deleted after the worktree, if `git worktree remove` failed.
    _dir: tempfile::TempDir,
}

impl Worktree {
    fn add(repo: &Path) -> anyhow::Result<Worktree> {
        let dir = tempfile::Builder::new()
            .prefix("xtask-release-")
            .tempdir()
            .map_err(|e| anyhow::format_err!("cannot make a temporary folder: {e}"))?;
        let path = dir.path().join("tree");
        output(git(repo).args(["worktree", "add", "--quiet", "--detach"]).arg(&path).arg("HEAD"))?;
        Ok(Worktree { repo: repo.to_owned(), path, _dir: dir })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        // --force: its files are changed, which is the point.
        let mut remove = git(&self.repo);
        remove.args(["worktree", "remove", "--force"]).arg(&self.path);
        if let Err(e) = output(&mut remove) {
            shout(&format!(
                "cannot remove the temporary worktree {} ({e}): run `git worktree prune`",
                self.path.display()
            ));
        }
    }
}

/// The parsed command line.
#[derive(Debug, PartialEq)]
struct Options {
    target: Target,
    date: Option<Date>,
    dry_run: bool,
}

/// What the new version is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Bump(Bump),
    Exact(Version),
}

impl Options {
    /// `None` for `--help` (printed).
    fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut target = None;
        let mut date = None;
        let mut dry_run = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let mut value = |what: &str| {
                inline
                    .clone()
                    .or_else(|| args.next().cloned())
                    .ok_or_else(|| anyhow::format_err!("{name} needs a value ({what})\n\n{HELP}"))
            };
            match name {
                "-h" | "--help" => {
                    say(HELP);
                    return Ok(None);
                }
                "--dry-run" => dry_run = true,
                "--bump" | "--version" => {
                    let new = if name == "--bump" {
                        Target::Bump(value("patch, minor or major")?.parse()?)
                    } else {
                        Target::Exact(value("X.Y.Z")?.parse()?)
                    };
                    if target.replace(new).is_some() {
                        anyhow::bail!("give one of --bump and --version, once");
                    }
                }
                "--date" => date = Some(parse_date(&value("YYYY-MM-DD")?)?),
                other => anyhow::bail!("unexpected argument '{other}'\n\n{HELP}"),
            }
        }
        let Some(target) = target else {
            anyhow::bail!(
                "say which version: --bump patch|minor|major or --version X.Y.Z\n\n{HELP}"
            );
        };
        Ok(Some(Options { target, date, dry_run }))
    }
}

/// Which part of the version a release raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bump {
    Patch,
    Minor,
    Major,
}

impl FromStr for Bump {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Bump> {
        match s {
            "patch" => Ok(Bump::Patch),
            "minor" => Ok(Bump::Minor),
            "major" => Ok(Bump::Major),
            other => anyhow::bail!("--bump takes patch, minor or major, not '{other}'"),
        }
    }
}

/// A release version: three numbers (no pre-release or build part: the workspace has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
}

impl FromStr for Version {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Version> {
        let bad = || anyhow::format_err!("'{s}' is not a version X.Y.Z (three numbers)");
        let numbers: Vec<u64> = s
            .split('.')
            .map(|part| {
                let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
                // SemVer: no leading zero.
                if !digits || (part.len() > 1 && part.starts_with('0')) {
                    return Err(bad());
                }
                part.parse().map_err(|_| bad())
            })
            .collect::<anyhow::Result<_>>()?;
        match numbers[..] {
            [major, minor, patch] => Ok(Version { major, minor, patch }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Version {
    fn bump(self, bump: Bump) -> anyhow::Result<Version> {
        let next = |n: u64| {
            n.checked_add(1).ok_or_else(|| anyhow::format_err!("version {self} cannot be bumped"))
        };
        Ok(match bump {
            Bump::Patch => Version { patch: next(self.patch)?, ..self },
            Bump::Minor => Version { minor: next(self.minor)?, patch: 0, ..self },
            Bump::Major => Version { major: next(self.major)?, minor: 0, patch: 0 },
        })
    }

    /// The version a release moves to from `self`; it must be greater.
    fn next(self, target: Target) -> anyhow::Result<Version> {
        match target {
            Target::Bump(bump) => self.bump(bump),
            Target::Exact(version) if version > self => Ok(version),
            Target::Exact(version) => {
                anyhow::bail!("--version {version} is not greater than the current version {self}")
            }
        }
    }
}

/// A date written `YYYY-MM-DD`, a day of the calendar.
fn parse_date(s: &str) -> anyhow::Result<Date> {
    let shaped = s.len() == 10
        && s.bytes()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shaped {
        anyhow::bail!("'{s}' is not a date YYYY-MM-DD");
    }
    s.parse().map_err(|e| anyhow::format_err!("'{s}' is not a day of the calendar ({e})"))
}

/// Today in UTC, from the system clock.
fn today_utc() -> anyhow::Result<Date> {
    let now = jiff::Timestamp::try_from(std::time::SystemTime::now())
        .map_err(|e| anyhow::format_err!("the system clock is out of range ({e}): give --date"))?;
    Ok(jiff::tz::Offset::UTC.to_datetime(now).date())
}

/// The whole release, computed before anything is written.
#[derive(Debug)]
struct Plan {
    from: Version,
    to: Version,
    /// The new root Cargo.toml and CHANGELOG.md (cargo writes Cargo.lock).
    manifest: String,
    changelog: String,
}

impl Plan {
    fn new(root: &Path, target: Target, date: Date) -> anyhow::Result<Plan> {
        let manifest = read_text(&root.join(MANIFEST))?;
        let changelog = read_text(&root.join(CHANGELOG))?;
        let doc = parse_manifest(&manifest)?;
        let from = workspace_version(&doc)?;
        let to = from.next(target)?;
        let repository = workspace_repository(&doc)?;
        Ok(Plan {
            from,
            to,
            manifest: bump_manifest(doc, from, to)?,
            changelog: release_changelog(&changelog, to, date, &repository)?,
        })
    }

    /// Writes Cargo.toml and CHANGELOG.md in the tree at `root`.
    fn write(&self, root: &Path) -> anyhow::Result<()> {
        write_atomically(&root.join(MANIFEST), self.manifest.as_bytes())?;
        write_atomically(&root.join(CHANGELOG), self.changelog.as_bytes())
    }
}

fn parse_manifest(text: &str) -> anyhow::Result<toml_edit::DocumentMut> {
    text.parse().map_err(|e| anyhow::format_err!("{MANIFEST} is not valid TOML: {e}"))
}

/// `[workspace.package] KEY` of the root manifest, a string.
fn package_field<'a>(doc: &'a toml_edit::DocumentMut, key: &str) -> anyhow::Result<&'a str> {
    doc.get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get(key))
        .and_then(toml_edit::Item::as_str)
        .ok_or_else(|| {
            anyhow::format_err!("{MANIFEST} has no `{key} = \"…\"` in [workspace.package]")
        })
}

/// `[workspace.package] version` of the root manifest.
fn workspace_version(doc: &toml_edit::DocumentMut) -> anyhow::Result<Version> {
    package_field(doc, "version")?
        .parse()
        .map_err(|e| anyhow::format_err!("{MANIFEST}, [workspace.package]: {e}"))
}

/// `[workspace.package] repository`, without a trailing `/` or `.git`.
fn workspace_repository(doc: &toml_edit::DocumentMut) -> anyhow::Result<String> {
    let url = package_field(doc, "repository")?.trim_end_matches('/');
    Ok(url.strip_suffix(".git").unwrap_or(url).to_owned())
}

/// Sets a string value, keeping the spaces and comment around it.
fn set_string(value: &mut toml_edit::Value, new: String) {
    let decor = value.decor().clone();
    *value = new.into();
    *value.decor_mut() = decor;
}

/// The root manifest with `[workspace.package] version` set to `to`, and every internal pin
/// (`name = { path = "…", version = "=FROM" }` in `[workspace.dependencies]`) set to `=TO`;
/// the rest as it was, comments and layout included. Refuses a path dependency without a
/// version or pinned to another version.
fn bump_manifest(
    mut doc: toml_edit::DocumentMut,
    from: Version,
    to: Version,
) -> anyhow::Result<String> {
    let version = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("package"))
        .and_then(|p| p.get_mut("version"))
        .and_then(toml_edit::Item::as_value_mut)
        .ok_or_else(|| anyhow::format_err!("{MANIFEST} has no version in [workspace.package]"))?;
    set_string(version, to.to_string());

    let deps = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(toml_edit::Item::as_table_like_mut);
    let mut pins = 0;
    for (name, dep) in deps.into_iter().flat_map(|deps| deps.iter_mut()) {
        let Some(dep) = dep.as_table_like_mut().filter(|dep| dep.contains_key("path")) else {
            continue;
        };
        let at = format!("{MANIFEST}, [workspace.dependencies] {}", name.get());
        let pin =
            dep.get_mut("version").and_then(toml_edit::Item::as_value_mut).ok_or_else(|| {
                anyhow::format_err!(
                    "{at}: the internal dependency has no version: pin it as version = \"={from}\""
                )
            })?;
        let expected = format!("={from}");
        if pin.as_str() != Some(expected.as_str()) {
            anyhow::bail!(
                "{at}: pinned to {}, not \"{expected}\": the internal crates go in lockstep, \
                 fix the pin first",
                pin.to_string().trim()
            );
        }
        set_string(pin, format!("={to}"));
        pins += 1;
    }
    if pins == 0 {
        anyhow::bail!(
            "{MANIFEST}: no internal crate pinned in [workspace.dependencies] \
             (name = {{ path = \"…\", version = \"={from}\" }})"
        );
    }
    Ok(doc.to_string())
}

/// A changelog heading's version: `## [X.Y.Z] …` gives X.Y.Z.
fn section_version(line: &str) -> Option<Version> {
    let rest = line.strip_prefix("## [")?;
    rest.split(']').next()?.parse().ok()
}

/// A link reference definition (`[label]: url`) at the start of a line.
fn is_link_reference(line: &str) -> bool {
    line.starts_with('[') && line.find("]: ").is_some_and(|end| end > 1)
}

/// CHANGELOG.md with the `## [Unreleased]` section moved under `## [VERSION] - DATE`, a new
/// empty `## [Unreleased]` above it, and the link references updated (see the help). Refuses
/// an empty Unreleased section or a version that already has a section.
fn release_changelog(
    text: &str,
    version: Version,
    date: Date,
    repository: &str,
) -> anyhow::Result<String> {
    let lines: Vec<&str> = text.lines().collect();
    let unreleased =
        lines.iter().position(|l| l.trim_end() == "## [Unreleased]").ok_or_else(|| {
            anyhow::format_err!("{CHANGELOG} has no `## [Unreleased]` heading to release")
        })?;
    if lines.iter().any(|l| section_version(l) == Some(version)) {
        anyhow::bail!("{CHANGELOG} already has a section for {version}");
    }
    let end = (unreleased + 1..lines.len())
        .find(|&i| lines[i].starts_with("## ") || is_link_reference(lines[i]))
        .unwrap_or(lines.len());
    if lines[unreleased + 1..end].iter().all(|l| l.trim().is_empty()) {
        anyhow::bail!(
            "{CHANGELOG}'s Unreleased section is empty: list the changes of {version} under \
             `## [Unreleased]` first"
        );
    }
    let previous = lines[end..].iter().find_map(|l| section_version(l));

    let heading = format!("## [{version}] - {date}");
    let unreleased_link = format!("[Unreleased]: {repository}/compare/v{version}...HEAD");
    let version_link = match previous {
        Some(previous) => format!("[{version}]: {repository}/compare/v{previous}...v{version}"),
        None => format!("[{version}]: {repository}/releases/tag/v{version}"),
    };

    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 4);
    out.extend(lines[..=unreleased].iter().map(|l| (*l).to_owned()));
    out.push(String::new());
    out.push(heading);
    let mut linked = false;
    for line in &lines[unreleased + 1..] {
        if line.starts_with("[Unreleased]:") && !linked {
            out.push(unreleased_link.clone());
            out.push(version_link.clone());
            linked = true;
        } else {
            out.push((*line).to_owned());
        }
    }
    if !linked {
        if out.last().is_some_and(|l| !l.trim().is_empty() && !is_link_reference(l)) {
            out.push(String::new());
        }
        out.push(unreleased_link);
        out.push(version_link);
    }
    let mut new = out.join("\n");
    new.push('\n');
    Ok(new)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const MANIFEST_TEXT: &str = r#"[workspace]
resolver = "3"
members = [
    "crates/hub-url",
]

[workspace.package]
version = "0.1.0" # lockstep
edition = "2024"
repository = "https://github.com/hub-rs/hub"

[workspace.dependencies]
# Internal crates, pinned in lockstep.
hub-url = { path = "crates/hub-url", version = "=0.1.0" }
hub-cache = { version = "=0.1.0", path = "crates/hub-cache" }

# External crates.
serde = { version = "1", features = ["derive"] }
anyhow = "1"

[workspace.dependencies.hub-api]
path = "crates/hub-api"
version = "=0.1.0"  # a table of its own

[profile.release]
debug = "line-tables-only"
"#;

    const CHANGELOG_TEXT: &str = "# Changelog

Intro.

## [Unreleased]

### Added

- A thing.

[Unreleased]: https://github.com/hub-rs/hub/commits/main
";

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn bump(text: &str) -> anyhow::Result<String> {
        bump_manifest(parse_manifest(text)?, v("0.1.0"), v("0.2.0"))
    }

    #[test]
    fn parses_and_bumps_versions() {
        assert_eq!(v("0.1.0"), Version { major: 0, minor: 1, patch: 0 });
        assert_eq!(v("0.1.9").bump(Bump::Patch).unwrap(), v("0.1.10"));
        assert_eq!(v("0.1.9").bump(Bump::Minor).unwrap(), v("0.2.0"));
        assert_eq!(v("0.9.9").bump(Bump::Major).unwrap(), v("1.0.0"));
        assert_eq!(v("1.2.3").to_string(), "1.2.3");
        for bad in ["1.2", "1.2.3.4", "1.2.x", "01.2.3", "1.2.3-rc.1", "", "1..3", "+1.2.3"] {
            let err = bad.parse::<Version>().unwrap_err().to_string();
            assert!(err.contains("is not a version X.Y.Z"), "{bad}: {err}");
        }
        assert!(v("0.10.0") > v("0.9.9") && v("1.0.0") > v("0.99.99"));
        let max = Version { major: 0, minor: 0, patch: u64::MAX };
        assert!(max.bump(Bump::Patch).is_err());
    }

    #[test]
    fn the_next_version_must_be_greater() {
        let current = v("0.1.0");
        assert_eq!(current.next(Target::Bump(Bump::Minor)).unwrap(), v("0.2.0"));
        assert_eq!(current.next(Target::Exact(v("0.1.1"))).unwrap(), v("0.1.1"));
        for not_greater in ["0.1.0", "0.0.9"] {
            let err = current.next(Target::Exact(v(not_greater))).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("--version {not_greater} is not greater than the current version 0.1.0")
            );
        }
    }

    #[test]
    fn parses_and_prints_dates() {
        assert_eq!(d("2026-01-02"), Date::new(2026, 1, 2).unwrap());
        assert_eq!(d("2026-01-02").to_string(), "2026-01-02");
        assert_eq!(d("2024-02-29").day(), 29);
        assert_eq!(d("2000-02-29").day(), 29);
        for bad in ["2026-1-02", "26-01-02", "2026/01/02", "2026-01-02x", "", "2026-01"] {
            let err = parse_date(bad).unwrap_err().to_string();
            assert!(err.contains("is not a date YYYY-MM-DD"), "{bad}: {err}");
        }
        for bad in ["2026-13-01", "2026-00-10", "2026-02-29", "2100-02-29", "2026-04-31"] {
            let err = parse_date(bad).unwrap_err().to_string();
            assert!(err.contains("is not a day of the calendar"), "{bad}: {err}");
        }
        assert!(today_utc().unwrap().year() >= 2026);
    }

    #[test]
    fn parses_the_command_line() {
        let parsed =
            Options::parse(&args(&["--bump", "minor", "--dry-run", "--date", "2026-01-02"]));
        assert_eq!(
            parsed.unwrap(),
            Some(Options {
                target: Target::Bump(Bump::Minor),
                date: Some(d("2026-01-02")),
                dry_run: true
            })
        );
        let parsed = Options::parse(&args(&["--version=1.0.0"])).unwrap().unwrap();
        assert_eq!(parsed.target, Target::Exact(v("1.0.0")));
        assert!(!parsed.dry_run && parsed.date.is_none());
        assert_eq!(Options::parse(&args(&["--help"])).unwrap(), None);

        let err = |list: &[&str]| Options::parse(&args(list)).unwrap_err().to_string();
        assert_eq!(err(&["--bump", "huge"]), "--bump takes patch, minor or major, not 'huge'");
        assert!(err(&["--bump"]).starts_with("--bump needs a value (patch, minor or major)"));
        assert!(err(&[]).starts_with("say which version"));
        assert!(err(&["--dry-run"]).starts_with("say which version"));
        assert_eq!(
            err(&["--bump", "minor", "--version", "1.0.0"]),
            "give one of --bump and --version, once"
        );
        assert!(err(&["--bump", "minor", "--yes"]).starts_with("unexpected argument '--yes'"));
        assert!(err(&["--version", "1.0"]).contains("is not a version"));
        assert!(err(&["--bump", "patch", "--date", "tomorrow"]).contains("is not a date"));
    }

    #[test]
    fn bumps_the_manifest_keeping_its_layout() {
        let doc = parse_manifest(MANIFEST_TEXT).unwrap();
        assert_eq!(workspace_version(&doc).unwrap(), v("0.1.0"));
        assert_eq!(workspace_repository(&doc).unwrap(), "https://github.com/hub-rs/hub");
        let new = bump(MANIFEST_TEXT).unwrap();
        // Every pin, inline or in a table of its own; the comments and spaces as they were.
        let expected = MANIFEST_TEXT
            .replace("version = \"0.1.0\" # lockstep", "version = \"0.2.0\" # lockstep")
            .replace("version = \"=0.1.0\"", "version = \"=0.2.0\"");
        assert_eq!(new, expected);
        assert_eq!(expected.matches("=0.2.0").count(), 3);
        assert_eq!(workspace_version(&parse_manifest(&new).unwrap()).unwrap(), v("0.2.0"));
    }

    #[test]
    fn refuses_manifests_out_of_lockstep() {
        let err = |text: &str| bump(text).unwrap_err().to_string();
        let drifted = MANIFEST_TEXT.replacen("\"=0.1.0\"", "\"=0.0.9\"", 1);
        assert_eq!(
            err(&drifted),
            "Cargo.toml, [workspace.dependencies] hub-url: pinned to \"=0.0.9\", not \"=0.1.0\": \
             the internal crates go in lockstep, fix the pin first"
        );
        let unpinned = MANIFEST_TEXT.replace(", version = \"=0.1.0\" }", " }");
        assert!(
            err(&unpinned).starts_with(
                "Cargo.toml, [workspace.dependencies] hub-url: the internal dependency has no \
                 version"
            ),
            "{}",
            err(&unpinned)
        );
        let no_pins: String = MANIFEST_TEXT
            .lines()
            .filter(|l| !l.contains("path =") && !l.contains("hub-api") && !l.contains("table"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(err(&no_pins).starts_with("Cargo.toml: no internal crate pinned"));
        let no_version = MANIFEST_TEXT.replace("version = \"0.1.0\" # lockstep\n", "");
        let no_version = parse_manifest(&no_version).unwrap();
        let message = workspace_version(&no_version).unwrap_err().to_string();
        assert_eq!(message, "Cargo.toml has no `version = \"…\"` in [workspace.package]");
        assert!(parse_manifest("[workspace\n").unwrap_err().to_string().contains("not valid TOML"));
    }

    #[test]
    fn moves_the_unreleased_section() {
        let repo = "https://github.com/hub-rs/hub";
        let new = release_changelog(CHANGELOG_TEXT, v("0.2.0"), d("2026-01-02"), repo).unwrap();
        assert_eq!(
            new,
            "# Changelog

Intro.

## [Unreleased]

## [0.2.0] - 2026-01-02

### Added

- A thing.

[Unreleased]: https://github.com/hub-rs/hub/compare/v0.2.0...HEAD
[0.2.0]: https://github.com/hub-rs/hub/releases/tag/v0.2.0
"
        );
        // The next release: the Unreleased section is empty until something is written in it.
        let err = release_changelog(&new, v("0.3.0"), d("2026-02-01"), repo).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CHANGELOG.md's Unreleased section is empty: list the changes of 0.3.0 under \
             `## [Unreleased]` first"
        );
        let with_fix =
            new.replace("## [Unreleased]\n", "## [Unreleased]\n\n### Fixed\n\n- A bug.\n");
        let next = release_changelog(&with_fix, v("0.3.0"), d("2026-02-01"), repo).unwrap();
        assert!(next.contains(
            "## [Unreleased]\n\n## [0.3.0] - 2026-02-01\n\n### Fixed\n\n- A bug.\n\n## [0.2.0] - 2026-01-02\n"
        ));
        assert!(next.ends_with(
            "[Unreleased]: https://github.com/hub-rs/hub/compare/v0.3.0...HEAD
[0.3.0]: https://github.com/hub-rs/hub/compare/v0.2.0...v0.3.0
[0.2.0]: https://github.com/hub-rs/hub/releases/tag/v0.2.0
"
        ));
        let again = release_changelog(&with_fix, v("0.2.0"), d("2026-02-01"), repo).unwrap_err();
        assert_eq!(again.to_string(), "CHANGELOG.md already has a section for 0.2.0");
    }

    #[test]
    fn adds_missing_link_references_and_refuses_a_missing_section() {
        let repo = "https://example.org/r";
        let text = "# Changelog\n\n## [Unreleased]\n\n- A thing.\n";
        let new = release_changelog(text, v("1.0.0"), d("2026-01-02"), repo).unwrap();
        assert_eq!(
            new,
            "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2026-01-02\n\n- A thing.\n\n\
             [Unreleased]: https://example.org/r/compare/v1.0.0...HEAD\n\
             [1.0.0]: https://example.org/r/releases/tag/v1.0.0\n"
        );
        let err =
            release_changelog("# Changelog\n", v("1.0.0"), d("2026-01-02"), repo).unwrap_err();
        assert_eq!(err.to_string(), "CHANGELOG.md has no `## [Unreleased]` heading to release");
        let blank = "## [Unreleased]\n\n   \n[Unreleased]: x\n";
        assert!(release_changelog(blank, v("1.0.0"), d("2026-01-02"), repo).is_err());
    }

    #[test]
    fn plans_and_writes_a_release() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join(MANIFEST), MANIFEST_TEXT).unwrap();
        fs::write(root.join(CHANGELOG), CHANGELOG_TEXT).unwrap();
        let plan = Plan::new(root, Target::Bump(Bump::Minor), d("2026-01-02")).unwrap();
        assert_eq!((plan.from, plan.to), (v("0.1.0"), v("0.2.0")));
        plan.write(root).unwrap();

        let manifest = fs::read_to_string(root.join(MANIFEST)).unwrap();
        assert_eq!(manifest.matches("version = \"=0.2.0\"").count(), 3);
        assert!(!manifest.contains("0.1.0"));
        let changelog = fs::read_to_string(root.join(CHANGELOG)).unwrap();
        assert!(changelog.contains("## [Unreleased]\n\n## [0.2.0] - 2026-01-02\n\n### Added\n"));
        let names: Vec<_> = fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temp file left: {names:?}");

        // Released once, the same plan is refused: the Unreleased section is empty now.
        let err = Plan::new(root, Target::Bump(Bump::Minor), d("2026-01-02")).unwrap_err();
        assert!(err.to_string().contains("Unreleased section is empty"), "{err}");
        let err = Plan::new(root, Target::Exact(v("0.2.0")), d("2026-01-02")).unwrap_err();
        assert!(err.to_string().contains("is not greater than the current version 0.2.0"));
    }

    /// A git repository holding a workspace of one crate, its lock file and its CHANGELOG.
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let manifest = MANIFEST_TEXT
            .replace("[workspace.dependencies.hub-api]\n", "")
            .replace("path = \"crates/hub-api\"\nversion = \"=0.1.0\"  # a table of its own\n", "")
            .replace("hub-cache = { version = \"=0.1.0\", path = \"crates/hub-cache\" }\n", "");
        fs::write(root.join(MANIFEST), manifest).unwrap();
        fs::write(root.join(CHANGELOG), CHANGELOG_TEXT).unwrap();
        fs::create_dir_all(root.join("crates/hub-url/src")).unwrap();
        fs::write(
            root.join("crates/hub-url/Cargo.toml"),
            "[package]\nname = \"hub-url\"\nversion.workspace = true\nedition.workspace = true\n",
        )
        .unwrap();
        fs::write(root.join("crates/hub-url/src/lib.rs"), "").unwrap();
        exec(cargo().current_dir(root).args(["generate-lockfile", "--offline"])).unwrap();
        let git = |args: &[&str]| output(git(root).args(args)).unwrap();
        git(&["init", "--quiet"]);
        git(&["add", "."]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "-m",
            "init",
        ]);
        dir
    }

    #[test]
    fn a_dry_run_shows_the_release_as_git_diff_and_leaves_no_worktree() {
        let dir = repository();
        let root = dir.path();
        ensure_clean(root).unwrap();
        let plan = Plan::new(root, Target::Bump(Bump::Minor), d("2026-01-02")).unwrap();
        let shown = dry_run(root, &plan).unwrap();
        for change in [
            "--- a/CHANGELOG.md\n+++ b/CHANGELOG.md\n",
            "+## [0.2.0] - 2026-01-02\n",
            "--- a/Cargo.lock\n+++ b/Cargo.lock\n",
            " name = \"hub-url\"\n-version = \"0.1.0\"\n+version = \"0.2.0\"\n",
            "--- a/Cargo.toml\n+++ b/Cargo.toml\n",
            "-version = \"0.1.0\" # lockstep\n+version = \"0.2.0\" # lockstep\n",
            "+hub-url = { path = \"crates/hub-url\", version = \"=0.2.0\" }\n",
        ] {
            assert!(shown.contains(change), "{change:?} not in:\n{shown}");
        }
        // Nothing is written here, and the worktree is gone.
        ensure_clean(root).unwrap();
        let worktrees = output(git(root).args(["worktree", "list", "--porcelain"])).unwrap();
        assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");

        // A failure on the way removes it too.
        let broken = Plan { manifest: "[workspace\n".to_owned(), ..plan };
        assert!(dry_run(root, &broken).is_err());
        let worktrees = output(git(root).args(["worktree", "list", "--porcelain"])).unwrap();
        assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");
        ensure_clean(root).unwrap();
    }
}
