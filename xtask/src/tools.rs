//! The external tools `cargo xtask demo` and `cargo xtask test` need, made present by one step
//! both run before anything else: [`ensure`].
//!
//! The tools are [`TOOLS`]: git (clones, pushes, the local Hub's smart HTTP), git-lfs (the
//! demo's publish with git, the tests of the transfer agent), curl (the demo's probes of the
//! local Hub) and openssl (sha256 of files, the local Hub's LFS store, the TLS tests). Each is
//! looked for, in order:
//!
//! 1. on `PATH`: used from there;
//! 2. else where Debian's package puts it, `/usr/bin`, when that folder is not on `PATH` or the
//!    tool is hidden from it: used from there;
//! 3. else every missing one is installed at once from Debian's packages (`apt-get install`,
//!    through `sudo -n` when not root, `DEBIAN_FRONTEND=noninteractive`), then looked for again
//!    as above.
//!
//! When the install fails, or leaves a tool missing, the step fails naming the tools and the
//! exact command to run by hand. It never skips a tool, and it prints where each one was found
//! and its version.
//!
//! A tool found off `PATH` is linked into `target/tools/bin` (one symlink per such tool,
//! nothing else), and that folder goes first in the `PATH` of every child process: the step
//! keeps that `PATH` ([`child_path`]) and [`crate::util::command`], which builds every command
//! of the demo and the tests (`util::cargo` included), sets it. xtask's own environment is
//! never changed (`set_var` is unsafe, and the workspace denies unsafe code). Putting
//! `/usr/bin` itself first would be shorter, but it would put Debian's programs before every
//! other folder of the user's `PATH`: the `git` that git-lfs's package pulls in before one in
//! `/usr/local/bin`, say. The links change how these tools are found, nothing else.
//!
//! The proof is a step of `cargo xtask test`, [`demo_with_tools_hidden`]: it runs `cargo xtask
//! demo`, as the README says, with a `PATH` from which git-lfs, curl and openssl are hidden
//! (every folder of `PATH` mirrored under `target/tools/hidden-path/`, a symlink for
//! everything it holds but them), after checking that they are hidden indeed (`git lfs
//! version` fails with that `PATH`). The demo must pass, and its tools step must say it
//! linked each of them back. Without the step in the demo, its `git lfs install` fails, and
//! so does the check (as it does when a command of the demo is not built by `util::command`).
//! It costs one more demo run, about 10 s on 2 cores once the tests have built everything, and
//! changes nothing on the machine: `cargo xtask demo --hide-tools` runs it alone. It takes
//! branch 2 on a machine that has the packages; branch 3 runs on a fresh machine (the first
//! `demo` or `test` installs the packages), and the unit tests below cover the choice between
//! the three, the install and its failures, with a fake installer.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::util::{cargo, describe, exec, output, project_root, say, step};

/// An external program and the Debian package that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tool {
    pub(crate) program: &'static str,
    pub(crate) package: &'static str,
    /// The arguments that print its version (shown up to the end of its first line or a
    /// parenthesis).
    version_args: &'static [&'static str],
}

/// Every tool the demo and the tests run (the tests' Python venv aside: `cargo xtask test`
/// makes it).
pub(crate) const TOOLS: [Tool; 4] = [
    Tool { program: "git", package: "git", version_args: &["--version"] },
    Tool { program: "git-lfs", package: "git-lfs", version_args: &["version"] },
    Tool { program: "curl", package: "curl", version_args: &["--version"] },
    Tool { program: "openssl", package: "openssl", version_args: &["version"] },
];

/// What `cargo xtask test` needs beyond [`TOOLS`]: bindfs (a FUSE mount, for the test that
/// `hub-cli env` names a FUSE file system) and setpriv (util-linux: the multi-user cache tests
/// run `hub-cli` as other users).
pub(crate) const TEST_TOOLS: [Tool; 2] = [
    Tool { program: "bindfs", package: "bindfs", version_args: &["--version"] },
    Tool { program: "setpriv", package: "util-linux", version_args: &["--version"] },
];

/// Where Debian's packages put these programs, looked at when one is not on `PATH`.
const DEBIAN_BIN: &str = "/usr/bin";
/// The links to tools found off `PATH`, from the workspace root.
const LINKS: &str = "target/tools/bin";
/// Where [`demo_with_tools_hidden`] mirrors the folders of `PATH`, from the workspace root.
const HIDDEN_PATH: &str = "target/tools/hidden-path";
/// The tools [`demo_with_tools_hidden`] hides from `PATH`: all of them but git, which is
/// often not Debian's (a `/usr/local/bin/git`, say): hidden, it would be installed from
/// Debian's package on such a machine, changing it.
const HIDDEN_BY_CHECK: [&str; 3] = ["git-lfs", "curl", "openssl"];
/// What [`ensure`] says of a tool it linked into [`LINKS`].
const LINKED: &str = "not on PATH: linked into target/tools/bin";

/// The `PATH` of child processes, set by [`ensure`] when it linked a tool.
static CHILD_PATH: OnceLock<OsString> = OnceLock::new();

/// The `PATH` every child process gets, when [`ensure`] linked a tool found off `PATH` (else
/// `None`: they inherit xtask's).
pub(crate) fn child_path() -> Option<&'static OsStr> {
    CHILD_PATH.get().map(OsString::as_os_str)
}

/// The value of a `PATH`.
#[derive(Debug, Clone)]
struct SearchPath(OsString);

impl SearchPath {
    /// xtask's `PATH` (empty when unset).
    fn from_env() -> Self {
        Self(std::env::var_os("PATH").unwrap_or_default())
    }

    /// The `PATH` child processes get: [`child_path`], else xtask's.
    fn of_children() -> Self {
        child_path().map_or_else(Self::from_env, |path| Self(path.to_owned()))
    }

    /// Its folders, in order (empty entries left out).
    fn dirs(&self) -> Vec<PathBuf> {
        std::env::split_paths(&self.0).filter(|dir| !dir.as_os_str().is_empty()).collect()
    }
}

/// Where a tool was found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    OnPath(PathBuf),
    OffPath(PathBuf),
}

/// A tool, where it is, and whether this run installed it.
#[derive(Debug)]
struct Found<'t> {
    tool: &'t Tool,
    place: Place,
    installed: bool,
}

/// Makes sure every tool of [`TOOLS`] and of `extra` is present, installing Debian's packages
/// for the missing ones, and links those found off `PATH` for the child processes (see the
/// module's docs). Prints where each tool is and its version.
pub(crate) fn ensure(extra: &[Tool]) -> anyhow::Result<()> {
    let tools: Vec<Tool> = TOOLS.iter().chain(extra).cloned().collect();
    let names: Vec<&str> = tools.iter().map(|tool| tool.program).collect();
    step(&format!("tools: {} (Debian's packages, installed when missing)", names.join(", ")));
    let path = SearchPath::from_env();
    let dirs = path.dirs();
    let is_root = output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    let by_hand = if is_root { "apt-get install" } else { "sudo apt-get install" };
    let found = resolve(
        &tools,
        &dirs,
        &[PathBuf::from(DEBIAN_BIN)],
        &mut |packages| apt_install(!is_root, packages),
        by_hand,
    )?;

    let links = project_root().join(LINKS);
    let mut linked = Vec::new();
    for Found { tool, place, installed } in &found {
        let (binary, note) = match place {
            Place::OnPath(binary) => (binary, "on PATH"),
            Place::OffPath(binary) => {
                link(&links, tool.program, binary)?;
                linked.push(tool.program);
                (binary, LINKED)
            }
        };
        let version = output(Command::new(binary).args(tool.version_args)).map_err(|e| {
            anyhow::format_err!(
                "{} is at {} but does not run: {e:#}",
                tool.program,
                binary.display()
            )
        })?;
        let version = short_version(&version);
        let installed = if *installed { "installed now, " } else { "" };
        say(&format!("  {}: {version} ({}; {installed}{note})", tool.program, binary.display()));
    }
    prune_links(&links, &linked);
    if !linked.is_empty() {
        let child = std::env::join_paths(std::iter::once(links.clone()).chain(dirs))
            .map_err(|e| anyhow::format_err!("cannot put {} on PATH: {e}", links.display()))?;
        say(&format!("  child processes find {} first on their PATH", links.display()));
        if CHILD_PATH.get_or_init(|| child.clone()) != &child {
            anyhow::bail!("the tools step ran twice, with different results");
        }
    }
    Ok(())
}

/// The first line of a version's output, up to its first parenthesis (curl's and openssl's
/// go on about their libraries).
fn short_version(out: &str) -> &str {
    let line = out.lines().next().unwrap_or_default();
    line.split_once(" (").map_or(line, |(version, _)| version).trim()
}

/// Every tool of `tools`, looked for on `path`, then in `off_path`; when some are in neither,
/// `install` of their packages first. Fails naming the missing tools and the command to run
/// by hand (`by_hand` and the packages) when the install fails or leaves one missing.
fn resolve<'t>(
    tools: &'t [Tool],
    path: &[PathBuf],
    off_path: &[PathBuf],
    install: &mut dyn FnMut(&[&str]) -> anyhow::Result<()>,
    by_hand: &str,
) -> anyhow::Result<Vec<Found<'t>>> {
    let locate = |tool: &Tool| {
        find_in(path, tool.program)
            .map(Place::OnPath)
            .or_else(|| find_in(off_path, tool.program).map(Place::OffPath))
    };
    let missing: Vec<&Tool> = tools.iter().filter(|tool| locate(tool).is_none()).collect();
    if !missing.is_empty() {
        let mut packages: Vec<&str> = missing.iter().map(|tool| tool.package).collect();
        packages.dedup();
        let (names, command) = (joined(&missing), format!("{by_hand} {}", packages.join(" ")));
        let (is, them) = if missing.len() == 1 { ("is", "it") } else { ("are", "them") };
        say(&format!("  {names} {is} missing: installing Debian's packages ({command})"));
        install(&packages).map_err(|e| {
            anyhow::format_err!(
                "{names} {is} missing and cannot be installed ({e:#}): install {them} by hand \
                 with `{command}`, then run this again"
            )
        })?;
        let still: Vec<&Tool> =
            missing.iter().copied().filter(|tool| locate(tool).is_none()).collect();
        if !still.is_empty() {
            anyhow::bail!(
                "{} still missing after `{command}` (looked on PATH and in {}): install {them} \
                 by hand with `{command}`, then run this again",
                joined(&still),
                off_path.iter().map(|dir| dir.display().to_string()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    tools
        .iter()
        .map(|tool| {
            let place =
                locate(tool).ok_or_else(|| anyhow::format_err!("{} went missing", tool.program))?;
            Ok(Found { tool, place, installed: missing.contains(&tool) })
        })
        .collect()
}

/// `a, b, c`.
fn joined(tools: &[&Tool]) -> String {
    tools.iter().map(|tool| tool.program).collect::<Vec<_>>().join(", ")
}

/// `apt-get update`, then `apt-get install` of `packages`, through `sudo -n` when `sudo`.
fn apt_install(sudo: bool, packages: &[&str]) -> anyhow::Result<()> {
    let apt = |args: &[&str]| {
        let mut cmd = if sudo {
            // sudo resets the environment: env passes the variable on.
            let mut cmd = Command::new("sudo");
            cmd.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            cmd
        } else {
            let mut cmd = Command::new("apt-get");
            cmd.env("DEBIAN_FRONTEND", "noninteractive");
            cmd
        };
        exec(cmd.args(args))
    };
    apt(&["update", "-qq"])?;
    apt(&[&["install", "-y", "-qq"], packages].concat())
}

/// The first `dir/program` of `dirs` that is an executable file.
fn find_in(dirs: &[PathBuf], program: &str) -> Option<PathBuf> {
    dirs.iter().map(|dir| dir.join(program)).find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// `links/program`, a symlink to `binary` (replaced at once when it pointed elsewhere).
fn link(links: &Path, program: &str, binary: &Path) -> anyhow::Result<()> {
    let link = links.join(program);
    if std::fs::read_link(&link).is_ok_and(|target| target == binary) {
        return Ok(());
    }
    let tmp = links.join(format!(".{program}.xtask-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::fs::create_dir_all(links)
        .and_then(|()| symlink(binary, &tmp))
        .and_then(|()| std::fs::rename(&tmp, &link))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::format_err!("cannot link {} to {}: {e}", link.display(), binary.display())
        })
}

/// Removes the links of an earlier run that this one did not make, so that the folder holds
/// this run's links only (a missing folder is fine).
fn prune_links(links: &Path, kept: &[&str]) {
    let Ok(entries) = std::fs::read_dir(links) else { return };
    for entry in entries.flatten() {
        if !kept.iter().any(|program| entry.file_name() == OsStr::new(program)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(target, link).map(drop)
}

/// A `PATH` with the same folders as `dirs`, in order, but none of `programs`: each folder
/// mirrored as `farm/<index>`, a symlink for every entry but those (a folder that cannot be
/// read is mirrored empty). `farm` is made anew.
fn path_hiding(dirs: &[PathBuf], programs: &[&str], farm: &Path) -> anyhow::Result<OsString> {
    if farm.exists() {
        std::fs::remove_dir_all(farm)
            .map_err(|e| anyhow::format_err!("cannot remove {}: {e}", farm.display()))?;
    }
    let mut mirrors = Vec::new();
    for (index, dir) in dirs.iter().enumerate() {
        let mirror = farm.join(index.to_string());
        std::fs::create_dir_all(&mirror)
            .map_err(|e| anyhow::format_err!("cannot create {}: {e}", mirror.display()))?;
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            if programs.iter().any(|program| name == OsStr::new(program)) {
                continue;
            }
            symlink(&entry.path(), &mirror.join(&name)).map_err(|e| {
                anyhow::format_err!(
                    "cannot mirror {} in {}: {e}",
                    entry.path().display(),
                    mirror.display()
                )
            })?;
        }
        mirrors.push(mirror);
    }
    std::env::join_paths(mirrors).map_err(|e| anyhow::format_err!("cannot join a PATH: {e}"))
}

/// The check of this module (see its docs): `cargo xtask demo` run with git-lfs, curl and
/// openssl hidden from `PATH` must pass, its tools step linking each of them back.
pub(crate) fn demo_with_tools_hidden() -> anyhow::Result<()> {
    let root = project_root();
    let farm = root.join(HIDDEN_PATH);
    let hidden = path_hiding(&SearchPath::of_children().dirs(), &HIDDEN_BY_CHECK, &farm)?;
    let hidden_dirs = SearchPath(hidden.clone()).dirs();
    // The check proves something only if they are hidden indeed.
    for program in HIDDEN_BY_CHECK {
        if let Some(found) = find_in(&hidden_dirs, program) {
            anyhow::bail!("{program} is still on the PATH that hides it, at {}", found.display());
        }
    }
    if output(Command::new("git").args(["lfs", "version"]).env("PATH", &hidden)).is_ok() {
        anyhow::bail!(
            "git still runs git-lfs with it hidden from PATH (from git's exec-path?): the check \
             would prove nothing"
        );
    }
    say(&format!(
        "PATH: its {} folders mirrored under {} without {}; `git lfs version` fails with it",
        hidden_dirs.len(),
        farm.display(),
        HIDDEN_BY_CHECK.join(", ")
    ));

    // As the README runs it, not this binary: `cargo test --workspace` rebuilds that, so
    // ours may be gone from its path by now.
    let mut demo = cargo();
    demo.args(["xtask", "demo"]).env("PATH", &hidden);
    let shown_cmd = format!("PATH=<that PATH> {}", describe(&demo));
    say(&format!("$ {shown_cmd}    (its output is shown when it fails)"));
    let mut child = demo
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow::format_err!("cannot run {shown_cmd}: {e}"))?;
    let stdout =
        child.stdout.take().ok_or_else(|| anyhow::format_err!("the demo has no stdout"))?;
    let lines: Vec<String> = BufReader::new(stdout).lines().collect::<Result<_, _>>()?;
    let status = child.wait()?;
    let shown = |why: &str| {
        say(&lines.join("\n"));
        anyhow::format_err!(
            "the demo with {} hidden from PATH {why}: the tools step did not bring them back",
            HIDDEN_BY_CHECK.join(", ")
        )
    };
    if !status.success() {
        return Err(shown(&format!("failed ({status})")));
    }
    for program in HIDDEN_BY_CHECK {
        let prefix = format!("  {program}: ");
        match lines.iter().find(|line| line.starts_with(&prefix) && line.contains(LINKED)) {
            Some(line) => say(line),
            None => return Err(shown(&format!("passed, but never said `{prefix}… ({LINKED})`"))),
        }
    }
    say(&format!(
        "the demo passed with {} hidden from PATH: its tools step linked them back",
        HIDDEN_BY_CHECK.join(", ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LFS: Tool = Tool { program: "git-lfs", package: "git-lfs", version_args: &[] };
    const CURL: Tool = Tool { program: "curl", package: "curl", version_args: &[] };

    /// An executable file `dir/name`.
    fn program(dir: &Path, name: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
    }

    fn no_install(_: &[&str]) -> anyhow::Result<()> {
        panic!("nothing should be installed")
    }

    #[test]
    fn a_tool_on_path_is_used_from_there_before_debians() {
        let dir = tempfile::tempdir().unwrap();
        let (on_path, debian) = (dir.path().join("bin"), dir.path().join("usr-bin"));
        program(&on_path, "git-lfs");
        program(&debian, "git-lfs");
        program(&debian, "curl");
        let tools = [LFS, CURL];
        let found = resolve(
            &tools,
            std::slice::from_ref(&on_path),
            std::slice::from_ref(&debian),
            &mut no_install,
            "x",
        )
        .unwrap();
        assert_eq!(found[0].place, Place::OnPath(on_path.join("git-lfs")));
        assert_eq!(found[1].place, Place::OffPath(debian.join("curl")));
        assert!(!found[0].installed && !found[1].installed);
    }

    #[test]
    fn a_file_that_is_not_executable_is_not_the_tool() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("git-lfs"), "").unwrap();
        assert_eq!(find_in(&[dir.path().to_path_buf()], "git-lfs"), None);
        std::fs::create_dir(dir.path().join("curl")).unwrap();
        assert_eq!(find_in(&[dir.path().to_path_buf()], "curl"), None);
    }

    #[test]
    fn the_missing_tools_are_installed_in_one_go() {
        let dir = tempfile::tempdir().unwrap();
        let debian = dir.path().join("usr-bin");
        let mut asked = Vec::new();
        let mut install = |packages: &[&str]| {
            asked.push(packages.join(" "));
            for package in packages {
                program(&debian, package);
            }
            Ok(())
        };
        let tools = [LFS, CURL];
        let found =
            resolve(&tools, &[], std::slice::from_ref(&debian), &mut install, "apt-get install")
                .unwrap();
        assert_eq!(asked, ["git-lfs curl"]);
        assert_eq!(found[0].place, Place::OffPath(debian.join("git-lfs")));
        assert!(found[0].installed && found[1].installed);
    }

    #[test]
    fn a_failed_install_names_the_tools_and_the_command_to_run() {
        let dir = tempfile::tempdir().unwrap();
        program(&dir.path().join("bin"), "curl");
        let mut install = |_: &[&str]| Err(anyhow::format_err!("`apt-get update -qq` failed"));
        let tools = [LFS, CURL];
        let err =
            resolve(&tools, &[dir.path().join("bin")], &[], &mut install, "sudo apt-get install")
                .unwrap_err()
                .to_string();
        assert_eq!(
            err,
            "git-lfs is missing and cannot be installed (`apt-get update -qq` failed): install \
             it by hand with `sudo apt-get install git-lfs`, then run this again"
        );
    }

    #[test]
    fn an_install_that_leaves_a_tool_missing_fails() {
        let dir = tempfile::tempdir().unwrap();
        let debian = dir.path().join("usr-bin");
        let mut install = |_: &[&str]| {
            program(&debian, "curl");
            Ok(())
        };
        let tools = [LFS, CURL];
        let err =
            resolve(&tools, &[], std::slice::from_ref(&debian), &mut install, "apt-get install")
                .unwrap_err()
                .to_string();
        assert!(
            err.starts_with("git-lfs still missing after `apt-get install git-lfs curl`")
                && err.ends_with(
                    "install them by hand with `apt-get install git-lfs curl`, then run this again"
                ),
            "{err}"
        );
    }

    #[test]
    fn versions_are_shown_short() {
        let curl = "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1\nRelease-Date: 2023-02-20\n";
        assert_eq!(short_version(curl), "curl 7.88.1");
        assert_eq!(short_version("git-lfs/3.3.0 (GitHub; linux amd64)\n"), "git-lfs/3.3.0");
        assert_eq!(short_version("git version 2.47.3\n"), "git version 2.47.3");
        assert_eq!(short_version(""), "");
    }

    #[cfg(unix)]
    #[test]
    fn the_hiding_path_has_everything_but_the_hidden_programs() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        program(&a, "git-lfs");
        program(&a, "tool");
        program(&b, "curl");
        program(&b, "git-lfs");
        let farm = dir.path().join("farm");
        std::fs::create_dir_all(farm.join("stale")).unwrap();
        let dirs = [a.clone(), dir.path().join("missing"), b.clone()];
        let path = path_hiding(&dirs, &["git-lfs"], &farm).unwrap();
        let mirrored = SearchPath(path).dirs();
        assert_eq!(mirrored, [farm.join("0"), farm.join("1"), farm.join("2")]);
        assert!(!farm.join("stale").exists());
        assert_eq!(find_in(&mirrored, "git-lfs"), None);
        assert_eq!(std::fs::read_link(farm.join("0/tool")).unwrap(), a.join("tool"));
        assert_eq!(find_in(&mirrored, "curl"), Some(farm.join("2/curl")));
    }

    #[cfg(unix)]
    #[test]
    fn links_are_made_replaced_and_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let links = dir.path().join("links");
        let (one, two) = (dir.path().join("one"), dir.path().join("two"));
        link(&links, "git-lfs", &one).unwrap();
        link(&links, "curl", &one).unwrap();
        link(&links, "git-lfs", &two).unwrap();
        assert_eq!(std::fs::read_link(links.join("git-lfs")).unwrap(), two);
        prune_links(&links, &["git-lfs"]);
        let left: Vec<_> =
            std::fs::read_dir(&links).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, [OsString::from("git-lfs")]);
    }
}
