"""One cache, two clients at once: the official `huggingface_hub` 2.4 and our `hub-cli`.

- Both download the same repo into one cache at the same time; then Python's `scan_cache_dir()`
  sees it without a warning or a partial file, and `hub-cli cache verify` finds every file valid.
- Python's per-process partial file (`blobs/<etag>.<8 hex>.incomplete`, v1.18+) is left alone by
  hub-cli: its name is read from a live, slowed-down Python download, and one of that shape
  made of digits only (which hub-cli once took for one of its own pids) survives a hub-cli
  download of the same blob.
- Python 2.4's shared blob store (`<cache>/blobs/<xx>/<hash>`, per-repo `blobs/<etag>` links into
  it), built by Python's own `publish_blob_to_shared_store`: hub-cli finds the files offline and
  online without downloading them again, verifies them, replaces a per-repo link on
  `--force-download` without writing into the store, and Python reads the cache afterwards.

This file is also the scenario script (`_child_main` at the bottom), as test_interop.py is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
import threading
import time
from pathlib import Path

from conftest import describe, repo_folder

THIS = Path(__file__).resolve()

MODEL = ("model", "acme/tiny-model")


def sha256_of(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def etag(entry: dict) -> str:
    return entry["sha256"] if entry["lfs"] else entry["git_oid"]


def main_files(hub) -> tuple[str, dict]:
    info = hub.repo(*MODEL)["revisions"]["main"]
    return info["commit"], info["files"]


def body_gets(log: list[dict]) -> list[dict]:
    return [
        e
        for e in log
        if e["method"] == "GET" and (e["host"] == "cdn" or (e["host"] == "hub" and "/resolve/" in e["path"]))
    ]


def assert_python_scan_clean(runner, cache: Path, what: str) -> dict:
    [scan] = runner.run([{"op": "scan"}], cache_dir=cache, offline=True, script=THIS)
    assert scan["ok"], f"{what}: scan_cache_dir failed: {describe(scan)}"
    assert scan["warnings"] == [], f"{what}: scan_cache_dir warned: {scan['warnings']}"
    assert scan["incomplete"] == [], f"{what}: partial files left: {scan['incomplete']}"
    return scan


def assert_cli_verify(hub_cli, cache: Path, what: str):
    proc = hub_cli.run(["cache", "verify", MODEL[1]], cache_dir=cache, offline=True)
    assert proc.returncode == 0, f"{what}: hub-cli cache verify failed: {proc.stdout}{proc.stderr}"


def test_python_and_cli_download_one_repo_at_once(hub, hub_cli, runner):
    """Two rounds of a Python snapshot_download and a hub-cli download of the same repo, started
    together into one empty cache: both succeed, with the right bytes, and the cache is valid
    for both clients."""
    commit, files = main_files(hub)
    for round_ in range(2):
        cache = runner.new_cache()
        results: dict = {}

        def python():
            results["py"] = runner.run(
                [{"op": "snapshot", "repo_id": MODEL[1], "repo_type": MODEL[0]}], cache_dir=cache, script=THIS
            )

        def cli():
            results["cli"] = hub_cli.run(["download", MODEL[1]], cache_dir=cache)

        threads = [threading.Thread(target=python), threading.Thread(target=cli)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        [py] = results["py"]
        assert py["ok"], f"round {round_}: Python failed: {describe(py)}"
        proc = results["cli"]
        assert proc.returncode == 0, f"round {round_}: hub-cli failed: {proc.stderr}"
        folder = Path(cache) / repo_folder(*MODEL) / "snapshots" / commit
        assert proc.stdout.strip() == str(folder) and Path(py["path"]) == folder
        for path, entry in files.items():
            assert sha256_of(folder / path) == entry["sha256"], f"round {round_}: {path} has wrong bytes"
        assert_python_scan_clean(runner, cache, f"round {round_}")
        assert_cli_verify(hub_cli, cache, f"round {round_}")


PYTHON_PARTIAL = re.compile(r"(?P<etag>[0-9a-f]{40}|[0-9a-f]{64})\.(?P<hex>[0-9a-f]{8})\.incomplete")


def test_python_partial_files_are_left_alone(hub, hub_cli, runner):
    commit, files = main_files(hub)
    entry = files["weights.bin"]
    blob = etag(entry)
    blobs = Path(runner.new_cache())
    cache = blobs
    blobs = cache / repo_folder(*MODEL) / "blobs"

    # A live Python download, slowed down: its partial file's name.
    hub.reset()
    hub.faults(trickle={"after_bytes": 1, "bytes_per_sec": max(1, entry["size"] // 3), "count": 1})
    results: dict = {}
    t = threading.Thread(
        target=lambda: results.setdefault(
            "py",
            runner.run(
                [{"op": "download", "repo_id": MODEL[1], "filename": "weights.bin"}], cache_dir=cache, script=THIS
            ),
        )
    )
    t.start()
    seen = None
    deadline = time.monotonic() + 60
    while seen is None and time.monotonic() < deadline and t.is_alive():
        if blobs.is_dir():
            seen = next((p.name for p in blobs.iterdir() if p.name.endswith(".incomplete")), None)
        time.sleep(0.02)
    t.join()
    hub.reset()
    assert seen is not None, "no partial file seen during Python's slowed-down download"
    m = PYTHON_PARTIAL.fullmatch(seen)
    assert m and m["etag"] == blob, f"Python's partial file is {seen!r}, not <etag>.<8 hex>.incomplete"
    [py] = results["py"]
    assert py["ok"], describe(py)

    # One of that shape, all digits (the pid of no process), beside a blob hub-cli must write.
    (blobs / blob).unlink()
    partial = blobs / f"{blob}.{'9' * 8}.incomplete"
    partial.write_bytes(b"a live Python download's first bytes")
    proc = hub_cli.run(["download", MODEL[1], "weights.bin", "--force-download"], cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    assert sha256_of(blobs / blob) == entry["sha256"]
    assert partial.read_bytes() == b"a live Python download's first bytes", "hub-cli touched Python's partial file"


def test_cli_uses_python_shared_blob_store(hub, hub_cli, runner):
    commit, files = main_files(hub)
    cache = Path(runner.new_cache())
    [py] = runner.run([{"op": "snapshot", "repo_id": MODEL[1]}], cache_dir=cache, script=THIS)
    assert py["ok"], describe(py)
    # Python's own functions move every blob into the store and leave a symlink.
    [pub] = runner.run([{"op": "publish_shared", "repo_folder": repo_folder(*MODEL)}], cache_dir=cache, script=THIS)
    assert pub["ok"], describe(pub)
    blobs = cache / repo_folder(*MODEL) / "blobs"
    store = cache / "blobs"
    assert (store / ".huggingface-shared-blobs").is_file()
    linked = sorted(p.name for p in blobs.iterdir() if p.is_symlink())
    assert linked == sorted({etag(e) for e in files.values()}), f"not all blobs shared: {linked}"
    # One per-repo blob a hard link into the store instead.
    hard = etag(files["config.json"])
    target = (blobs / hard).resolve()
    (blobs / hard).unlink()
    os.link(target, blobs / hard)
    store_files = {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and not p.name.startswith(".")}
    store_files = {p: b for p, b in store_files.items() if not p.name.endswith((".refs", ".lock"))}
    assert len(store_files) == len(linked)

    folder = cache / repo_folder(*MODEL) / "snapshots" / commit
    for offline in (True, False):
        before = len(hub.stats()["log"])
        for path in files:
            proc = hub_cli.run(["download", MODEL[1], path], cache_dir=cache, offline=offline)
            assert proc.returncode == 0, f"offline={offline} {path}: {proc.stderr}"
            assert proc.stdout.strip() == str(folder / path)
        gets = body_gets(hub.stats()["log"][before:])
        assert gets == [], f"offline={offline}: hub-cli downloaded again: {gets}"
    assert_cli_verify(hub_cli, cache, "shared store")

    # force_download replaces the per-repo names, never the store's files.
    for path in ("weights.bin", "config.json"):
        proc = hub_cli.run(["download", MODEL[1], path, "--force-download"], cache_dir=cache)
        assert proc.returncode == 0, proc.stderr
        name = blobs / etag(files[path])
        assert stat.S_ISREG(name.lstat().st_mode), f"{path}: the per-repo blob is still a link"
    for p, content in store_files.items():
        assert p.read_bytes() == content, f"{p} was written through"
        assert not p.stat().st_mode & 0o222, f"{p} is no longer read-only"
    assert os.stat(target).st_nlink == 1, "the hard link was written through, not replaced"

    assert_cli_verify(hub_cli, cache, "after force_download")
    assert_python_scan_clean(runner, cache, "after hub-cli's writes")
    ops = [{"op": "download", "repo_id": MODEL[1], "filename": p, "local_files_only": True} for p in files]
    for path, res in zip(files, runner.run(ops, cache_dir=cache, offline=True, script=THIS)):
        assert res["ok"], f"Python cannot read {path} after hub-cli's writes: {describe(res)}"
        assert res["sha256"] == files[path]["sha256"]


# ---- the scenario script (a fresh interpreter per scenario) -------------------------------------


def _publish_shared(repo_folder: str) -> dict:
    """Every blob of the repo into Python 2.4's shared store, through its own function (the
    TestHub serves no Xet, so Python never does it by itself here): the blob's sha256 stands for
    its Xet hash."""
    from huggingface_hub import constants
    from huggingface_hub.utils._shared_blobs import publish_blob_to_shared_store

    cache = Path(constants.HF_HUB_CACHE)
    published = []
    for blob in sorted((cache / repo_folder / "blobs").iterdir()):
        ok = publish_blob_to_shared_store(
            blob_path=str(blob),
            xet_hash=hashlib.sha256(blob.read_bytes()).hexdigest(),
            cache_dir=cache,
            expected_size=blob.stat().st_size,
        )
        if not ok:
            return {"ok": False, "exc": "NotPublished", "message": str(blob)}
        published.append(blob.name)
    return {"ok": True, "published": published}


def _child_main(ops_path: str, results_path: str) -> None:
    from _scenario import _describe_error, _describe_file
    from test_interop import _scan

    from huggingface_hub import hf_hub_download, snapshot_download

    with open(ops_path, encoding="utf-8") as f:
        ops = json.load(f)
    results = []
    for op in ops:
        kind = op.pop("op")
        try:
            if kind == "download":
                results.append(_describe_file(hf_hub_download(**op)))
            elif kind == "snapshot":
                results.append({"ok": True, "path": snapshot_download(**op)})
            elif kind == "scan":
                results.append(_scan())
            elif kind == "publish_shared":
                results.append(_publish_shared(**op))
            else:
                raise ValueError(f"unknown op {kind!r}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
            results.append(_describe_error(exc))
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    sys.path.insert(0, str(THIS.parent))
    _child_main(sys.argv[1], sys.argv[2])
