//! `cargo xtask test`: the one command that checks everything, as CI runs it.

use std::path::{Path, PathBuf};

use crate::util::{cargo, command, exec, no_args_or_help, output, project_root, say, step};
use crate::{public_api, tidy, tools};

const HELP: &str = "\
cargo xtask test

First makes sure git, git-lfs, curl and openssl are present, as `cargo xtask demo` does,
and bindfs and setpriv (util-linux) for the tests of FUSE and multi-user caches (Debian's packages, installed with apt-get when missing, through sudo -n when not root; when
that cannot be done, it fails with the command to run by hand), and makes a Python venv with
the official huggingface_hub under target/py-venv. Then runs, stopping at the first failure:
  cargo fmt --check, cargo clippy -D warnings (the environment read only in from_env:
  clippy.toml), cargo doc with warnings as errors, the public API of each library crate
  against docs/api/<crate>.txt (cargo xtask public-api), cargo xtask tidy (module docs, no
  todo!/dbg!, the README's environment table, the layering), every Rust test, the Python fidelity
  suite (tests/python), and the demo with git-lfs, curl and openssl hidden from PATH, which
  must pass (its tools step links them back).
";

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if !no_args_or_help(args, HELP)? {
        return Ok(());
    }
    let root = project_root();

    tools::ensure(&tools::TEST_TOOLS)?;
    step("a Python venv for the fidelity suite");
    let python = ensure_venv(&root)?;

    step("format");
    exec(cargo().args(["fmt", "--all", "--", "--check"]))?;

    step("lints");
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("docs");
    exec(
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;

    step("public API (docs/api/<crate>.txt, the listings checked in)");
    public_api::run(&[])?;

    step("tidy (module docs, no todo!/dbg!, variable names, README table, layering)");
    tidy::run(&[])?;

    step("Rust tests");
    exec(cargo().args([
        "build",
        "--locked",
        "-p",
        "hub-tests",
        "--bin",
        "testhub",
        "-p",
        "hub-cli",
    ]))?;
    let testhub = root.join("target/debug/testhub");
    exec(
        cargo()
            .args(["test", "--workspace", "--locked"])
            .env("TESTHUB_BIN", &testhub)
            .env("HUB_PYTHON", &python),
    )?;

    step("Python fidelity suite (the official huggingface_hub against the TestHub)");
    exec(
        command(&python)
            .args(["-m", "pytest", "tests/python", "-q", "-p", "no:cacheprovider"])
            .current_dir(&root)
            .env("TESTHUB_BIN", &testhub)
            .env("HUB_CLI_BIN", root.join("target/debug/hub-cli")),
    )?;

    step("the demo with git-lfs, curl and openssl hidden from PATH (the tools step links them)");
    tools::demo_with_tools_hidden()?;

    step("all checks passed");
    Ok(())
}

/// A venv under `target/` with `tests/python/requirements.txt`, rebuilt when that file changes.
fn ensure_venv(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join("target/py-venv");
    let python = venv.join("bin/python");
    let requirements = root.join("tests/python/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| anyhow::format_err!("cannot read {}: {e}", requirements.display()))?;
    let stamp = venv.join(".requirements");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        say(&format!("python venv: {} (up to date)", venv.display()));
        return Ok(python);
    }
    say("python venv: creating it and installing tests/python/requirements.txt");
    let system_python = ["python3", "python"]
        .into_iter()
        .find(|p| output(command(p).arg("--version")).is_ok())
        .ok_or_else(|| {
            anyhow::format_err!("no python3 found: install Python 3 (with venv and pip)")
        })?;
    exec(command(system_python).args(["-m", "venv", "--clear"]).arg(&venv))?;
    exec(
        command(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"])
            .arg(&requirements),
    )
    .map_err(|e| {
        anyhow::format_err!("cannot install the Python test requirements from PyPI: {e}")
    })?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}
