"""hf_hub_download (official client) against the TestHub default seed.

Expectations come from the seed manifest printed by testhub (computed from the bytes the seeder
wrote), and from the cache layout in docs/protocol/cache.md#repo-folders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import assert_downloaded, describe, new_tag, repo_folder, tagged_log

TINY_REPOS = [
    ("model", "acme/tiny-model"),
    ("dataset", "acme/tiny-dataset"),
    ("space", "acme/tiny-space"),
]
# (label, revision to pass; None = "the full commit sha of main")
REVISIONS = ["main", "dev", "v1.0", "commit", "refs/pr/1"]
FILES = [
    ".gitattributes",
    "README.md",
    "config.json",  # regular file, differs between revisions
    "weights.bin",  # LFS
    "nested/deep/file.txt",  # nested
    "unicode/café ü ñ.txt",  # unicode
]
MATRIX = [(t, r, rev, f) for t, r in TINY_REPOS for rev in REVISIONS for f in FILES]
MATRIX += [(t, r, "dev", "dev-only.txt") for t, r in TINY_REPOS]


def _revision_info(hub, repo_type, repo_id, label):
    """(revision argument, manifest revision entry) for a revision label."""
    revs = hub.repo(repo_type, repo_id)["revisions"]
    key = "main" if label == "commit" else label
    assert key in revs, f"seed manifest of {repo_id} has no revision {key!r} (has {sorted(revs)})"
    info = revs[key]
    return (info["commit"] if label == "commit" else label), info


@pytest.fixture(scope="module")
def matrix(hub, runner):
    """All matrix downloads in one fresh interpreter, one fresh cache."""
    cache = runner.new_cache()
    ops = []
    for repo_type, repo_id, label, path in MATRIX:
        revision, _ = _revision_info(hub, repo_type, repo_id, label)
        ops.append({"op": "download", "repo_type": repo_type, "repo_id": repo_id, "revision": revision, "filename": path})
    results = runner.run(ops, cache_dir=cache)
    return cache, {key: res for key, res in zip(MATRIX, results)}


@pytest.mark.parametrize("repo_type,repo_id,label,path", MATRIX, ids=[f"{t}-{rev}-{p}" for t, _, rev, p in MATRIX])
def test_download_matrix(hub, matrix, repo_type, repo_id, label, path):
    cache, results = matrix
    _, info = _revision_info(hub, repo_type, repo_id, label)
    assert path in info["files"], f"seed manifest lacks {path!r} at {label}"
    assert_downloaded(
        results[(repo_type, repo_id, label, path)],
        cache_dir=cache,
        repo_type=repo_type,
        repo_id=repo_id,
        commit=info["commit"],
        path=path,
        entry=info["files"][path],
    )


@pytest.mark.parametrize("repo_type,repo_id", TINY_REPOS, ids=[t for t, _ in TINY_REPOS])
def test_matrix_refs(hub, matrix, repo_type, repo_id):
    """refs/<revision> holds the commit each named revision resolved to (from X-Repo-Commit)."""
    cache, _ = matrix
    folder = Path(cache) / repo_folder(repo_type, repo_id)
    revs = hub.repo(repo_type, repo_id)["revisions"]
    for rev in ["main", "dev", "v1.0", "refs/pr/1"]:
        ref = folder / "refs" / rev
        assert ref.is_file(), f"{ref} was not written"
        assert ref.read_text().strip() == revs[rev]["commit"], f"refs/{rev} does not hold the seeded commit"
    # the 4 named revisions are 4 distinct commits (dev and refs/pr/1 are children of main, v1.0 its parent)
    assert len({revs[r]["commit"] for r in ["main", "dev", "v1.0", "refs/pr/1"]}) == 4
    # a download by full commit sha writes no ref named after the sha
    assert not (folder / "refs" / revs["main"]["commit"]).exists()
    # one blob per distinct content, shared across revisions
    blobs = {p.name for p in (folder / "blobs").iterdir() if not p.name.endswith(".incomplete")}
    expected = set()
    for rev in ["main", "dev", "v1.0", "refs/pr/1"]:
        for path, e in revs[rev]["files"].items():
            if path in FILES or path == "dev-only.txt":
                expected.add(e["sha256"] if e["lfs"] else e["git_oid"])
    assert blobs == expected


def test_esperberto_example(hub, runner):
    """The seed's example repo, julien-c/EsperBERTo-small, every file including the LFS pytorch_model.bin."""
    cache = runner.new_cache()
    repo = hub.repo("model", "julien-c/EsperBERTo-small")
    info = repo["revisions"]["main"]
    paths = ["pytorch_model.bin", "config.json", "merges.txt", "vocab.json", "README.md"]
    ops = [{"op": "download", "repo_id": "julien-c/EsperBERTo-small", "filename": p} for p in paths]
    results = runner.run(ops, cache_dir=cache)
    assert info["files"]["pytorch_model.bin"]["lfs"], "pytorch_model.bin should be an LFS file in the seed"
    for p, res in zip(paths, results):
        assert_downloaded(
            res,
            cache_dir=cache,
            repo_type="model",
            repo_id="julien-c/EsperBERTo-small",
            commit=info["commit"],
            path=p,
            entry=info["files"][p],
        )
    assert (Path(cache) / "models--julien-c--EsperBERTo-small" / "refs" / "main").read_text() == info["commit"]


def test_renamed_repo(hub, runner):
    """acme/old-tiny-model answers with a relative 307 to acme/tiny-model; the client follows it."""
    cache = runner.new_cache()
    tag = new_tag("renamed")
    target = hub.repo("model", "acme/tiny-model")["revisions"]["main"]
    paths = ["config.json", "weights.bin", "unicode/café ü ñ.txt"]
    ops = [{"op": "download", "repo_id": "acme/old-tiny-model", "filename": p} for p in paths]
    results = runner.run(ops, cache_dir=cache, tag=tag)
    for p, res in zip(paths, results):
        # the client caches under the name it was asked for, with the commit of the new repo
        assert_downloaded(
            res,
            cache_dir=cache,
            repo_type="model",
            repo_id="acme/old-tiny-model",
            commit=target["commit"],
            path=p,
            entry=target["files"][p],
        )
    log = tagged_log(hub.stats(), tag)
    redirects = [e for e in log if e["host"] == "hub" and "/acme/old-tiny-model/" in e["path"]]
    assert redirects, "no request for acme/old-tiny-model reached the hub"
    assert all(e["status"] == 307 for e in redirects), [(e["method"], e["path"], e["status"]) for e in redirects]


# ---- errors ------------------------------------------------------------------------------------

# (id, op, expected exception class name, allowed statuses, expected X-Error-Code)
ERROR_CASES = [
    ("missing-repo-anon", {"repo_id": "acme/does-not-exist", "filename": "config.json"},
     "RepositoryNotFoundError", {401, 404}, "RepoNotFound"),
    ("missing-repo-alice", {"repo_id": "acme/does-not-exist", "filename": "config.json", "token_name": "alice"},
     "RepositoryNotFoundError", {401, 404}, "RepoNotFound"),
    ("missing-dataset-anon", {"repo_type": "dataset", "repo_id": "acme/tiny-model", "filename": "config.json"},
     "RepositoryNotFoundError", {401, 404}, "RepoNotFound"),
    ("private-anon", {"repo_id": "acme/private-model", "filename": "config.json"},
     "RepositoryNotFoundError", {401}, "RepoNotFound"),
    ("private-anon-lfs", {"repo_id": "acme/private-model", "filename": "weights.bin"},
     "RepositoryNotFoundError", {401}, "RepoNotFound"),
    ("private-bob", {"repo_id": "acme/private-model", "filename": "config.json", "token_name": "bob"},
     "RepositoryNotFoundError", {401, 404}, "RepoNotFound"),
    ("revision-missing", {"repo_id": "acme/tiny-model", "filename": "config.json", "revision": "no-such-branch"},
     "RevisionNotFoundError", {404}, "RevisionNotFound"),
    ("revision-missing-dataset",
     {"repo_type": "dataset", "repo_id": "acme/tiny-dataset", "filename": "config.json", "revision": "no-such-branch"},
     "RevisionNotFoundError", {404}, "RevisionNotFound"),
    ("revision-missing-sha", {"repo_id": "acme/tiny-model", "filename": "config.json", "revision": "0" * 40},
     "RevisionNotFoundError", {404}, "RevisionNotFound"),
    ("entry-missing", {"repo_id": "acme/tiny-model", "filename": "does-not-exist.txt"},
     "RemoteEntryNotFoundError", {404}, "EntryNotFound"),
    ("entry-missing-space", {"repo_type": "space", "repo_id": "acme/tiny-space", "filename": "nested/nope.bin"},
     "RemoteEntryNotFoundError", {404}, "EntryNotFound"),
    ("entry-missing-at-v1.0", {"repo_id": "acme/tiny-model", "filename": "dev-only.txt", "revision": "v1.0"},
     "RemoteEntryNotFoundError", {404}, "EntryNotFound"),
    ("gated-anon", {"repo_id": "acme/gated-model", "filename": "config.json"},
     "GatedRepoError", {401}, "GatedRepo"),
    ("gated-anon-lfs", {"repo_id": "acme/gated-model", "filename": "weights.bin"},
     "GatedRepoError", {401}, "GatedRepo"),
    ("gated-bob", {"repo_id": "acme/gated-model", "filename": "config.json", "token_name": "bob"},
     "GatedRepoError", {403}, "GatedRepo"),
]


@pytest.fixture(scope="module")
def error_results(runner):
    cache = runner.new_cache()
    ops = [{"op": "download", **op} for _, op, *_ in ERROR_CASES]
    results = runner.run(ops, cache_dir=cache)
    return cache, {case[0]: res for case, res in zip(ERROR_CASES, results)}


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_download_errors(error_results, case):
    case_id, _, exc, statuses, error_code = case
    _, results = error_results
    res = results[case_id]
    assert not res["ok"], f"{case_id}: expected {exc}, but the download succeeded"
    assert res["exc"] == exc, f"{case_id}: expected {exc}, got {describe(res)}"
    assert res["status"] in statuses, f"{case_id}: expected HTTP status in {sorted(statuses)}, got {describe(res)}"
    assert res["error_code"] == error_code, f"{case_id}: expected X-Error-Code {error_code}, got {describe(res)}"
    if exc == "RemoteEntryNotFoundError":
        assert "EntryNotFoundError" in res["mro"]


def test_entry_not_found_marker(hub, error_results):
    """A 404 EntryNotFound carries X-Repo-Commit: the client records a .no_exist marker and refs/main."""
    cache, _ = error_results
    commit = hub.repo("model", "acme/tiny-model")["revisions"]["main"]["commit"]
    v1 = hub.repo("model", "acme/tiny-model")["revisions"]["v1.0"]["commit"]
    folder = Path(cache) / "models--acme--tiny-model"
    assert (folder / ".no_exist" / commit / "does-not-exist.txt").is_file(), "404 EntryNotFound lacked X-Repo-Commit"
    assert (folder / "refs" / "main").read_text() == commit
    assert (folder / ".no_exist" / v1 / "dev-only.txt").is_file()
    assert (folder / "refs" / "v1.0").read_text() == v1
    space_commit = hub.repo("space", "acme/tiny-space")["revisions"]["main"]["commit"]
    assert (Path(cache) / "spaces--acme--tiny-space" / ".no_exist" / space_commit / "nested" / "nope.bin").is_file()


# (id, repo_id, token name, via) — via "env" = HF_TOKEN, "arg" = token= argument
ACCESS_CASES = [
    ("gated-carol-env", "acme/gated-model", "carol", "env"),
    ("gated-carol-arg", "acme/gated-model", "carol", "arg"),
    ("private-alice-env", "acme/private-model", "alice", "env"),
    ("private-alice-arg", "acme/private-model", "alice", "arg"),
    ("private-alice_read-env", "acme/private-model", "alice_read", "env"),
]


@pytest.mark.parametrize("case", ACCESS_CASES, ids=[c[0] for c in ACCESS_CASES])
def test_authorized_access(hub, runner, case):
    _, repo_id, token, via = case
    cache = runner.new_cache()
    info = hub.repo("model", repo_id)["revisions"]["main"]
    paths = ["config.json", "weights.bin"]
    ops = [{"op": "download", "repo_id": repo_id, "filename": p} for p in paths]
    if via == "arg":
        for op in ops:
            op["token_name"] = token
    results = runner.run(ops, cache_dir=cache, hf_token=token if via == "env" else None)
    for p, res in zip(paths, results):
        assert_downloaded(
            res, cache_dir=cache, repo_type="model", repo_id=repo_id, commit=info["commit"], path=p, entry=info["files"][p]
        )


# ---- offline -----------------------------------------------------------------------------------

OFFLINE_OPS = [
    {"repo_id": "acme/tiny-model", "filename": "config.json"},
    {"repo_id": "acme/tiny-model", "filename": "weights.bin"},
    {"repo_id": "acme/tiny-model", "filename": "nested/deep/file.txt", "revision": "dev"},
    {"repo_id": "acme/tiny-model", "filename": "config.json", "revision": "v1.0"},
    {"repo_id": "acme/tiny-model", "filename": "config.json", "revision": "refs/pr/1"},
    {"repo_type": "dataset", "repo_id": "acme/tiny-dataset", "filename": "unicode/café ü ñ.txt"},
    {"repo_type": "space", "repo_id": "acme/tiny-space", "filename": "weights.bin", "revision": "dev"},
]


def test_offline_reread(hub, runner):
    cache = runner.new_cache()
    online = runner.run([{"op": "download", **op} for op in OFFLINE_OPS], cache_dir=cache)
    for op, res in zip(OFFLINE_OPS, online):
        assert res["ok"], f"online download {op} failed: {describe(res)}"

    tag = new_tag("offline")
    extra = [
        # not in the cache: offline must fail locally
        {"op": "download", "repo_id": "acme/tiny-model", "filename": "README.md"},
        {"op": "try_cache", "repo_id": "acme/tiny-model", "filename": "README.md"},
    ]
    ops = [{"op": "download", **op} for op in OFFLINE_OPS] + [{"op": "try_cache", **op} for op in OFFLINE_OPS] + extra
    offline = runner.run(ops, cache_dir=cache, offline=True, tag=tag)
    n = len(OFFLINE_OPS)
    for i, op in enumerate(OFFLINE_OPS):
        on, off, tc = online[i], offline[i], offline[n + i]
        assert off["ok"], f"offline re-read {op} failed: {describe(off)}"
        assert off["path"] == on["path"] and off["sha256"] == on["sha256"], op
        assert tc["ok"] and tc["path"] == on["path"], f"try_to_load_from_cache {op}: {tc}"
    miss_dl, miss_tc = offline[2 * n], offline[2 * n + 1]
    assert not miss_dl["ok"] and miss_dl["exc"] == "LocalEntryNotFoundError", describe(miss_dl)
    assert miss_tc["ok"] and miss_tc["path"] is None
    assert tagged_log(hub.stats(), tag) == [], "offline mode reached the server"


# ---- auth leaks / CDN --------------------------------------------------------------------------

LFS_WITH_TOKEN = [
    ("model", "acme/tiny-model"),
    ("dataset", "acme/tiny-dataset"),
    ("space", "acme/tiny-space"),
    ("model", "acme/private-model"),
]


def test_no_auth_leak_to_cdn(hub, runner):
    """With a token, hub requests carry Authorization, LFS bytes come from the CDN host without it."""
    cache = runner.new_cache()
    tag = new_tag("leak")
    ops = []
    for t, r in LFS_WITH_TOKEN:
        ops.append({"op": "download", "repo_type": t, "repo_id": r, "filename": "weights.bin"})
        ops.append({"op": "download", "repo_type": t, "repo_id": r, "filename": "config.json"})
    ops.append({"op": "download", "repo_id": "acme/gated-model", "filename": "weights.bin", "token_name": "carol"})
    results = runner.run(ops, cache_dir=cache, hf_token="alice", tag=tag)
    for op, res in zip(ops, results):
        assert res["ok"], f"{op}: {describe(res)}"

    stats = hub.stats()
    assert stats["auth_leaks"] == 0, f"{stats['auth_leaks']} request(s) to the CDN carried an Authorization header"
    log = tagged_log(stats, tag)
    cdn = [e for e in log if e["host"] == "cdn"]
    hub_reqs = [e for e in log if e["host"] == "hub"]
    lfs_count = len(LFS_WITH_TOKEN) + 1
    cdn_gets = [e for e in cdn if e["method"] == "GET" and e["status"] in (200, 206)]
    assert len(cdn_gets) == lfs_count, (
        f"expected {lfs_count} LFS downloads through the CDN, saw {[(e['method'], e['path'], e['status']) for e in cdn]}"
    )
    assert all(not e["authorization"] for e in cdn)
    lfs_sizes = sorted(
        hub.repo(t, r)["revisions"]["main"]["files"]["weights.bin"]["size"]
        for t, r in LFS_WITH_TOKEN + [("model", "acme/gated-model")]
    )
    assert sorted(e["bytes_sent"] for e in cdn_gets) == lfs_sizes
    # the token did go to the hub (so the zero-leak result is meaningful)
    assert hub_reqs and all(e["authorization"] for e in hub_reqs), [
        (e["method"], e["path"], e["authorization"]) for e in hub_reqs
    ]
    # LFS resolves answer with a redirect to the CDN; regular files are served by the hub itself
    lfs_heads = [e for e in hub_reqs if e["method"] == "HEAD" and e["path"].endswith("/weights.bin")]
    assert len(lfs_heads) == lfs_count and all(300 <= e["status"] < 400 for e in lfs_heads), lfs_heads
    regular_gets = [e for e in hub_reqs if e["method"] == "GET" and e["path"].endswith("/config.json")]
    assert len(regular_gets) == len(LFS_WITH_TOKEN) and all(e["status"] == 200 for e in regular_gets), regular_gets
