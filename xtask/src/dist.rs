//! `cargo xtask dist`: the hub-cli release archive for the host, with its sha256.
//!
//! The archive is packed by the system's GNU tar with everything that varies from one
//! machine or run to the next pinned (entry order, owners, modes, mtimes, gzip's header), so
//! the same binary packs to the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{
    cargo, cargo_metadata, exec, human_size, no_args_or_help, output, project_root, say,
    sha256_file, step, target_dir,
};

const HELP: &str = "\
cargo xtask dist

Builds hub-cli for this machine (cargo build --profile release-dist --locked -p hub-cli: the
release profile without debug info, stripped) and packs it as
target/dist/hub-cli-VERSION-TARGET.tar.gz, TARGET being the host of `rustc -vV`. The archive
holds one folder, hub-cli-VERSION-TARGET/, with the hub-cli binary, README.md, LICENSE and
CHANGELOG.md. Entries are sorted, owned by 0:0, and dated SOURCE_DATE_EPOCH or else the last
commit's time, so the same binary packs to the same bytes. Beside it,
hub-cli-VERSION-TARGET.tar.gz.sha256, for `sha256sum -c`.

Then checks the archive: lists it, unpacks it in a temporary folder and runs the packed
`hub-cli --version`, which must print the version. Needs GNU tar and gzip.
";

/// The files beside the binary, from the workspace root.
const DOCS: [&str; 3] = ["README.md", "LICENSE", "CHANGELOG.md"];

const BINARY: &str = "hub-cli";

/// The profile of the shipped binary (the root Cargo.toml): `release`, stripped. `release`
/// itself keeps line tables, for the benchmarks' profiles.
const PROFILE: &str = "release-dist";

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if !no_args_or_help(args, HELP)? {
        return Ok(());
    }
    let root = project_root();
    let metadata = cargo_metadata()?;
    let version = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == BINARY))
        .and_then(|p| p["version"].as_str())
        .ok_or_else(|| anyhow::format_err!("cargo metadata has no package {BINARY}"))?
        .to_owned();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let host = host_triple(&output(Command::new(rustc).arg("-vV"))?)?;
    ensure_gnu_tar()?;
    let mtime = source_date(&root)?;

    step(&format!("release build of {BINARY} {version} for {host}"));
    exec(cargo().args(["build", "--profile", PROFILE, "--locked", "-p", BINARY]))?;
    let target = target_dir(&metadata)?;
    let binary = target.join(PROFILE).join(format!("{BINARY}{}", std::env::consts::EXE_SUFFIX));

    let name = format!("{BINARY}-{version}-{host}");
    step(&format!("packing {name}.tar.gz"));
    let mut files = vec![binary];
    files.extend(DOCS.iter().map(|doc| root.join(doc)));
    let dist = target.join("dist");
    let archive = pack(&dist, &name, &files, mtime)?;
    let sha256 = write_checksum(&archive)?;
    let size = std::fs::metadata(&archive)
        .map_err(|e| anyhow::format_err!("cannot read {}: {e}", archive.display()))?
        .len();

    step("checking the archive");
    check(&archive, &name, &version)?;

    step(&format!("{} ({}) is ready", archive.display(), human_size(size)));
    say(&format!("sha256 {sha256}"));
    say(&format!("checksum file: {}.sha256 (sha256sum -c)", archive.display()));
    Ok(())
}

/// The `host: …` line of `rustc -vV`.
fn host_triple(rustc_vv: &str) -> anyhow::Result<String> {
    rustc_vv
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .ok_or_else(|| anyhow::format_err!("`rustc -vV` names no host: {rustc_vv:?}"))
}

/// The flags below are GNU tar's.
fn ensure_gnu_tar() -> anyhow::Result<()> {
    let version = output(Command::new("tar").arg("--version"))
        .map_err(|e| anyhow::format_err!("dist needs GNU tar: {e}"))?;
    let first = version.lines().next().unwrap_or("");
    if !first.contains("GNU tar") {
        anyhow::bail!("dist needs GNU tar, and `tar --version` says {first:?}");
    }
    Ok(())
}

/// The archive's mtime: `SOURCE_DATE_EPOCH` (the reproducible-builds convention), else the
/// last commit's time.
fn source_date(root: &Path) -> anyhow::Result<u64> {
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        return epoch.trim().parse().map_err(|_| {
            anyhow::format_err!("SOURCE_DATE_EPOCH={epoch:?} is not a number of seconds")
        });
    }
    let time = output(Command::new("git").args(["log", "-1", "--format=%ct"]).current_dir(root))
        .map_err(|e| {
            anyhow::format_err!(
                "cannot date the archive by the last commit ({e}): set SOURCE_DATE_EPOCH"
            )
        })?;
    time.trim().parse().map_err(|_| {
        anyhow::format_err!("git log gave no commit time ({time:?}): set SOURCE_DATE_EPOCH")
    })
}

/// Copies `files` into `dist/name/` and packs that folder as `dist/name.tar.gz`; the copy is
/// removed afterwards.
fn pack(dist: &Path, name: &str, files: &[PathBuf], mtime: u64) -> anyhow::Result<PathBuf> {
    let stage = dist.join(name);
    let tar = dist.join(format!("{name}.tar"));
    let archive = dist.join(format!("{name}.tar.gz"));
    for stale in [&tar, &archive] {
        remove_file_if_any(stale)?;
    }
    if stage.exists() {
        std::fs::remove_dir_all(&stage)
            .map_err(|e| anyhow::format_err!("cannot remove {}: {e}", stage.display()))?;
    }
    std::fs::create_dir_all(&stage)
        .map_err(|e| anyhow::format_err!("cannot create {}: {e}", stage.display()))?;
    for file in files {
        let file_name = file
            .file_name()
            .ok_or_else(|| anyhow::format_err!("{} names no file", file.display()))?;
        std::fs::copy(file, stage.join(file_name)).map_err(|e| {
            anyhow::format_err!("cannot copy {} into the archive: {e}", file.display())
        })?;
    }
    let packed = exec(
        Command::new("tar")
            .args([
                "--create",
                "--format=gnu",
                "--sort=name",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "--mode=u+rwX,go=rX",
            ])
            .arg(format!("--mtime=@{mtime}"))
            .arg("--file")
            .arg(&tar)
            .arg("--directory")
            .arg(dist)
            .arg(name),
    )
    // -n: no name nor time in gzip's header.
    .and_then(|()| exec(Command::new("gzip").args(["-9", "-n", "--force"]).arg(&tar)));
    let removed = std::fs::remove_dir_all(&stage);
    packed?;
    removed.map_err(|e| anyhow::format_err!("cannot remove {}: {e}", stage.display()))?;
    if !archive.is_file() {
        anyhow::bail!("gzip did not write {}", archive.display());
    }
    Ok(archive)
}

fn remove_file_if_any(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow::format_err!("cannot remove {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Writes `ARCHIVE.sha256` as `sha256sum` does (`HEX  NAME`, the name relative to it) and
/// returns the digest.
fn write_checksum(archive: &Path) -> anyhow::Result<String> {
    let sha256 = sha256_file(archive)?;
    let file_name =
        archive.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let sums = archive.with_file_name(format!("{file_name}.sha256"));
    std::fs::write(&sums, checksum_line(&sha256, &file_name))
        .map_err(|e| anyhow::format_err!("cannot write {}: {e}", sums.display()))?;
    Ok(sha256)
}

/// One line of `sha256sum`'s output (text mode: two spaces).
fn checksum_line(sha256: &str, file_name: &str) -> String {
    format!("{sha256}  {file_name}\n")
}

/// The entries an archive named `name` must hold, sorted.
fn expected_entries(name: &str) -> Vec<String> {
    let mut entries =
        vec![format!("{name}/"), format!("{name}/{BINARY}{}", std::env::consts::EXE_SUFFIX)];
    entries.extend(DOCS.iter().map(|doc| format!("{name}/{doc}")));
    entries.sort();
    entries
}

/// Lists the archive (it must hold exactly the expected entries, owned by 0/0), unpacks it
/// and runs the packed binary's `--version`, which must print `version`.
fn check(archive: &Path, name: &str, version: &str) -> anyhow::Result<()> {
    let listing = output(
        Command::new("tar")
            .args(["--list", "--verbose", "--numeric-owner", "--gzip", "--file"])
            .arg(archive),
    )?;
    say(listing.trim_end());
    let names = output(Command::new("tar").args(["--list", "--gzip", "--file"]).arg(archive))?;
    let mut entries: Vec<String> = names.lines().map(str::to_owned).collect();
    entries.sort();
    if entries != expected_entries(name) {
        anyhow::bail!("{} holds {entries:?}, not {:?}", archive.display(), expected_entries(name));
    }
    if let Some(line) = listing.lines().find(|line| line.split_whitespace().nth(1) != Some("0/0")) {
        anyhow::bail!("an entry of {} is not owned by 0/0: {line}", archive.display());
    }

    let parent = archive.parent().unwrap_or(Path::new("."));
    let unpacked = parent.join(format!(".check-{}", std::process::id()));
    std::fs::create_dir_all(&unpacked)
        .map_err(|e| anyhow::format_err!("cannot create {}: {e}", unpacked.display()))?;
    let ran = exec(
        Command::new("tar")
            .args(["--extract", "--gzip", "--file"])
            .arg(archive)
            .arg("--directory")
            .arg(&unpacked),
    )
    .and_then(|()| {
        let binary = unpacked.join(name).join(format!("{BINARY}{}", std::env::consts::EXE_SUFFIX));
        output(Command::new(&binary).arg("--version"))
    });
    let removed = std::fs::remove_dir_all(&unpacked);
    let printed = ran?;
    removed.map_err(|e| anyhow::format_err!("cannot remove {}: {e}", unpacked.display()))?;
    let printed = printed.trim();
    say(&format!("the packed {BINARY} --version: {printed}"));
    if !printed.split_whitespace().any(|word| word == version) {
        anyhow::bail!("the packed {BINARY} --version printed {printed:?}, not version {version}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_host_triple() {
        let vv = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\n";
        assert_eq!(host_triple(vv).unwrap(), "x86_64-unknown-linux-gnu");
        assert!(host_triple("rustc 1.95.0\n").unwrap_err().to_string().contains("names no host"));
    }

    #[test]
    fn writes_checksums_as_sha256sum() {
        assert_eq!(checksum_line("ab12", "x.tar.gz"), "ab12  x.tar.gz\n");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.tar.gz");
        std::fs::write(&file, "abc").unwrap();
        let digest = write_checksum(&file).unwrap();
        // sha256("abc"), FIPS 180-2's example.
        assert_eq!(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let sums = std::fs::read_to_string(dir.path().join("x.tar.gz.sha256")).unwrap();
        assert_eq!(sums, format!("{digest}  x.tar.gz\n"));
    }

    /// A stand-in for hub-cli (a shell script), packed and checked twice: the same bytes.
    #[cfg(unix)]
    #[test]
    fn packs_checks_and_reproduces_an_archive() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let binary = src.join(BINARY);
        std::fs::write(&binary, "#!/bin/sh\necho \"hub-cli 9.8.7\"\n").unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut files = vec![binary.clone()];
        for doc in DOCS {
            std::fs::write(src.join(doc), format!("{doc}\n")).unwrap();
            files.push(src.join(doc));
        }
        let dist = dir.path().join("dist");
        let name = "hub-cli-9.8.7-test";
        let archive = pack(&dist, name, &files, 1_700_000_000).unwrap();
        assert_eq!(archive, dist.join("hub-cli-9.8.7-test.tar.gz"));
        let first = write_checksum(&archive).unwrap();
        check(&archive, name, "9.8.7").unwrap();
        let err = check(&archive, name, "9.8.8").unwrap_err().to_string();
        assert!(err.contains("printed \"hub-cli 9.8.7\", not version 9.8.8"), "{err}");

        // Only the archive and its checksum are left.
        let mut left: Vec<String> = std::fs::read_dir(&dist)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["hub-cli-9.8.7-test.tar.gz", "hub-cli-9.8.7-test.tar.gz.sha256"]);

        // Packed again later, with other permissions on the sources: the same bytes.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&files[1], std::fs::Permissions::from_mode(0o600)).unwrap();
        let again = pack(&dist, name, &files, 1_700_000_000).unwrap();
        assert_eq!(write_checksum(&again).unwrap(), first);

        // A missing file is named.
        let err = pack(&dist, name, &[src.join("nope")], 0).unwrap_err().to_string();
        assert!(err.starts_with("cannot copy ") && err.contains("nope"), "{err}");
    }

    #[test]
    fn expects_the_binary_and_the_docs() {
        let entries = expected_entries("hub-cli-1.0.0-x");
        assert_eq!(entries.len(), 5);
        assert!(entries.contains(&"hub-cli-1.0.0-x/".to_owned()));
        assert!(entries.contains(&"hub-cli-1.0.0-x/LICENSE".to_owned()));
    }
}
