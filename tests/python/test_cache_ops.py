"""Cache operator tools: our `hub-cli cache …` over caches the official client made or reads.

- The Python 2.4 shared blob store, built by Python's own `publish_blob_to_shared_store`: hub-cli
  counts a shared payload once (the total Python's `scan_cache_dir` reports), and `cache rm` of
  one repo leaves the other repo's file and a manifest Python finds consistent; removing the last
  user removes the payload.
- `cache verify` leaves stamps where `scan_cache_dir` sees nothing: no warning, same repos.
- `cache export` then `cache import` into an empty cache: `try_to_load_from_cache` finds every file
  and `scan_cache_dir` reads the cache without a warning.

Python's functions run in this process with an explicit `cache_dir`, so the environment they read at
import time does not matter.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from huggingface_hub import scan_cache_dir, try_to_load_from_cache
from huggingface_hub.utils import _shared_blobs

C1 = "1" * 40
C2 = "2" * 40


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def put_file(repo: Path, commit: str, name: str, data: bytes, etag: str) -> None:
    """`blobs/<etag>` with `data`, and the relative symlink `snapshots/<commit>/<name>` to it."""
    blob = repo / "blobs" / etag
    blob.parent.mkdir(parents=True, exist_ok=True)
    if not blob.exists():
        blob.write_bytes(data)
    pointer = repo / "snapshots" / commit / name
    pointer.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(blob, pointer.parent), pointer)


def put_ref(repo: Path, name: str, commit: str) -> None:
    ref = repo / "refs" / name
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)


WEIGHTS = b"w" * 5000
CONFIG_A = b'{"a": 1}\n'
CONFIG_B = b'{"b": 2}\n'


def shared_cache(root: Path) -> Path:
    """Two models with the same LFS weights, published to the shared store by Python itself."""
    cache = root / "hub"
    for name, config in [("models--acme--a", CONFIG_A), ("models--acme--b", CONFIG_B)]:
        repo = cache / name
        put_file(repo, C1, "weights.bin", WEIGHTS, sha256(WEIGHTS))
        put_file(repo, C1, "config.json", config, git_blob_id(config))
        put_ref(repo, "main", C1)
        # A Xet hash is its own 64-hex name, not the sha256: any valid one names the payload.
        published = _shared_blobs.publish_blob_to_shared_store(
            blob_path=str(repo / "blobs" / sha256(WEIGHTS)),
            xet_hash="ab" + "c" * 62,
            cache_dir=cache,
            expected_size=len(WEIGHTS),
        )
        assert published, "Python could not publish to its shared store"
    return cache


def store_payload(cache: Path) -> Path:
    return cache / "blobs" / "ab" / ("ab" + "c" * 62)


def manifest_lines(cache: Path) -> list[str]:
    path = store_payload(cache).with_name("ab" + "c" * 62 + ".refs")
    return sorted(path.read_text().splitlines()) if path.exists() else []


def cli_json(hub_cli, args: list[str], cache: Path):
    proc = hub_cli.run(args + ["--cache-dir", str(cache)], cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_shared_store_counted_once_and_rm_keeps_the_other_repo(hub_cli, tmp_path):
    cache = shared_cache(tmp_path)
    for name in ["models--acme--a", "models--acme--b"]:
        assert (cache / name / "blobs" / sha256(WEIGHTS)).is_symlink(), "the layout of Python 2.4"
    py = scan_cache_dir(cache)
    assert not py.warnings
    physical = len(WEIGHTS) + len(CONFIG_A) + len(CONFIG_B)
    assert py.size_on_disk == physical

    table = cli_json(hub_cli, ["cache", "ls"], cache).stdout
    assert "Scanned 2 repo(s) for a total of 5.0K." in table, table
    repos = json.loads(cli_json(hub_cli, ["cache", "ls", "--json"], cache).stdout)
    assert sorted(r["repo_id"] for r in repos) == ["acme/a", "acme/b"]
    assert all(r["size_on_disk"] == len(WEIGHTS) + 9 for r in repos)

    # Removing a: b's weights still read, the manifest lists only b's link, nothing dangles.
    proc = hub_cli.run(["cache", "rm", "model/acme/a", "-y", "--cache-dir", str(cache)], cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    assert "Will free 9B." in proc.stdout, proc.stdout
    assert not (cache / "models--acme--a").exists()
    b_weights = try_to_load_from_cache("acme/b", "weights.bin", cache_dir=cache)
    assert isinstance(b_weights, str) and Path(b_weights).read_bytes() == WEIGHTS
    assert manifest_lines(cache) == [f"models--acme--b/blobs/{sha256(WEIGHTS)}"]
    assert _shared_blobs.unreferenced_shared_blobs(cache) == {}
    py = scan_cache_dir(cache)
    assert not py.warnings and [r.repo_id for r in py.repos] == ["acme/b"]

    # Removing b, the last user: the payload and its manifest go, as Python's own rm does.
    proc = hub_cli.run(["cache", "rm", "model/acme/b", "-y", "--cache-dir", str(cache)], cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    assert "Will free 5.0K." in proc.stdout, proc.stdout
    assert not store_payload(cache).exists()
    assert manifest_lines(cache) == []
    assert scan_cache_dir(cache).size_on_disk == 0


def test_verify_stamps_are_invisible_to_python(hub_cli, tmp_path):
    cache = shared_cache(tmp_path)
    before = scan_cache_dir(cache)
    proc = hub_cli.run(["cache", "verify", "--cache-dir", str(cache)], cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    assert "(4 hashed, 0 unchanged since verified;" in proc.stderr, proc.stderr
    assert (cache / "models--acme--a" / ".hub-verified.json").is_file()
    after = scan_cache_dir(cache)
    assert not after.warnings, after.warnings
    assert sorted(r.repo_id for r in after.repos) == sorted(r.repo_id for r in before.repos)
    assert after.size_on_disk == before.size_on_disk
    proc = hub_cli.run(["cache", "verify", "--cache-dir", str(cache)], cache_dir=cache)
    assert "(0 hashed, 4 unchanged since verified;" in proc.stderr, proc.stderr


def test_export_import_is_found_by_python(hub_cli, tmp_path):
    source = shared_cache(tmp_path / "src")
    # A second revision of a, with a nested file; only main's is exported.
    repo = source / "models--acme--a"
    put_file(repo, C2, "nested/deep.txt", b"deep\n", git_blob_id(b"deep\n"))
    archive = tmp_path / "bundle.tar"
    proc = hub_cli.run(
        ["cache", "export", "acme/a@main", "acme/b", "-o", str(archive), "--cache-dir", str(source)],
        cache_dir=source,
    )
    assert proc.returncode == 0, proc.stderr
    target = tmp_path / "airgap" / "hub"
    proc = hub_cli.run(["cache", "import", str(archive), "--cache-dir", str(target)], cache_dir=target)
    assert proc.returncode == 0, proc.stderr
    for repo_id, config in [("acme/a", CONFIG_A), ("acme/b", CONFIG_B)]:
        for name, data in [("weights.bin", WEIGHTS), ("config.json", config)]:
            found = try_to_load_from_cache(repo_id, name, cache_dir=target)
            assert isinstance(found, str), (repo_id, name, found)
            assert Path(found).read_bytes() == data
            assert Path(found).is_symlink() and not os.path.isabs(os.readlink(found))
    assert try_to_load_from_cache("acme/a", "nested/deep.txt", cache_dir=target, revision=C2) is None
    py = scan_cache_dir(target)
    assert not py.warnings, py.warnings
    assert sorted(r.repo_id for r in py.repos) == ["acme/a", "acme/b"]
    assert all({ref for rev in r.revisions for ref in rev.refs} == {"main"} for r in py.repos)
