//! `cargo xtask release`: bump the lockstep version, date the CHANGELOG, run the tests, print
//! the tag to create.
//!
//! The edits are pure text transforms of the files as they are (no TOML library, so comments
//! and layout stay): [`bump_manifest`] for the root `Cargo.toml`, [`release_changelog`] for
//! `CHANGELOG.md` and [`bump_lock`] for the dry run's forecast of `Cargo.lock` (the real run
//! lets cargo rewrite it). Every change is shown as a zero-context unified diff
//! ([`diff_lines`]), so `--dry-run` shows exactly what a real run writes.

use std::fmt;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::{cargo, exec, output, project_root, read_text, say, step, write_atomically};

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
  4. refreshes Cargo.lock (cargo update --workspace --offline);
  5. runs every test (cargo xtask test);
  6. prints the tag to create and the git commands to commit and tag: it runs none of them.

Options:
  --bump patch|minor|major  X.Y.(Z+1), X.(Y+1).0 or (X+1).0.0 from the current version
  --version X.Y.Z           this version, which must be greater than the current one
  --date YYYY-MM-DD         the release date (default: today in UTC)
  --dry-run                 show every change as a diff; write nothing, run no tests
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
        None => Date::today_utc()?,
    };
    let root = project_root();
    ensure_clean(&root)?;
    let plan = Plan::new(&root, options.target, date)?;

    let mode = if options.dry_run { ", dry run: nothing is written" } else { "" };
    step(&format!("release {} -> {} ({date}){mode}", plan.from, plan.to));
    // A real run shows Cargo.lock as cargo rewrites it, below; a dry run, the forecast.
    for edit in plan.edits.iter().filter(|e| options.dry_run || e.path != LOCK) {
        say(&render_diff(edit.path, &edit.old, &edit.new));
    }
    let tag = format!("v{}", plan.to);
    if options.dry_run {
        say(&format!(
            "{LOCK}: the lines above are a forecast; a real run has cargo write it \
             (cargo update --workspace --offline)"
        ));
        say("would run: cargo update --workspace --offline");
        say("would run the tests: cargo xtask test");
        say(&format!("the tag to create: {tag}, once a real run has passed the tests"));
        say(&next_steps(&plan.to));
        return Ok(());
    }

    step(&format!("writing {MANIFEST} and {CHANGELOG}"));
    plan.write(&root)?;

    step(&format!("refreshing {LOCK}"));
    let lock_before = read_text(&root.join(LOCK))?;
    exec(cargo().args(["update", "--workspace", "--offline"])).map_err(|e| {
        anyhow::format_err!(
            "{e}; {MANIFEST} and {CHANGELOG} are written: fix it and run `cargo update \
             --workspace`, or undo with `git checkout -- {MANIFEST} {CHANGELOG} {LOCK}`"
        )
    })?;
    let lock_after = read_text(&root.join(LOCK))?;
    say(&render_diff(LOCK, &lock_before, &lock_after));

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

/// Refuses a working tree with changes or untracked files: the release commit must hold
/// exactly what was tested.
fn ensure_clean(root: &Path) -> anyhow::Result<()> {
    let status = output(Command::new("git").args(["status", "--porcelain"]).current_dir(root))
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
                "--date" => date = Some(value("YYYY-MM-DD")?.parse()?),
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

/// A day of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Date {
    year: i64,
    month: u32,
    day: u32,
}

impl Date {
    /// Today in UTC, from the system clock.
    fn today_utc() -> anyhow::Result<Date> {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| anyhow::format_err!("the system clock is before 1970: give --date"))?;
        let days = i64::try_from(since_epoch.as_secs() / 86_400)
            .map_err(|_| anyhow::format_err!("the system clock is out of range: give --date"))?;
        Ok(Date::from_days(days))
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097); // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
        let mp = (5 * doy + 2) / 153; // [0, 11], from March
        let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
        let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
        let year = yoe + era * 400 + i64::from(month <= 2);
        // Both are in range by construction.
        Date { year, month: month as u32, day: day as u32 }
    }

    /// Days from 1970-01-01 (Howard Hinnant's `days_from_civil`): the inverse of [`Self::from_days`].
    #[cfg(test)]
    fn to_days(self) -> i64 {
        let year = self.year - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let month = i64::from(self.month);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn days_in_month(year: i64, month: u32) -> u32 {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }
}

impl FromStr for Date {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Date> {
        let bad = || anyhow::format_err!("'{s}' is not a date YYYY-MM-DD");
        let parts: Vec<&str> = s.split('-').collect();
        let [year, month, day] = parts[..] else {
            return Err(bad());
        };
        let number = |part: &str, len: usize| {
            if part.len() == len && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse::<u32>().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let (year, month, day) = (i64::from(number(year, 4)?), number(month, 2)?, number(day, 2)?);
        if !(1..=12).contains(&month) || day == 0 || day > Date::days_in_month(year, month) {
            anyhow::bail!("'{s}' is not a day of the calendar");
        }
        Ok(Date { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The whole release, computed before anything is written.
#[derive(Debug)]
struct Plan {
    from: Version,
    to: Version,
    /// Cargo.toml and CHANGELOG.md (written), then Cargo.lock (a forecast, never written).
    edits: Vec<Edit>,
}

/// A file's text before and after.
#[derive(Debug)]
struct Edit {
    path: &'static str,
    old: String,
    new: String,
}

impl Plan {
    fn new(root: &Path, target: Target, date: Date) -> anyhow::Result<Plan> {
        let manifest = read_text(&root.join(MANIFEST))?;
        let changelog = read_text(&root.join(CHANGELOG))?;
        let lock = read_text(&root.join(LOCK))?;
        let from = workspace_version(&manifest)?;
        let to = from.next(target)?;
        let repository = workspace_repository(&manifest)?;
        let new_manifest = bump_manifest(&manifest, from, to)?;
        let new_changelog = release_changelog(&changelog, to, date, &repository)?;
        let new_lock = bump_lock(&lock, from, to);
        Ok(Plan {
            from,
            to,
            edits: vec![
                Edit { path: MANIFEST, old: manifest, new: new_manifest },
                Edit { path: CHANGELOG, old: changelog, new: new_changelog },
                Edit { path: LOCK, old: lock, new: new_lock },
            ],
        })
    }

    /// Writes Cargo.toml and CHANGELOG.md (cargo writes Cargo.lock).
    fn write(&self, root: &Path) -> anyhow::Result<()> {
        for edit in self.edits.iter().filter(|e| e.path != LOCK) {
            write_atomically(&root.join(edit.path), edit.new.as_bytes())?;
            say(&format!("wrote {}", edit.path));
        }
        Ok(())
    }
}

/// The TOML table a line opens (`[a.b]` or `[[a]]`), if it is a table header.
fn table_header(line: &str) -> Option<&str> {
    let line = line.split('#').next().unwrap_or("").trim();
    let inner = line
        .strip_prefix("[[")
        .and_then(|l| l.strip_suffix("]]"))
        .or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')))?;
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | ' ');
    (!inner.is_empty() && inner.chars().all(is_name)).then(|| inner.trim())
}

/// The byte range of the quoted string value of `key` on a TOML line (`key = "value"`, also
/// inside an inline table), without the quotes.
fn string_field(line: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(found) = line[from..].find(key) {
        let start = from + found;
        let end = start + key.len();
        from = end;
        let before = line[..start].chars().next_back();
        if before.is_some_and(|c| !matches!(c, ' ' | '\t' | '{' | ',')) {
            continue;
        }
        let rest = line[end..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else { continue };
        let rest = rest.trim_start();
        let Some(value) = rest.strip_prefix('"') else { continue };
        let value_start = line.len() - value.len();
        let value_end = value_start + value.find('"')?;
        return Some(value_start..value_end);
    }
    None
}

/// The lines of `text` with their line endings.
fn lines_with_endings(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
}

/// The string value of `key` directly in `[table]`, with its line index.
fn table_field<'a>(manifest: &'a str, table: &str, key: &str) -> Option<(usize, &'a str)> {
    let mut current = None;
    for (i, line) in manifest.lines().enumerate() {
        if let Some(header) = table_header(line) {
            current = Some(header);
            continue;
        }
        if current == Some(table)
            && line.trim_start().starts_with(key)
            && let Some(range) = string_field(line, key)
        {
            return Some((i, &line[range]));
        }
    }
    None
}

/// `[workspace.package] version` of the root manifest.
fn workspace_version(manifest: &str) -> anyhow::Result<Version> {
    let (_, version) = table_field(manifest, "workspace.package", "version").ok_or_else(|| {
        anyhow::format_err!("{MANIFEST} has no `version = \"X.Y.Z\"` in [workspace.package]")
    })?;
    version.parse().map_err(|e| anyhow::format_err!("{MANIFEST}, [workspace.package]: {e}"))
}

/// `[workspace.package] repository`, without a trailing `/` or `.git`.
fn workspace_repository(manifest: &str) -> anyhow::Result<String> {
    let (_, url) = table_field(manifest, "workspace.package", "repository").ok_or_else(|| {
        anyhow::format_err!("{MANIFEST} has no `repository = \"URL\"` in [workspace.package]")
    })?;
    let url = url.trim_end_matches('/');
    Ok(url.strip_suffix(".git").unwrap_or(url).to_owned())
}

/// The root manifest with `[workspace.package] version` set to `to`, and every internal pin
/// (`name = { path = "…", version = "=FROM" }` in `[workspace.dependencies]`) set to `=TO`.
/// Refuses a path dependency without a version or pinned to another version.
fn bump_manifest(manifest: &str, from: Version, to: Version) -> anyhow::Result<String> {
    let mut table: Option<String> = None;
    let (mut versions, mut pins) = (0, 0);
    let mut out = String::with_capacity(manifest.len() + 16);
    for (i, line) in lines_with_endings(manifest).enumerate() {
        if let Some(header) = table_header(line) {
            table = Some(header.to_owned());
            out.push_str(line);
            continue;
        }
        let key = line.split('=').next().unwrap_or("").trim();
        let replaced = match table.as_deref() {
            Some("workspace.package") if key == "version" => {
                let range = string_field(line, "version").ok_or_else(|| {
                    anyhow::format_err!("{MANIFEST}:{}: the version is not a string", i + 1)
                })?;
                versions += 1;
                Some((range, to.to_string()))
            }
            Some("workspace.dependencies") if string_field(line, "path").is_some() => {
                let pin = string_field(line, "version").ok_or_else(|| {
                    anyhow::format_err!(
                        "{MANIFEST}:{}: the internal dependency {key} has no version: pin it as \
                         version = \"={from}\"",
                        i + 1
                    )
                })?;
                if line[pin.clone()] != format!("={from}") {
                    anyhow::bail!(
                        "{MANIFEST}:{}: {key} is pinned to \"{}\", not \"={from}\": the internal \
                         crates go in lockstep, fix the pin first",
                        i + 1,
                        &line[pin]
                    );
                }
                pins += 1;
                Some((pin, format!("={to}")))
            }
            _ => None,
        };
        match replaced {
            Some((range, value)) => {
                out.push_str(&line[..range.start]);
                out.push_str(&value);
                out.push_str(&line[range.end..]);
            }
            None => out.push_str(line),
        }
    }
    if versions != 1 {
        anyhow::bail!("{MANIFEST}: expected one version in [workspace.package], found {versions}");
    }
    if pins == 0 {
        anyhow::bail!(
            "{MANIFEST}: no internal crate pinned in [workspace.dependencies] \
             (name = {{ path = \"…\", version = \"={from}\" }})"
        );
    }
    Ok(out)
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

/// Cargo.lock with the version of every local package (no `source`) at `from` set to `to`:
/// what `cargo update --workspace` writes after the bump, for the dry run to show.
fn bump_lock(lock: &str, from: Version, to: Version) -> String {
    let old_line = format!("version = \"{from}\"");
    let mut out = String::with_capacity(lock.len());
    let blocks = lock.split_inclusive('\n').fold(Vec::<Vec<&str>>::new(), |mut blocks, line| {
        match blocks.last_mut() {
            Some(block) if line.trim_end() != "[[package]]" => block.push(line),
            _ => blocks.push(vec![line]),
        }
        blocks
    });
    for block in blocks {
        let is_package = block.first().is_some_and(|l| l.trim_end() == "[[package]]");
        let local = is_package && !block.iter().any(|l| l.starts_with("source = "));
        for line in block {
            if local && line.trim_end() == old_line {
                out.push_str(&line.replacen(&from.to_string(), &to.to_string(), 1));
            } else {
                out.push_str(line);
            }
        }
    }
    out
}

/// A run of changed lines: `old` (0-based start `old_start`) became `new` (at `new_start`).
#[derive(Debug, PartialEq)]
struct Hunk {
    old_start: usize,
    old: Vec<String>,
    new_start: usize,
    new: Vec<String>,
}

/// Whether a line of the file `path` names a place, for a hunk's header: a Markdown heading,
/// a TOML table header, a lock file's `name = "…"`.
fn is_landmark(path: &str, line: &str) -> bool {
    if path.ends_with(".md") {
        line.starts_with('#')
    } else {
        table_header(line).is_some() || line.starts_with("name = ")
    }
}

/// The changed lines from `old` to `new`, as a longest-common-subsequence diff.
fn diff_lines(old: &str, new: &str) -> Vec<Hunk> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix =
        a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (a_mid, b_mid) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let (n, m) = (a_mid.len(), b_mid.len());

    // The pairs of equal lines, in order; beyond a size, the middle is one hunk.
    let mut common: Vec<(usize, usize)> = Vec::new();
    if n > 0 && m > 0 && n.saturating_mul(m) <= 16_000_000 {
        // lcs[i][j]: the LCS length of a_mid[i..] and b_mid[j..].
        let width = m + 1;
        let mut lcs = vec![0u32; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * width + j] = if a_mid[i] == b_mid[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if a_mid[i] == b_mid[j] {
                common.push((i, j));
                i += 1;
                j += 1;
            } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    common.push((n, m)); // a sentinel closing the last hunk

    let mut hunks = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (ci, cj) in common {
        if ci > i || cj > j {
            hunks.push(Hunk {
                old_start: prefix + i,
                old: a_mid[i..ci].iter().map(|l| (*l).to_owned()).collect(),
                new_start: prefix + j,
                new: b_mid[j..cj].iter().map(|l| (*l).to_owned()).collect(),
            });
        }
        (i, j) = (ci + 1, cj + 1);
    }
    hunks
}

/// A zero-context unified diff (`diff -U0`) of the file `path` from `old` to `new`, each hunk
/// header followed by the nearest landmark above, as git shows it; or a line saying it is
/// unchanged.
fn render_diff(path: &str, old: &str, new: &str) -> String {
    let hunks = diff_lines(old, new);
    if hunks.is_empty() {
        return format!("{path}: unchanged");
    }
    // diff's convention: an empty range starts at the line before it.
    let range = |start: usize, len: usize| match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    };
    let old_lines: Vec<&str> = old.lines().collect();
    let mut out = format!("--- a/{path}\n+++ b/{path}");
    for hunk in &hunks {
        out.push_str(&format!(
            "\n@@ -{} +{} @@",
            range(hunk.old_start, hunk.old.len()),
            range(hunk.new_start, hunk.new.len())
        ));
        if let Some(context) =
            old_lines[..hunk.old_start].iter().rev().find(|l| is_landmark(path, l))
        {
            out.push(' ');
            out.push_str(context);
        }
        for line in &hunk.old {
            out.push_str(&format!("\n-{line}"));
        }
        for line in &hunk.new {
            out.push_str(&format!("\n+{line}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST_TEXT: &str = r#"[workspace]
resolver = "3"
members = [
    "crates/a",
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

    const LOCK_TEXT: &str = r#"version = 4

[[package]]
name = "anyhow"
version = "0.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "hub-url"
version = "0.1.0"
dependencies = [
 "anyhow",
]

[[package]]
name = "other"
version = "0.0.3"
"#;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
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
    fn converts_days_to_dates() {
        assert_eq!(Date::from_days(0), d("1970-01-01"));
        assert_eq!(Date::from_days(-1), d("1969-12-31"));
        assert_eq!(Date::from_days(59), d("1970-03-01"));
        assert_eq!(Date::from_days(10_957), d("2000-01-01"));
        assert_eq!(Date::from_days(11_016), d("2000-02-29"));
        assert_eq!(Date::from_days(19_782), d("2024-02-29"));
        assert_eq!(Date::from_days(20_455), d("2026-01-02"));
        // 2100 is not a leap year, 2400 is.
        assert_eq!(Date::from_days(47_541), d("2100-03-01"));
        assert_eq!(d("2400-02-29").to_days() + 1, d("2400-03-01").to_days());
        // Every day for 1000 years around the epoch: a round trip, one day apart.
        let mut previous = Date::from_days(-200_000);
        for days in -200_000..200_000 {
            let date = Date::from_days(days);
            assert_eq!(date.to_days(), days, "{date}");
            assert!(date.day >= 1 && date.day <= Date::days_in_month(date.year, date.month));
            if days > -200_000 {
                let next_day = date.day == previous.day + 1 && date.month == previous.month;
                let next_month =
                    date.day == 1 && (date.month == previous.month + 1 || date.month == 1);
                assert!(next_day || next_month, "{previous} then {date}");
            }
            previous = date;
        }
        assert!(Date::today_utc().unwrap().year >= 2025);
    }

    #[test]
    fn parses_and_prints_dates() {
        assert_eq!(d("2026-01-02"), Date { year: 2026, month: 1, day: 2 });
        assert_eq!(d("2026-01-02").to_string(), "2026-01-02");
        assert_eq!(Date::from_days(-719_528).to_string(), "0000-01-01");
        for bad in ["2026-1-02", "26-01-02", "2026/01/02", "2026-01-02x", "", "2026-01"] {
            let err = bad.parse::<Date>().unwrap_err().to_string();
            assert!(err.contains("is not a date YYYY-MM-DD"), "{bad}: {err}");
        }
        for bad in ["2026-13-01", "2026-00-10", "2026-02-29", "2100-02-29", "2026-04-31"] {
            let err = bad.parse::<Date>().unwrap_err().to_string();
            assert!(err.contains("is not a day of the calendar"), "{bad}: {err}");
        }
        assert_eq!(d("2024-02-29").day, 29);
        assert_eq!(d("2000-02-29").day, 29);
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
    fn bumps_the_manifest() {
        assert_eq!(workspace_version(MANIFEST_TEXT).unwrap(), v("0.1.0"));
        assert_eq!(workspace_repository(MANIFEST_TEXT).unwrap(), "https://github.com/hub-rs/hub");
        let new = bump_manifest(MANIFEST_TEXT, v("0.1.0"), v("0.2.0")).unwrap();
        let expected = MANIFEST_TEXT
            .replace("version = \"0.1.0\" # lockstep", "version = \"0.2.0\" # lockstep")
            .replace("version = \"=0.1.0\"", "version = \"=0.2.0\"");
        assert_eq!(new, expected);
        assert_eq!(workspace_version(&new).unwrap(), v("0.2.0"));
        let hunks = diff_lines(MANIFEST_TEXT, &new);
        assert_eq!(hunks.iter().map(|h| h.old_start + 1).collect::<Vec<_>>(), [8, 14]);
        // Without a trailing newline, the text stays so.
        let trimmed = MANIFEST_TEXT.trim_end();
        assert!(!bump_manifest(trimmed, v("0.1.0"), v("0.2.0")).unwrap().ends_with('\n'));
    }

    #[test]
    fn refuses_manifests_out_of_lockstep() {
        let err = |text: &str| bump_manifest(text, v("0.1.0"), v("0.2.0")).unwrap_err().to_string();
        let drifted = MANIFEST_TEXT.replacen("\"=0.1.0\"", "\"=0.0.9\"", 1);
        assert_eq!(
            err(&drifted),
            "Cargo.toml:14: hub-url is pinned to \"=0.0.9\", not \"=0.1.0\": the internal crates \
             go in lockstep, fix the pin first"
        );
        let unpinned = MANIFEST_TEXT.replace(", version = \"=0.1.0\" }", " }");
        assert!(
            err(&unpinned)
                .starts_with("Cargo.toml:14: the internal dependency hub-url has no version")
        );
        let no_pins: String = MANIFEST_TEXT
            .lines()
            .filter(|l| !l.contains("path ="))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(err(&no_pins).starts_with("Cargo.toml: no internal crate pinned"));
        let no_version = MANIFEST_TEXT.replace("version = \"0.1.0\" # lockstep\n", "");
        assert!(
            workspace_version(&no_version).unwrap_err().to_string().contains("has no `version")
        );
        assert!(err(&no_version).starts_with("Cargo.toml: expected one version"));
    }

    #[test]
    fn finds_string_fields() {
        let line = r#"hub-url = { path = "crates/hub-url", version = "=0.1.0" }"#;
        assert_eq!(&line[string_field(line, "version").unwrap()], "=0.1.0");
        assert_eq!(&line[string_field(line, "path").unwrap()], "crates/hub-url");
        assert_eq!(string_field(r#"rust-version = "1.88""#, "version"), None);
        assert_eq!(string_field(r#"version.workspace = true"#, "version"), None);
        assert_eq!(table_header("[workspace.package] # x"), Some("workspace.package"));
        assert_eq!(table_header("[[package]]"), Some("package"));
        assert_eq!(table_header("    \"crates/a\","), None);
        assert_eq!(table_header("[]"), None);
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
    fn forecasts_the_lock_file() {
        let new = bump_lock(LOCK_TEXT, v("0.1.0"), v("0.2.0"));
        // Only the local package at the old version: not the registry's, not another version.
        assert_eq!(
            new,
            LOCK_TEXT.replace(
                "name = \"hub-url\"\nversion = \"0.1.0\"",
                "name = \"hub-url\"\nversion = \"0.2.0\""
            )
        );
        assert_eq!(diff_lines(LOCK_TEXT, &new).len(), 1);
    }

    #[test]
    fn diffs_lines() {
        assert!(diff_lines("a\nb\n", "a\nb\n").is_empty());
        assert_eq!(render_diff("f", "a\n", "a\n"), "f: unchanged");
        assert_eq!(
            render_diff("f", "a\nb\nc\nd\n", "a\nB\nc\nx\ny\nd\n"),
            "--- a/f\n+++ b/f\n@@ -2 +2 @@\n-b\n+B\n@@ -3,0 +4,2 @@\n+x\n+y"
        );
        assert_eq!(
            render_diff("f", "a\nb\nc\n", "a\n"),
            "--- a/f\n+++ b/f\n@@ -2,2 +1,0 @@\n-b\n-c"
        );
        assert_eq!(render_diff("f", "", "a\n"), "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+a");
        // Where a change is, as git shows it: the table or the lock file's package; the heading.
        let (old, new) =
            ("[t]\na = 1\nname = \"p\"\n# c\nb\n", "[t]\na = 2\nname = \"p\"\n# c\nc\n");
        assert_eq!(
            render_diff("x.toml", old, new),
            "--- a/x.toml\n+++ b/x.toml\n@@ -2 +2 @@ [t]\n-a = 1\n+a = 2\n@@ -5 +5 @@ name = \"p\"\n-b\n+c"
        );
        assert!(render_diff("x.md", old, new).ends_with("@@ -5 +5 @@ # c\n-b\n+c"));
    }

    #[test]
    fn plans_and_writes_a_release() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(MANIFEST), MANIFEST_TEXT).unwrap();
        std::fs::write(root.join(CHANGELOG), CHANGELOG_TEXT).unwrap();
        std::fs::write(root.join(LOCK), LOCK_TEXT).unwrap();
        let plan = Plan::new(root, Target::Bump(Bump::Minor), d("2026-01-02")).unwrap();
        assert_eq!((plan.from, plan.to), (v("0.1.0"), v("0.2.0")));
        plan.write(root).unwrap();

        let manifest = std::fs::read_to_string(root.join(MANIFEST)).unwrap();
        assert_eq!(workspace_version(&manifest).unwrap(), v("0.2.0"));
        assert_eq!(manifest.matches("version = \"=0.2.0\"").count(), 2);
        assert!(!manifest.contains("0.1.0"));
        let changelog = std::fs::read_to_string(root.join(CHANGELOG)).unwrap();
        assert!(changelog.contains("## [Unreleased]\n\n## [0.2.0] - 2026-01-02\n\n### Added\n"));
        // Cargo writes the lock file; the plan leaves it alone.
        assert_eq!(std::fs::read_to_string(root.join(LOCK)).unwrap(), LOCK_TEXT);
        let names: Vec<_> =
            std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 3, "no temp file left: {names:?}");

        // Released once, the same plan is refused: the Unreleased section is empty now.
        let err = Plan::new(root, Target::Bump(Bump::Minor), d("2026-01-02")).unwrap_err();
        assert!(err.to_string().contains("Unreleased section is empty"), "{err}");
        let err = Plan::new(root, Target::Exact(v("0.2.0")), d("2026-01-02")).unwrap_err();
        assert!(err.to_string().contains("is not greater than the current version 0.2.0"));
    }
}
