//! `hub-cli scan-cache`: what the local cache holds, as the Python `huggingface-cli scan-cache`
//! shows it (a table of repos, or of revisions with `-v`), or as JSON with `--json`.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hub_cache::{CacheDir, CacheInfo, CachedRepo, CachedRevision};
use serde::Serialize;

use crate::format;

/// Where the cache is: `--dir`, else the environment (`HF_HUB_CACHE`, `HF_HOME`, …).
pub(crate) fn cache_dir(dir: Option<PathBuf>) -> anyhow::Result<CacheDir> {
    Ok(match dir {
        Some(dir) => CacheDir::new(dir),
        None => CacheDir::from_env()?,
    })
}

pub(crate) fn run(dir: Option<PathBuf>, verbose: u8, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let info = cache_dir(dir)?.scan()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&JsonCache::from(&info))?);
        return Ok(());
    }
    let now = SystemTime::now();
    if verbose == 0 {
        outln!("{}", repo_table(&info, now));
    } else {
        outln!("{}", revision_table(&info, now));
    }
    summary(&info, started, verbose);
    Ok(())
}

/// The lines under the table: time, totals, incomplete downloads, warnings.
pub(crate) fn summary(info: &CacheInfo, started: Instant, verbose: u8) {
    outln!(
        "\nDone in {:.1}s. Scanned {} repo(s) for a total of {}.",
        started.elapsed().as_secs_f64(),
        info.repos.len(),
        format::size(info.size_on_disk)
    );
    if !info.incomplete_files.is_empty() {
        outln!("Found {} incomplete download(s).", info.incomplete_files.len());
    }
    if !info.warnings.is_empty() {
        if verbose >= 3 {
            eprintln!("Got {} warning(s) while scanning:", info.warnings.len());
            for warning in &info.warnings {
                eprintln!("warning: {warning}");
            }
        } else {
            outln!(
                "Got {} warning(s) while scanning. Use -vvv to print details.",
                info.warnings.len()
            );
        }
    }
}

fn repo_refs(repo: &CachedRepo) -> String {
    repo.refs.keys().cloned().collect::<Vec<_>>().join(", ")
}

pub(crate) fn repo_table(info: &CacheInfo, now: SystemTime) -> String {
    let entries: Vec<Entry<'_>> = info.repos.iter().map(|r| (r, None)).collect();
    repo_table_of(&entries, now)
}

/// The table of repo rows.
pub(crate) fn repo_table_of(entries: &[Entry<'_>], now: SystemTime) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|(repo, _)| {
            vec![
                repo.repo.id().to_string(),
                repo.repo.repo_type().to_string(),
                format::size(repo.size_on_disk),
                repo.nb_files.to_string(),
                format::time_since(repo.last_accessed, now),
                format::time_since(repo.last_modified, now),
                repo_refs(repo),
                repo.path.display().to_string(),
            ]
        })
        .collect();
    format::table(
        &[
            "REPO ID",
            "REPO TYPE",
            "SIZE ON DISK",
            "NB FILES",
            "LAST_ACCESSED",
            "LAST_MODIFIED",
            "REFS",
            "LOCAL PATH",
        ],
        &rows,
        &[2, 3],
    )
}

pub(crate) fn revision_table(info: &CacheInfo, now: SystemTime) -> String {
    let entries: Vec<Entry<'_>> =
        info.repos.iter().flat_map(|r| r.revisions.iter().map(move |rev| (r, Some(rev)))).collect();
    revision_table_of(&entries, now)
}

/// The table of revision rows (rows without a revision are left out).
pub(crate) fn revision_table_of(entries: &[Entry<'_>], now: SystemTime) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .filter_map(|(repo, rev)| rev.map(|rev| (repo, rev)))
        .map(|(repo, rev)| {
            vec![
                repo.repo.id().to_string(),
                repo.repo.repo_type().to_string(),
                rev.commit_hash.clone(),
                format::size(rev.size_on_disk),
                rev.files.len().to_string(),
                format::time_since(rev.last_modified, now),
                rev.refs.iter().cloned().collect::<Vec<_>>().join(", "),
                rev.snapshot_path.display().to_string(),
            ]
        })
        .collect();
    format::table(
        &[
            "REPO ID",
            "REPO TYPE",
            "REVISION",
            "SIZE ON DISK",
            "NB FILES",
            "LAST_MODIFIED",
            "REFS",
            "LOCAL PATH",
        ],
        &rows,
        &[3, 4],
    )
}

/// The `--json` document. Field names are part of the interface: add, never rename.
#[derive(Debug, Serialize)]
struct JsonCache {
    cache_dir: String,
    size_on_disk: u64,
    repos: Vec<JsonRepo>,
    incomplete_files: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonRepo {
    repo_id: String,
    repo_type: String,
    path: String,
    size_on_disk: u64,
    nb_files: usize,
    /// Seconds since the Unix epoch.
    last_accessed: Option<u64>,
    /// Seconds since the Unix epoch.
    last_modified: Option<u64>,
    /// Ref name → commit hash.
    refs: std::collections::BTreeMap<String, String>,
    revisions: Vec<JsonRevision>,
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonRevision {
    commit_hash: String,
    path: String,
    refs: Vec<String>,
    size_on_disk: u64,
    nb_files: usize,
    last_modified: Option<u64>,
    /// Seconds since the Unix epoch: the latest access of its blobs.
    last_accessed: Option<u64>,
    files: Vec<JsonFile>,
}

#[derive(Debug, Serialize)]
struct JsonFile {
    file_name: String,
    blob_path: String,
    size_on_disk: u64,
}

fn epoch_secs(time: Option<SystemTime>) -> Option<u64> {
    time.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs())
}

impl From<&CacheInfo> for JsonCache {
    fn from(info: &CacheInfo) -> JsonCache {
        JsonCache {
            cache_dir: info.cache_dir.display().to_string(),
            size_on_disk: info.size_on_disk,
            repos: info.repos.iter().map(JsonRepo::from).collect(),
            incomplete_files: info
                .incomplete_files
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            warnings: info.warnings.clone(),
        }
    }
}

impl From<&CachedRepo> for JsonRepo {
    fn from(repo: &CachedRepo) -> JsonRepo {
        JsonRepo {
            repo_id: repo.repo.id().to_string(),
            repo_type: repo.repo.repo_type().to_string(),
            path: repo.path.display().to_string(),
            size_on_disk: repo.size_on_disk,
            nb_files: repo.nb_files,
            last_accessed: epoch_secs(repo.last_accessed),
            last_modified: epoch_secs(repo.last_modified),
            refs: repo.refs.clone(),
            revisions: repo.revisions.iter().map(JsonRevision::from).collect(),
        }
    }
}

impl From<&CachedRevision> for JsonRevision {
    fn from(rev: &CachedRevision) -> JsonRevision {
        JsonRevision {
            commit_hash: rev.commit_hash.clone(),
            path: rev.snapshot_path.display().to_string(),
            refs: rev.refs.iter().cloned().collect(),
            size_on_disk: rev.size_on_disk,
            nb_files: rev.files.len(),
            last_modified: epoch_secs(rev.last_modified),
            last_accessed: epoch_secs(rev.last_accessed),
            files: rev
                .files
                .iter()
                .map(|f| JsonFile {
                    file_name: f.file_name.clone(),
                    blob_path: f.blob_path.display().to_string(),
                    size_on_disk: f.size_on_disk,
                })
                .collect(),
        }
    }
}

/// One row of `cache ls`: a repo, or one of its revisions (`--revisions`).
pub(crate) type Entry<'a> = (&'a CachedRepo, Option<&'a CachedRevision>);

/// A `--filter` of `cache ls`, as the Python `hf cache ls --filter` reads it:
/// `KEY OP VALUE` with KEY one of `size`, `accessed`, `modified`, `type`, `refs` and OP one of
/// `=`, `!=`, `>`, `<`, `>=`, `<=`. Sizes take decimal units (`1GB`, `500M`, `10k`), ages take
/// `s`, `m`, `h`, `d`, `w`, `mo`, `y` (`accessed>30d`: not accessed for more than 30 days);
/// `type` and `refs` take only `=`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter {
    key: FilterKey,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
enum FilterKey {
    Size(u64),
    Accessed(u64),
    Modified(u64),
    Type(String),
    Refs(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    fn holds(self, left: u64, right: u64) -> bool {
        match self {
            Op::Eq => left == right,
            Op::Ne => left != right,
            Op::Gt => left > right,
            Op::Lt => left < right,
            Op::Ge => left >= right,
            Op::Le => left <= right,
        }
    }
}

const SIZE_UNITS: &[(&str, u64)] = &[
    ("k", 1_000),
    ("kb", 1_000),
    ("m", 1_000_000),
    ("mb", 1_000_000),
    ("g", 1_000_000_000),
    ("gb", 1_000_000_000),
    ("t", 1_000_000_000_000),
    ("tb", 1_000_000_000_000),
    ("p", 1_000_000_000_000_000),
    ("pb", 1_000_000_000_000_000),
];

const TIME_UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("m", 60),
    ("h", 3_600),
    ("d", 86_400),
    ("w", 7 * 86_400),
    ("mo", 30 * 86_400),
    ("y", 365 * 86_400),
];

/// A number with an optional unit (`10`, `10GB`, `30d`), as the Python CLI parses them.
fn with_unit(value: &str, units: &[(&str, u64)], what: &str) -> Result<u64, String> {
    let value = value.trim();
    if let Ok(n) = value.parse::<u64>() {
        return Ok(n);
    }
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = value.split_at(digits);
    let known = || units.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ");
    if number.is_empty() || unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!(
            "invalid {what} '{value}': expected a number and a unit ({})",
            known()
        ));
    }
    let unit = unit.to_ascii_lowercase();
    let Some((_, factor)) = units.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("unknown unit '{unit}' in '{value}': expected one of {}", known()));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(*factor))
        .ok_or_else(|| format!("{what} '{value}' is too large"))
}

/// A duration such as `30d`, `12h` or `3600` (seconds), as `--older-than` and the age filters
/// take it.
pub(crate) fn parse_duration(value: &str) -> Result<std::time::Duration, String> {
    with_unit(value, TIME_UNITS, "duration").map(std::time::Duration::from_secs)
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(expr: &str) -> Result<Filter, String> {
        let expr = expr.trim();
        let key_len = expr.bytes().take_while(|b| b.is_ascii_alphabetic() || *b == b'_').count();
        let (key, rest) = expr.split_at(key_len);
        let rest = rest.trim_start();
        let ops = [
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("=", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let Some((op_text, op)) = ops.iter().find(|(text, _)| rest.starts_with(text)) else {
            return Err(format!(
                "invalid filter '{expr}': expected KEY OP VALUE, such as size>1GB, accessed>30d or type=model"
            ));
        };
        let value = rest[op_text.len()..].trim();
        if key.is_empty() || value.is_empty() || value.starts_with('=') {
            return Err(format!(
                "invalid filter '{expr}': expected KEY OP VALUE, such as size>1GB, accessed>30d or type=model"
            ));
        }
        let only_eq = |name: &str| {
            if *op == Op::Eq {
                Ok(())
            } else {
                Err(format!("invalid filter '{expr}': '{name}' takes only '='"))
            }
        };
        let key = match key.to_ascii_lowercase().as_str() {
            "size" => FilterKey::Size(with_unit(value, SIZE_UNITS, "size")?),
            "accessed" => FilterKey::Accessed(with_unit(value, TIME_UNITS, "duration")?),
            "modified" => FilterKey::Modified(with_unit(value, TIME_UNITS, "duration")?),
            "type" => {
                only_eq("type")?;
                FilterKey::Type(value.to_ascii_lowercase())
            }
            "refs" => {
                only_eq("refs")?;
                FilterKey::Refs(value.to_ascii_lowercase())
            }
            other => {
                return Err(format!(
                    "invalid filter '{expr}': unknown key '{other}'; expected size, accessed, modified, type or refs"
                ));
            }
        };
        Ok(Filter { key, op: *op })
    }
}

fn age(time: Option<SystemTime>, now: SystemTime) -> Option<u64> {
    time.map(|t| now.duration_since(t).map_or(0, |d| d.as_secs()))
}

impl Filter {
    /// Whether the row passes. Ages are counted from `now`; a revision row uses the
    /// revision's own size and times, a repo row the repo's.
    pub(crate) fn matches(&self, (repo, rev): Entry<'_>, now: SystemTime) -> bool {
        match &self.key {
            FilterKey::Size(n) => {
                self.op.holds(rev.map_or(repo.size_on_disk, |r| r.size_on_disk), *n)
            }
            FilterKey::Accessed(secs) => {
                let time = rev.map_or(repo.last_accessed, |r| r.last_accessed);
                age(time, now).is_some_and(|a| self.op.holds(a, *secs))
            }
            FilterKey::Modified(secs) => {
                let time = rev.map_or(repo.last_modified, |r| r.last_modified);
                age(time, now).is_some_and(|a| self.op.holds(a, *secs))
            }
            FilterKey::Type(t) => repo.repo.repo_type().to_string() == *t,
            FilterKey::Refs(name) => match rev {
                Some(rev) => rev.refs.iter().any(|r| r.to_ascii_lowercase() == *name),
                None => repo.refs.keys().any(|r| r.to_ascii_lowercase() == *name),
            },
        }
    }
}

/// `--sort KEY[:asc|:desc]`: `accessed`, `modified` and `size` sort newest or biggest first by
/// default, `name` alphabetically, as the Python CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sort {
    key: SortKey,
    descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Accessed,
    Modified,
    Name,
    Size,
}

impl std::str::FromStr for Sort {
    type Err = String;

    fn from_str(s: &str) -> Result<Sort, String> {
        let lower = s.trim().to_ascii_lowercase();
        let (key, order) = match lower.split_once(':') {
            Some((key, order)) => (key, Some(order)),
            None => (lower.as_str(), None),
        };
        let key = match key {
            "accessed" => SortKey::Accessed,
            "modified" => SortKey::Modified,
            "name" => SortKey::Name,
            "size" => SortKey::Size,
            _ => {
                return Err(format!(
                    "invalid sort '{s}': expected accessed, modified, name or size, with :asc or :desc"
                ));
            }
        };
        let descending = match order {
            None => key != SortKey::Name,
            Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(format!("invalid sort '{s}': the order is :asc or :desc")),
        };
        Ok(Sort { key, descending })
    }
}

impl Sort {
    /// Sorts the rows (stable: equal rows keep the cache's order).
    pub(crate) fn apply(self, entries: &mut [Entry<'_>]) {
        entries.sort_by(|a, b| {
            let ord = match self.key {
                SortKey::Name => {
                    let name = |e: &Entry<'_>| {
                        format!("{}/{}", e.0.repo.repo_type(), e.0.repo.id()).to_ascii_lowercase()
                    };
                    name(a).cmp(&name(b))
                }
                SortKey::Size => {
                    let size = |e: &Entry<'_>| e.1.map_or(e.0.size_on_disk, |r| r.size_on_disk);
                    size(a).cmp(&size(b))
                }
                SortKey::Accessed => {
                    let t = |e: &Entry<'_>| e.1.map_or(e.0.last_accessed, |r| r.last_accessed);
                    t(a).cmp(&t(b))
                }
                SortKey::Modified => {
                    let t = |e: &Entry<'_>| e.1.map_or(e.0.last_modified, |r| r.last_modified);
                    t(a).cmp(&t(b))
                }
            };
            if self.descending { ord.reverse() } else { ord }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_as_the_python_cli_reads_them() {
        let f = |s: &str| s.parse::<Filter>();
        assert_eq!(
            f("size>1GB").unwrap(),
            Filter { key: FilterKey::Size(1_000_000_000), op: Op::Gt }
        );
        assert_eq!(
            f(" size <= 500k ").unwrap(),
            Filter { key: FilterKey::Size(500_000), op: Op::Le }
        );
        assert_eq!(
            f("accessed>30d").unwrap(),
            Filter { key: FilterKey::Accessed(30 * 86_400), op: Op::Gt }
        );
        assert_eq!(
            f("modified<2mo").unwrap(),
            Filter { key: FilterKey::Modified(60 * 86_400), op: Op::Lt }
        );
        assert_eq!(f("size!=10").unwrap(), Filter { key: FilterKey::Size(10), op: Op::Ne });
        assert_eq!(
            f("type=dataset").unwrap(),
            Filter { key: FilterKey::Type("dataset".into()), op: Op::Eq }
        );
        assert_eq!(
            f("refs=main").unwrap(),
            Filter { key: FilterKey::Refs("main".into()), op: Op::Eq }
        );
        assert_eq!(
            f("type!=model").unwrap_err(),
            "invalid filter 'type!=model': 'type' takes only '='"
        );
        assert_eq!(
            f("size>1XB").unwrap_err(),
            "unknown unit 'xb' in '1XB': expected one of k, kb, m, mb, g, gb, t, tb, p, pb"
        );
        assert!(f("color=red").unwrap_err().contains("unknown key 'color'"));
        for bad in [
            "",
            "size",
            "size>",
            ">1GB",
            "size==1",
            "size~1",
            "accessed>d",
            "size>99999999999999999999GB",
        ] {
            assert!(f(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn sorts_and_durations() {
        assert_eq!("size".parse::<Sort>().unwrap(), Sort { key: SortKey::Size, descending: true });
        assert_eq!("name".parse::<Sort>().unwrap(), Sort { key: SortKey::Name, descending: false });
        assert_eq!(
            "Modified:ASC".parse::<Sort>().unwrap(),
            Sort { key: SortKey::Modified, descending: false }
        );
        assert!("size:up".parse::<Sort>().is_err());
        assert_eq!(parse_duration("12h").unwrap().as_secs(), 12 * 3600);
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert!(parse_duration("soon").is_err());
    }
}
