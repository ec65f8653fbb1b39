//! `cargo xtask publish-check`: every published crate's metadata checked, then all of them
//! packaged together and each built from its own tarball, as crates.io would get them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{
    cargo, cargo_metadata, exec, human_size, indent, output, say, shout, step, table, target_dir,
};

const HELP: &str = "\
cargo xtask publish-check [--allow-dirty]

Checks, without publishing anything, that the published crates can go to crates.io, in
dependency order: hub-url, hub-cache, hub-api, hub-lfs, hub-cli.
  1. Their metadata (cargo metadata): description, license, repository, a readme file that
     exists in the crate's folder, 1 to 5 keywords (ASCII letters, digits, -, _ or +, at most
     20 characters), 1 to 5 categories, rust-version; one version for all; normal
     dependencies on internal crates only on earlier ones, pinned to that version (=X.Y.Z);
     every other workspace crate has publish = false. Every problem is listed at once.
  2. Packages them together (cargo package --locked -p hub-url -p … -p hub-cli): cargo builds
     each crate from its own tarball, taking the internal crates it needs from the tarballs
     made before it (a local registry), as crates.io would serve them.
  3. Shows each tarball (target/package/NAME-VERSION.crate): its size and file count.

Options:
  --allow-dirty  package uncommitted changes too (refused otherwise, as cargo publish does)
";

/// The crates published to crates.io, each after the ones it depends on.
const PUBLISHED: [&str; 5] = ["hub-url", "hub-cache", "hub-api", "hub-lfs", "hub-cli"];

/// crates.io refuses a larger `.crate` file.
const MAX_CRATE_BYTES: u64 = 10 << 20;

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let mut allow_dirty = false;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => {
                say(HELP);
                return Ok(());
            }
            "--allow-dirty" => allow_dirty = true,
            other => anyhow::bail!("unexpected argument '{other}'\n\n{HELP}"),
        }
    }

    step("metadata of the published crates (cargo metadata)");
    let metadata = cargo_metadata()?;
    let problems = metadata_problems(&metadata)?;
    if !problems.is_empty() {
        for problem in &problems {
            shout(&format!("  - {problem}"));
        }
        anyhow::bail!(
            "{} problem(s) in the published crates' metadata (listed above): fix their \
             Cargo.toml or files, then run `cargo xtask publish-check` again",
            problems.len()
        );
    }
    let version = package(&metadata, PUBLISHED[0])?["version"].as_str().unwrap_or("").to_owned();
    say(&format!("{}: version {version}, metadata complete", PUBLISHED.join(", ")));

    step("packaging, each crate built from its tarball");
    let mut cmd = cargo();
    cmd.args(["package", "--locked"]);
    for krate in PUBLISHED {
        cmd.args(["-p", krate]);
    }
    if allow_dirty {
        cmd.arg("--allow-dirty");
    }
    exec(&mut cmd)?;

    step("the tarballs");
    let package_dir = target_dir(&metadata)?.join("package");
    let mut rows = vec![vec!["tarball".to_owned(), "size".to_owned(), "files".to_owned()]];
    for krate in PUBLISHED {
        let tarball = package_dir.join(format!("{krate}-{version}.crate"));
        let size = std::fs::metadata(&tarball)
            .map_err(|e| anyhow::format_err!("cannot find {}: {e}", tarball.display()))?
            .len();
        if size > MAX_CRATE_BYTES {
            anyhow::bail!(
                "{} is {}, above crates.io's limit of {}: exclude what it need not hold \
                 (`exclude` in its Cargo.toml)",
                tarball.display(),
                human_size(size),
                human_size(MAX_CRATE_BYTES)
            );
        }
        let files = tarball_files(&tarball)?;
        rows.push(vec![display_path(&tarball), human_size(size), files.len().to_string()]);
    }
    say(&indent(&table("<>>", &rows)));
    step(&format!("the {} published crates are ready to publish", PUBLISHED.len()));
    Ok(())
}

/// The package `name` in cargo metadata's `packages`.
fn package<'a>(metadata: &'a Value, name: &str) -> anyhow::Result<&'a Value> {
    metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == name))
        .ok_or_else(|| anyhow::format_err!("cargo metadata has no package {name}"))
}

/// Every problem that would stop or spoil publishing, in the published crates' order; the
/// readme files are looked for on disk.
fn metadata_problems(metadata: &Value) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let members: Vec<&Value> = metadata["packages"]
        .as_array()
        .ok_or_else(|| anyhow::format_err!("cargo metadata lists no packages"))?
        .iter()
        .collect();
    let version = package(metadata, PUBLISHED[0])?["version"].as_str().unwrap_or("");
    for (index, name) in PUBLISHED.iter().enumerate() {
        let Ok(krate) = package(metadata, name) else {
            problems.push(format!("{name}: not a package of the workspace"));
            continue;
        };
        let mut problem = |what: String| problems.push(format!("{name}: {what}"));
        let text = |key: &str| krate[key].as_str().map(str::trim).filter(|s| !s.is_empty());

        if krate["publish"].as_array().is_some_and(|registries| registries.is_empty()) {
            problem("publish = false".into());
        }
        if krate["version"] != version {
            problem(format!("version {} is not the others' {version}", krate["version"]));
        }
        if text("description").is_none() {
            problem("no description".into());
        }
        if text("license").is_none() && text("license_file").is_none() {
            problem("no license".into());
        }
        if text("repository").is_none() {
            problem("no repository".into());
        }
        if text("rust_version").is_none() {
            problem("no rust-version".into());
        }
        let dir = krate["manifest_path"].as_str().map(Path::new).and_then(Path::parent);
        match (text("readme"), dir) {
            (None, _) => problem("no readme (readme = \"README.md\")".into()),
            (Some(readme), Some(dir)) if !dir.join(readme).is_file() => {
                problem(format!("the readme {} does not exist", display_path(&dir.join(readme))))
            }
            _ => {}
        }
        let list = |key: &str| -> Vec<String> {
            krate[key]
                .as_array()
                .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let keywords = list("keywords");
        match keywords.len() {
            0 => problem("no keywords".into()),
            n if n > 5 => problem(format!("{n} keywords, crates.io takes at most 5")),
            _ => {}
        }
        for keyword in &keywords {
            if let Some(why) = keyword_problem(keyword) {
                problem(format!("keyword '{keyword}' {why}"));
            }
        }
        let categories = list("categories");
        match categories.len() {
            0 => problem("no categories".into()),
            n if n > 5 => problem(format!("{n} categories, crates.io takes at most 5")),
            _ => {}
        }
        for dep in krate["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or("");
            let normal = dep["kind"].is_null() || dep["kind"] == "build";
            if dep["path"].is_null() || !normal {
                continue;
            }
            match PUBLISHED.iter().position(|p| *p == dep_name) {
                Some(at) if at < index => {
                    let pin = format!("={version}");
                    if dep["req"] != pin.as_str() {
                        problem(format!(
                            "depends on {dep_name} {}, not {pin}: the internal crates go in \
                             lockstep",
                            dep["req"]
                        ));
                    }
                }
                Some(_) => problem(format!("depends on {dep_name}, published after it")),
                None => problem(format!("depends on {dep_name}, which is not published")),
            }
        }
    }
    for member in members {
        let name = member["name"].as_str().unwrap_or("");
        let unpublished = member["publish"].as_array().is_some_and(|r| r.is_empty());
        if !PUBLISHED.contains(&name) && !unpublished {
            problems.push(format!("{name}: not published, so it needs publish = false"));
        }
    }
    Ok(problems)
}

/// Why crates.io would refuse a keyword, if it would.
fn keyword_problem(keyword: &str) -> Option<&'static str> {
    let mut chars = keyword.chars();
    if keyword.chars().count() > 20 {
        Some("is longer than 20 characters")
    } else if !keyword.is_ascii() {
        Some("is not ASCII")
    } else if !chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        Some("does not start with a letter or a digit")
    } else if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+')) {
        Some("has characters other than letters, digits, -, _ and +")
    } else {
        None
    }
}

/// The files in a `.crate` (a gzipped tar), by the system `tar`.
fn tarball_files(tarball: &Path) -> anyhow::Result<Vec<String>> {
    let listing = output(Command::new("tar").arg("-tzf").arg(tarball))?;
    Ok(listing.lines().filter(|l| !l.is_empty() && !l.ends_with('/')).map(str::to_owned).collect())
}

/// `path` relative to the current folder when under it.
fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// cargo metadata's view of a workspace whose crates have a readme in `dir` or not.
    fn workspace(dir: &Path) -> Value {
        let krate = |name: &str, deps: &[&str]| {
            let folder = dir.join(name);
            json!({
                "name": name,
                "version": "0.3.0",
                "manifest_path": folder.join("Cargo.toml"),
                "description": format!("The {name} crate"),
                "license": "Apache-2.0",
                "license_file": null,
                "repository": "https://github.com/hub-rs/hub",
                "readme": "README.md",
                "keywords": ["huggingface", "hub"],
                "categories": ["api-bindings"],
                "rust_version": "1.88",
                "publish": null,
                "dependencies": deps.iter().map(|d| json!({
                    "name": d, "kind": null, "req": "=0.3.0", "path": dir.join(d)
                })).chain([
                    json!({"name": "serde", "kind": null, "req": "^1", "path": null}),
                    json!({"name": "hub-tests", "kind": "dev", "req": "*", "path": "/t"}),
                ]).collect::<Vec<_>>(),
            })
        };
        let mut tests = krate("hub-tests", &[]);
        tests["publish"] = json!([]);
        json!({ "packages": [
            krate("hub-url", &[]),
            krate("hub-cache", &["hub-url"]),
            krate("hub-api", &["hub-url", "hub-cache"]),
            krate("hub-lfs", &["hub-api"]),
            krate("hub-cli", &["hub-url", "hub-cache", "hub-api", "hub-lfs"]),
            tests,
        ]})
    }

    fn with_readmes(dir: &Path) {
        for name in PUBLISHED {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("README.md"), format!("# {name}\n")).unwrap();
        }
    }

    #[test]
    fn complete_metadata_passes() {
        let dir = tempfile::tempdir().unwrap();
        with_readmes(dir.path());
        assert_eq!(metadata_problems(&workspace(dir.path())).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let dir = tempfile::tempdir().unwrap();
        with_readmes(dir.path());
        std::fs::remove_file(dir.path().join("hub-api/README.md")).unwrap();
        let mut metadata = workspace(dir.path());
        let packages = metadata["packages"].as_array_mut().unwrap();
        packages[0]["description"] = json!("  ");
        packages[0]["keywords"] = json!(["a", "b", "c", "d", "e", "f"]);
        packages[1]["license"] = json!(null);
        packages[1]["keywords"] =
            json!(["machine-learning-models", "modèles", "-hub", "hub cache", "ok+fine_1"]);
        packages[2]["repository"] = json!(null);
        packages[2]["rust_version"] = json!(null);
        packages[3]["readme"] = json!(null);
        packages[3]["categories"] = json!([]);
        packages[3]["keywords"] = json!([]);
        packages[4]["version"] = json!("0.3.1");
        packages[4]["dependencies"][0]["req"] = json!("^0.3.0");
        packages[0]["dependencies"][0] =
            json!({"name": "hub-cli", "kind": null, "req": "=0.3.0", "path": "/x"});
        packages[5]["publish"] = json!(null);
        let readme = dir.path().join("hub-api/README.md");
        assert_eq!(
            metadata_problems(&metadata).unwrap(),
            [
                "hub-url: no description".to_owned(),
                "hub-url: 6 keywords, crates.io takes at most 5".into(),
                "hub-url: depends on hub-cli, published after it".into(),
                "hub-cache: no license".into(),
                "hub-cache: keyword 'machine-learning-models' is longer than 20 characters".into(),
                "hub-cache: keyword 'modèles' is not ASCII".into(),
                "hub-cache: keyword '-hub' does not start with a letter or a digit".into(),
                "hub-cache: keyword 'hub cache' has characters other than letters, digits, -, _ \
                 and +"
                    .into(),
                "hub-api: no repository".into(),
                "hub-api: no rust-version".into(),
                format!("hub-api: the readme {} does not exist", readme.display()),
                "hub-lfs: no readme (readme = \"README.md\")".into(),
                "hub-lfs: no keywords".into(),
                "hub-lfs: no categories".into(),
                "hub-cli: version \"0.3.1\" is not the others' 0.3.0".into(),
                "hub-cli: depends on hub-url \"^0.3.0\", not =0.3.0: the internal crates go in \
                 lockstep"
                    .into(),
                "hub-tests: not published, so it needs publish = false".into(),
            ]
        );
    }

    #[test]
    fn a_missing_crate_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        with_readmes(dir.path());
        let mut metadata = workspace(dir.path());
        metadata["packages"].as_array_mut().unwrap().remove(3);
        assert_eq!(
            metadata_problems(&metadata).unwrap(),
            ["hub-lfs: not a package of the workspace"]
        );
    }

    #[test]
    fn checks_keywords_as_crates_io_does() {
        for good in ["huggingface", "ml", "a+b", "x_1-2", "12345678901234567890"] {
            assert_eq!(keyword_problem(good), None, "{good}");
        }
        assert!(keyword_problem("123456789012345678901").is_some());
        assert!(keyword_problem("").is_some());
        assert!(keyword_problem("_x").is_some());
    }

    #[test]
    fn formats_sizes_and_tables() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(17_473), "17.1 KiB");
        assert_eq!(human_size(10 << 20), "10.0 MiB");
        let rows = [
            vec!["crate".to_owned(), "files".to_owned()],
            vec!["hub-url".to_owned(), "13".to_owned()],
        ];
        assert_eq!(indent(&table("<>", &rows)), "  crate    files\n  hub-url     13");
    }
}
