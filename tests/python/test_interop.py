"""Interop: our `hub-cli download` and the official `huggingface_hub` share one cache, both ways.

- hub-cli fills a cache online; Python, offline, finds the same paths and bytes
  (`hf_hub_download`, `try_to_load_from_cache`, `snapshot_download`) and `scan_cache_dir` reads it
  without a warning.
- Python fills a cache online; hub-cli, offline, prints the same paths.
- `local_dir`: each client accepts the other's `.cache/huggingface/download/*.metadata` and does not
  download again.
- What hub-cli downloaded is found by `hf_hub_download(local_files_only=True)` while online.

Python runs in a fresh interpreter per scenario: this file is also the scenario script (see
`_child_main` at the bottom), so the operations it supports live next to the tests that use them.
Expectations come from the seed manifest printed by testhub.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import describe, new_tag, repo_folder, tagged_log

THIS = Path(__file__).resolve()

MODEL = ("model", "acme/tiny-model")
# regular, LFS, nested, unicode
FILES = ["config.json", "weights.bin", "nested/deep/file.txt", "unicode/café ü ñ.txt"]
# "commit" = the full commit sha of main
REVISIONS = ["main", "v1.0", "commit", "refs/pr/1"]
SINGLES = [(label, f) for label in REVISIONS for f in FILES]

# (id, repo_type, repo_id, revision label, files named on the command line, hub-cli extra args,
#  snapshot_download kwargs selecting the same files; None = every file)
CLI_SNAPSHOTS = [
    ("model-dev-whole", "model", "acme/tiny-model", "dev", [], [], None),
    ("dataset-main-whole", "dataset", "acme/tiny-dataset", "main", [], [], None),
    ("space-two-files", "space", "acme/tiny-space", "main", ["config.json", "weights.bin"], [],
     ["config.json", "weights.bin"]),
]
PY_SNAPSHOTS = [
    ("model-dev-whole", "model", "acme/tiny-model", "dev", [], [], None),
    ("dataset-pr-whole", "dataset", "acme/tiny-dataset", "refs/pr/1", [], [], None),
    ("space-json-only", "space", "acme/tiny-space", "main", [], ["--include", "*.json"], ["*.json"]),
]


# ---- helpers -----------------------------------------------------------------------------------


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def etag(entry: dict) -> str:
    """The blob name of a manifest file: the LFS sha256, else the git blob id."""
    return entry["sha256"] if entry["lfs"] else entry["git_oid"]


def revision(hub, repo_type: str, repo_id: str, label: str) -> tuple[str, dict]:
    """(revision argument, manifest revision entry) for a label ("commit" = main's full sha)."""
    revs = hub.repo(repo_type, repo_id)["revisions"]
    info = revs["main" if label == "commit" else label]
    return (info["commit"] if label == "commit" else label), info


def snapshot_files(info: dict, selected) -> dict:
    """Manifest entries of the files a snapshot selection keeps (`selected`: exact names or `*.ext`)."""
    if selected is None:
        return dict(info["files"])
    keep = {}
    for path, entry in info["files"].items():
        for pattern in selected:
            if path == pattern or (pattern.startswith("*") and path.endswith(pattern[1:])):
                keep[path] = entry
    return keep


def cli_download_args(repo_type: str, repo_id: str, files: list[str], rev: str, extra=()) -> list[str]:
    return ["download", repo_id, *files, "--repo-type", repo_type, "--revision", rev, *extra]


def printed_path(proc, what: str) -> str:
    """hub-cli succeeded and printed exactly one line, the path."""
    assert proc.returncode == 0, f"hub-cli {what} failed (exit {proc.returncode}): {proc.stderr.strip()}"
    assert proc.stdout.endswith("\n") and proc.stdout.count("\n") == 1, (
        f"hub-cli {what}: stdout must be exactly one line (the path), got {proc.stdout!r}"
    )
    return proc.stdout[:-1]


def assert_one_offline_error(proc, what: str):
    """Exit code 1, nothing on stdout, one `error:` line on stderr that says offline mode is on."""
    assert proc.returncode == 1, f"{what}: expected exit code 1, got {proc.returncode} (stdout {proc.stdout!r})"
    assert proc.stdout == "", f"{what}: nothing may be printed on stdout on failure, got {proc.stdout!r}"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{what}: expected one `error:` line, got {lines}"
    assert "offline" in lines[0].lower(), f"{what}: the error does not mention offline mode: {lines[0]}"


def log_since(hub, before: int) -> list[dict]:
    return hub.stats()["log"][before:]


def log_len(hub) -> int:
    return len(hub.stats()["log"])


def fmt(log: list[dict]) -> list[tuple]:
    return [(e["host"], e["method"], e["path"], e["status"]) for e in log]


def cdn_gets(log: list[dict]) -> list[dict]:
    return [e for e in log if e["host"] == "cdn" and e["method"] == "GET"]


def body_gets(log: list[dict]) -> list[dict]:
    """Requests that fetched a file's bytes: CDN GETs, and GETs of resolve URLs on the hub."""
    return cdn_gets(log) + [e for e in log if e["host"] == "hub" and e["method"] == "GET" and "/resolve/" in e["path"]]


def snapshot_dir(cache: Path, repo_type: str, repo_id: str, commit: str) -> Path:
    return Path(cache) / repo_folder(repo_type, repo_id) / "snapshots" / commit


def assert_snapshot_folder(folder: Path, files: dict, what: str):
    """The folder holds exactly `files` (manifest entries), each with the right bytes."""
    on_disk = sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()
    )
    assert on_disk == sorted(files), f"{what}: snapshot folder holds {on_disk}, expected {sorted(files)}"
    for path, entry in files.items():
        assert sha256_of(folder / path) == entry["sha256"], f"{what}: {path} has the wrong bytes"


# ---- a. hub-cli fills the cache, Python reads it offline ----------------------------------------


@pytest.fixture(scope="module")
def cli_cache(hub, hub_cli, runner):
    """hub-cli (online) downloads single files at 4 revisions, two whole repos and two named files."""
    cache = runner.new_cache()
    singles = {}
    for label, f in SINGLES:
        rev, _ = revision(hub, *MODEL, label)
        proc = hub_cli.run(cli_download_args(*MODEL, [f], rev), cache_dir=cache)
        singles[(label, f)] = printed_path(proc, f"download {f} at {label}")
    snapshots = {}
    for case_id, repo_type, repo_id, label, files, extra, _ in CLI_SNAPSHOTS:
        rev, _ = revision(hub, repo_type, repo_id, label)
        proc = hub_cli.run(cli_download_args(repo_type, repo_id, files, rev, extra), cache_dir=cache)
        snapshots[case_id] = printed_path(proc, f"download {case_id}")
    return cache, singles, snapshots


def test_cli_download_layout(hub, cli_cache):
    """hub-cli printed the snapshot paths of the official layout, symlinked to blobs/<etag>."""
    cache, singles, snapshots = cli_cache
    folder = Path(cache) / repo_folder(*MODEL)
    for (label, f), printed in singles.items():
        _, info = revision(hub, *MODEL, label)
        entry = info["files"][f]
        assert Path(printed) == folder / "snapshots" / info["commit"] / f, f"{f} at {label}: printed {printed!r}"
        assert os.path.islink(printed), f"{printed} is not a symlink into blobs/"
        assert Path(os.path.realpath(printed)) == (folder / "blobs" / etag(entry)).resolve()
        assert sha256_of(printed) == entry["sha256"], f"{f} at {label}: wrong bytes"
    for case_id, repo_type, repo_id, label, _, _, selected in CLI_SNAPSHOTS:
        _, info = revision(hub, repo_type, repo_id, label)
        expected = snapshot_dir(cache, repo_type, repo_id, info["commit"])
        assert Path(snapshots[case_id]) == expected, f"{case_id}: printed {snapshots[case_id]!r}"
        assert_snapshot_folder(expected, snapshot_files(info, selected), case_id)


@pytest.fixture(scope="module")
def python_reads_cli_cache(hub, runner, cli_cache):
    """Python, offline, on hub-cli's cache: every single file, the snapshots, a scan."""
    cache, _, _ = cli_cache
    ops = []
    for label, f in SINGLES:
        rev, _ = revision(hub, *MODEL, label)
        ops.append({"op": "download", "repo_type": MODEL[0], "repo_id": MODEL[1], "filename": f, "revision": rev})
    for label, f in SINGLES:
        rev, _ = revision(hub, *MODEL, label)
        ops.append({"op": "try_cache", "repo_type": MODEL[0], "repo_id": MODEL[1], "filename": f, "revision": rev})
    for _, repo_type, repo_id, label, _, _, selected in CLI_SNAPSHOTS:
        rev, _ = revision(hub, repo_type, repo_id, label)
        op = {"op": "snapshot", "repo_type": repo_type, "repo_id": repo_id, "revision": rev}
        if selected is not None:
            op["allow_patterns"] = selected
        ops.append(op)
    ops.append({"op": "scan"})
    tag = new_tag("interop-py-offline")
    results = runner.run(ops, cache_dir=cache, offline=True, tag=tag, script=THIS)
    n = len(SINGLES)
    return {
        "download": dict(zip(SINGLES, results[:n])),
        "try_cache": dict(zip(SINGLES, results[n : 2 * n])),
        "snapshot": {c[0]: r for c, r in zip(CLI_SNAPSHOTS, results[2 * n : 2 * n + len(CLI_SNAPSHOTS)])},
        "scan": results[-1],
        "tag": tag,
    }


@pytest.mark.parametrize("label,path", SINGLES, ids=[f"{label}-{f}" for label, f in SINGLES])
def test_python_offline_finds_cli_files(hub, cli_cache, python_reads_cli_cache, label, path):
    _, singles, _ = cli_cache
    entry = revision(hub, *MODEL, label)[1]["files"][path]
    res = python_reads_cli_cache["download"][(label, path)]
    assert res["ok"], f"offline hf_hub_download of {path} at {label} failed: {describe(res)}"
    assert res["path"] == singles[(label, path)], "hf_hub_download returned another path than hub-cli printed"
    assert res["sha256"] == entry["sha256"] and res["size"] == entry["size"]
    found = python_reads_cli_cache["try_cache"][(label, path)]
    assert found["ok"] and found.get("path") == singles[(label, path)], f"try_to_load_from_cache: {found}"


@pytest.mark.parametrize("case", CLI_SNAPSHOTS, ids=[c[0] for c in CLI_SNAPSHOTS])
def test_python_offline_snapshot_is_cli_folder(cli_cache, python_reads_cli_cache, case):
    _, _, snapshots = cli_cache
    res = python_reads_cli_cache["snapshot"][case[0]]
    assert res["ok"], f"offline snapshot_download {case[0]} failed: {describe(res)}"
    assert res["path"] == snapshots[case[0]], "snapshot_download returned another folder than hub-cli printed"


def test_python_offline_sent_nothing(hub, python_reads_cli_cache):
    assert tagged_log(hub.stats(), python_reads_cli_cache["tag"]) == [], "offline mode reached the server"


def expected_cache(hub, entries) -> dict:
    """{(repo_type, repo_id): {"refs": {name: commit}, "revisions": {commit: {path: entry}}}} of what
    the `entries` (repo_type, repo_id, revision label, files or None) put in a cache."""
    out = {}
    for repo_type, repo_id, label, selected in entries:
        rev, info = revision(hub, repo_type, repo_id, label)
        repo = out.setdefault((repo_type, repo_id), {"refs": {}, "revisions": {}})
        if label != "commit":
            repo["refs"][rev] = info["commit"]
        repo["revisions"].setdefault(info["commit"], {}).update(snapshot_files(info, selected))
    return out


def test_scan_cache_dir_sees_cli_cache(hub, cli_cache, python_reads_cli_cache):
    """scan_cache_dir: the repos, revisions, refs, files and sizes hub-cli wrote, and no warning."""
    cache, _, _ = cli_cache
    scan = python_reads_cli_cache["scan"]
    assert scan["ok"], describe(scan)
    assert scan["warnings"] == [], f"scan_cache_dir warned about hub-cli's cache: {scan['warnings']}"
    assert scan["incomplete"] == [], f"hub-cli left partial files: {scan['incomplete']}"
    entries = [(*MODEL, label, FILES) for label in REVISIONS]
    entries += [(t, r, label, sel) for _, t, r, label, _, _, sel in CLI_SNAPSHOTS]
    expected = expected_cache(hub, entries)
    repos = {(r["repo_type"], r["repo_id"]): r for r in scan["repos"]}
    assert sorted(repos) == sorted(expected)
    for key, want in expected.items():
        got = repos[key]
        assert got["refs"] == want["refs"], f"{key}: refs {got['refs']} != {want['refs']}"
        assert sorted(got["revisions"]) == sorted(want["revisions"]), f"{key}: revisions"
        blobs = {}
        for commit, files in want["revisions"].items():
            rev = got["revisions"][commit]
            assert rev["files"] == {p: [etag(e), e["size"]] for p, e in files.items()}, f"{key} {commit}: files"
            unique = {etag(e): e["size"] for e in files.values()}
            assert rev["size_on_disk"] == sum(unique.values()), f"{key} {commit}: size_on_disk"
            assert rev["snapshot_path"] == str(snapshot_dir(cache, *key, commit))
            blobs.update(unique)
        assert got["size_on_disk"] == sum(blobs.values()), f"{key}: size_on_disk"
        assert got["nb_files"] == len(blobs), f"{key}: nb_files"


# ---- b. Python fills the cache, hub-cli reads it offline ----------------------------------------


@pytest.fixture(scope="module")
def python_cache(hub, runner):
    """Python (online) downloads the single files at 4 revisions and three snapshots."""
    cache = runner.new_cache()
    ops = []
    for label, f in SINGLES:
        rev, _ = revision(hub, *MODEL, label)
        ops.append({"op": "download", "repo_type": MODEL[0], "repo_id": MODEL[1], "filename": f, "revision": rev})
    for _, repo_type, repo_id, label, _, _, selected in PY_SNAPSHOTS:
        rev, _ = revision(hub, repo_type, repo_id, label)
        op = {"op": "snapshot", "repo_type": repo_type, "repo_id": repo_id, "revision": rev}
        if selected is not None:
            op["allow_patterns"] = selected
        ops.append(op)
    results = runner.run(ops, cache_dir=cache, script=THIS)
    for op, res in zip(ops, results):
        assert res["ok"], f"Python (online) {op} failed: {describe(res)}"
    n = len(SINGLES)
    return cache, dict(zip(SINGLES, results[:n])), {c[0]: r for c, r in zip(PY_SNAPSHOTS, results[n:])}


def test_cli_offline_prints_python_paths(hub, hub_cli, python_cache):
    cache, singles, snapshots = python_cache
    before = log_len(hub)
    for (label, f), res in singles.items():
        rev, info = revision(hub, *MODEL, label)
        proc = hub_cli.run(cli_download_args(*MODEL, [f], rev), cache_dir=cache, offline=True)
        printed = printed_path(proc, f"offline download {f} at {label}")
        assert printed == res["path"], f"{f} at {label}: hub-cli printed {printed!r}, Python returned {res['path']!r}"
        assert sha256_of(printed) == info["files"][f]["sha256"]
    for case_id, repo_type, repo_id, label, files, extra, selected in PY_SNAPSHOTS:
        rev, info = revision(hub, repo_type, repo_id, label)
        proc = hub_cli.run(cli_download_args(repo_type, repo_id, files, rev, extra), cache_dir=cache, offline=True)
        printed = printed_path(proc, f"offline download {case_id}")
        assert printed == snapshots[case_id]["path"], f"{case_id}: hub-cli printed {printed!r}"
        assert_snapshot_folder(Path(printed), snapshot_files(info, selected), case_id)
    # several named files: the snapshot folder
    _, v1 = revision(hub, *MODEL, "v1.0")
    proc = hub_cli.run(cli_download_args(*MODEL, ["config.json", "weights.bin"], "v1.0"), cache_dir=cache, offline=True)
    assert printed_path(proc, "offline download of two files") == str(snapshot_dir(cache, *MODEL, v1["commit"]))
    assert log_since(hub, before) == [], f"offline hub-cli reached the server: {fmt(log_since(hub, before))}"


def test_cli_offline_fails_on_what_python_never_downloaded(hub, hub_cli, python_cache):
    cache, _, _ = python_cache
    before = log_len(hub)
    cases = [
        ("a file never downloaded", cli_download_args(*MODEL, ["README.md"], "v1.0")),
        ("a revision never downloaded", cli_download_args("dataset", "acme/tiny-dataset", ["config.json"], "v1.0")),
        ("a snapshot never downloaded", cli_download_args("dataset", "acme/tiny-dataset", [], "main")),
    ]
    for what, args in cases:
        assert_one_offline_error(hub_cli.run(args, cache_dir=cache, offline=True), what)
    assert log_since(hub, before) == [], f"offline hub-cli reached the server: {fmt(log_since(hub, before))}"


def test_cli_offline_refuses_a_snapshot_python_knows_is_incomplete(hub, hub_cli, runner):
    """Python fetched only `*.json` of a repo but saved its whole file list (trees/<commit>.json).
    Offline, Python's snapshot_download of the whole repo raises IncompleteSnapshotError; hub-cli must
    fail too rather than print a folder that lacks files."""
    cache = runner.new_cache()
    whole = {"op": "snapshot", "repo_type": MODEL[0], "repo_id": MODEL[1]}
    [online] = runner.run([{**whole, "allow_patterns": ["*.json"]}], cache_dir=cache, script=THIS)
    assert online["ok"], describe(online)
    [python] = runner.run([whole], cache_dir=cache, offline=True, script=THIS)
    assert not python["ok"] and python["exc"] == "IncompleteSnapshotError", describe(python)
    proc = hub_cli.run(["download", MODEL[1]], cache_dir=cache, offline=True)
    printed = proc.stdout.strip()
    holds = sorted(p.name for p in Path(printed).iterdir()) if printed and Path(printed).is_dir() else None
    assert proc.returncode == 1 and proc.stdout == "", (
        f"offline hub-cli printed {printed!r} (exit {proc.returncode}), a snapshot folder holding only {holds}"
    )
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines


# ---- c. local_dir, both ways --------------------------------------------------------------------

LOCAL_FILES = ["weights.bin", "nested/deep/file.txt", "unicode/café ü ñ.txt"]


def local_ops(local_dir: Path) -> list[dict]:
    return [
        {"op": "download", "repo_type": MODEL[0], "repo_id": MODEL[1], "filename": f, "local_dir": str(local_dir)}
        for f in LOCAL_FILES
    ]


def test_cli_reuses_python_local_dir(hub, hub_cli, runner, tmp_path):
    """Python's local_dir metadata is accepted by hub-cli, offline and online: no byte is fetched again."""
    main = revision(hub, *MODEL, "main")[1]
    local_dir = tmp_path / "python-local"
    results = runner.run(local_ops(local_dir), cache_dir=runner.new_cache(), script=THIS)
    for f, res in zip(LOCAL_FILES, results):
        assert res["ok"], f"Python local_dir download of {f}: {describe(res)}"
        assert Path(res["path"]) == local_dir / f and not res["islink"]
        assert (local_dir / ".cache" / "huggingface" / "download" / f"{f}.metadata").is_file()
    mtimes = {f: (local_dir / f).stat().st_mtime_ns for f in LOCAL_FILES}
    empty_cache = runner.new_cache()

    before = log_len(hub)
    for f in LOCAL_FILES:
        args = cli_download_args(*MODEL, [f], "main", ["--local-dir", str(local_dir)])
        printed = printed_path(hub_cli.run(args, cache_dir=empty_cache, offline=True), f"offline --local-dir {f}")
        assert Path(printed) == local_dir / f
    assert log_since(hub, before) == [], "offline hub-cli reached the server"

    for f in LOCAL_FILES:
        args = cli_download_args(*MODEL, [f], "main", ["--local-dir", str(local_dir)])
        printed = printed_path(hub_cli.run(args, cache_dir=empty_cache), f"online --local-dir {f}")
        assert Path(printed) == local_dir / f
    log = log_since(hub, before)
    assert [e for e in log if e["method"] == "HEAD"], "online hub-cli asked nothing (the test would prove nothing)"
    assert body_gets(log) == [], f"hub-cli downloaded again what Python put in local_dir: {fmt(body_gets(log))}"
    for f in LOCAL_FILES:
        assert (local_dir / f).stat().st_mtime_ns == mtimes[f], f"hub-cli rewrote {f}"
        assert sha256_of(local_dir / f) == main["files"][f]["sha256"]
    assert not any(empty_cache.iterdir()), "a --local-dir download must not fill the cache"


def test_python_reuses_cli_local_dir(hub, hub_cli, runner, tmp_path):
    """hub-cli's local_dir metadata is accepted by Python: the second download fetches no byte."""
    main = revision(hub, *MODEL, "main")[1]
    local_dir = tmp_path / "cli-local"
    cache = runner.new_cache()
    for f in LOCAL_FILES:
        args = cli_download_args(*MODEL, [f], "main", ["--local-dir", str(local_dir)])
        printed = printed_path(hub_cli.run(args, cache_dir=cache), f"--local-dir {f}")
        assert Path(printed) == local_dir / f
        assert not os.path.islink(printed) and sha256_of(printed) == main["files"][f]["sha256"]
        assert (local_dir / ".cache" / "huggingface" / "download" / f"{f}.metadata").is_file()
    mtimes = {f: (local_dir / f).stat().st_mtime_ns for f in LOCAL_FILES}

    tag = new_tag("interop-local-dir")
    results = runner.run(local_ops(local_dir), cache_dir=cache, tag=tag, script=THIS)
    for f, res in zip(LOCAL_FILES, results):
        assert res["ok"], f"Python local_dir download of {f}: {describe(res)}"
        assert Path(res["path"]) == local_dir / f
        assert res["sha256"] == main["files"][f]["sha256"]
        assert (local_dir / f).stat().st_mtime_ns == mtimes[f], f"Python rewrote {f}"
    log = tagged_log(hub.stats(), tag)
    assert log, "Python asked nothing of the hub (the test would prove nothing)"
    assert body_gets(log) == [], f"Python downloaded again what hub-cli put in local_dir: {fmt(body_gets(log))}"


def test_python_snapshot_reuses_cli_local_dir(hub, hub_cli, runner, tmp_path):
    """A whole repo put in a local_dir by hub-cli: Python's snapshot_download fetches no byte."""
    main = revision(hub, *MODEL, "main")[1]
    local_dir = tmp_path / "cli-snapshot"
    cache = runner.new_cache()
    args = cli_download_args(*MODEL, [], "main", ["--local-dir", str(local_dir)])
    printed = printed_path(hub_cli.run(args, cache_dir=cache), "--local-dir snapshot")
    assert Path(printed).resolve() == local_dir.resolve()
    tag = new_tag("interop-local-snapshot")
    [res] = runner.run(
        [{"op": "snapshot", "repo_type": MODEL[0], "repo_id": MODEL[1], "local_dir": str(local_dir)}],
        cache_dir=cache,
        tag=tag,
        script=THIS,
    )
    assert res["ok"], describe(res)
    assert Path(res["path"]).resolve() == local_dir.resolve()
    for path, entry in main["files"].items():
        assert sha256_of(local_dir / path) == entry["sha256"], path
    log = tagged_log(hub.stats(), tag)
    assert log, "Python asked nothing of the hub (the test would prove nothing)"
    assert body_gets(log) == [], f"Python downloaded again what hub-cli put in local_dir: {fmt(body_gets(log))}"


# ---- d. local_files_only while online -----------------------------------------------------------


def test_python_local_files_only_finds_cli_download(hub, hub_cli, runner):
    """HF_HUB_OFFLINE unset (0): hf_hub_download(local_files_only=True) serves hub-cli's files."""
    cache = runner.new_cache()
    repo = "julien-c/EsperBERTo-small"
    info = hub.repo("model", repo)["revisions"]["main"]
    paths = {}
    for f in ["pytorch_model.bin", "config.json", "vocab.json"]:
        paths[f] = printed_path(hub_cli.run(["download", repo, f], cache_dir=cache), f"download {f}")
    tag = new_tag("interop-local-only")
    ops = [{"op": "download", "repo_id": repo, "filename": f, "local_files_only": True} for f in paths]
    ops += [
        {"op": "download", "repo_id": repo, "filename": f, "revision": info["commit"], "local_files_only": True}
        for f in paths
    ]
    results = runner.run(ops, cache_dir=cache, offline=False, tag=tag, script=THIS)
    for op, res in zip(ops, results):
        f = op["filename"]
        assert res["ok"], f"local_files_only {op}: {describe(res)}"
        assert res["path"] == paths[f], f"{f}: Python returned {res['path']!r}, hub-cli printed {paths[f]!r}"
        assert res["sha256"] == info["files"][f]["sha256"]
    assert tagged_log(hub.stats(), tag) == [], "local_files_only reached the server"


# ---- the scenario script (a fresh interpreter per scenario) -------------------------------------


def _scan() -> dict:
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir()
    repos = []
    for repo in info.repos:
        revisions = {}
        for rev in repo.revisions:
            revisions[rev.commit_hash] = {
                "refs": sorted(rev.refs),
                "size_on_disk": rev.size_on_disk,
                "snapshot_path": str(rev.snapshot_path),
                "files": {
                    f.file_path.relative_to(rev.snapshot_path).as_posix(): [f.blob_path.name, f.size_on_disk]
                    for f in rev.files
                },
            }
        repos.append(
            {
                "repo_type": repo.repo_type,
                "repo_id": repo.repo_id,
                "size_on_disk": repo.size_on_disk,
                "nb_files": repo.nb_files,
                "refs": {name: rev.commit_hash for name, rev in repo.refs.items()},
                "revisions": revisions,
            }
        )
    return {
        "ok": True,
        "repos": repos,
        "warnings": [str(w) for w in info.warnings],
        "incomplete": sorted(str(f.file_path) for f in info.incomplete_files),
    }


def _child_main(ops_path: str, results_path: str) -> None:
    """Runs OPS.json (ops of _scenario.py, plus `snapshot` (snapshot_download kwargs) and `scan`);
    keyword arguments are passed through, so `local_dir`, `local_files_only`, `allow_patterns` work."""
    from _scenario import _describe_error, _describe_file

    from huggingface_hub import hf_hub_download, snapshot_download, try_to_load_from_cache

    with open(ops_path, encoding="utf-8") as f:
        ops = json.load(f)
    results = []
    for op in ops:
        kind = op.pop("op")
        try:
            if kind == "download":
                results.append(_describe_file(hf_hub_download(**op)))
            elif kind == "try_cache":
                results.append(_describe_file(try_to_load_from_cache(**op)))
            elif kind == "snapshot":
                results.append({"ok": True, "path": snapshot_download(**op)})
            elif kind == "scan":
                results.append(_scan())
            else:
                raise ValueError(f"unknown op {kind!r}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
            results.append(_describe_error(exc))
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    _child_main(sys.argv[1], sys.argv[2])
