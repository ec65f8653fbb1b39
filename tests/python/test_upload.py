"""Uploads without git: the official `HfApi` publishes to the TestHub, and what it published is read
back with the official `hf_hub_download` (byte for byte) and with `git clone` (the file, or its LFS
pointer, in the commit the client was told about).

Covered: `upload_file` of regular files and of LFS files (by a `.gitattributes` pattern, by size
above 10 MiB, by a binary sample), an LFS file in 4 multipart parts, `upload_folder` with
`allow_patterns` / `ignore_patterns` / `delete_patterns`, `create_commit` with
`CommitOperationAdd` / `CommitOperationDelete` (file and folder), a stale `parent_commit`, and
`create_pr=True` (the returned `pr_revision` downloads).

No Xet: huggingface_hub 2.4 uploads through Xet whenever `hf_xet` is installed (it is, with the
wheel), and `upload_folder` then takes a pipelined Xet path. conftest sets HF_HUB_DISABLE_XET=1 for
every child process (docs/protocol/upload.md#xet-uploads), so `is_xet_available()` is false and the
client takes the LFS path: preupload, LFS batch (`transfers: ["basic", "multipart"]`), PUTs to the
CDN host, then the NDJSON commit (and `upload_folder` one `create_commit`). Without it,
`upload_file` asks `GET /api/models/{id}/xet-write-token/main` right after preupload (seen: the
TestHub answers 404, the client raises `ConnectionError`). Each test checks that the hub saw no
request it does not know (`api-unknown`, where that request lands) and the LFS requests it expected.

Every test uses repos of its own (the session hub is shared). The multipart test lowers the hub's
threshold and part size through `/_testhub/config` and restores them.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from pathlib import Path

import test_lfs_push as lfs_push
from conftest import API_SCENARIO, describe
from test_lfs_push import git

MIB = 1 << 20


def create_repo(hub, prefix: str) -> str:
    """alice's new public model with the hub's multipart threshold (the Hub's initial commit with its
    default `.gitattributes`)."""
    return lfs_push.create_repo(hub, f"{prefix}-{uuid.uuid4().hex[:10]}", threshold=None)


def op(method: str, **kwargs) -> dict:
    """An HfApi call with alice's write token."""
    return {"method": method, "kwargs": kwargs, "token_name": "alice"}


def add(path_in_repo: str, path: Path) -> dict:
    return {"__type__": "CommitOperationAdd", "path_in_repo": path_in_repo, "path_or_fileobj": str(path)}


def delete(path_in_repo: str, is_folder: bool = False) -> dict:
    return {"__type__": "CommitOperationDelete", "path_in_repo": path_in_repo, "is_folder": is_folder}


def api(runner, ops: list[dict]) -> list[dict]:
    return runner.run(ops, cache_dir=runner.new_cache(), script=API_SCENARIO)


def ok(result: dict, what: str):
    assert result["ok"], f"{what}: {describe(result)}"
    return result["value"]


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def counts(hub) -> dict:
    return hub.stats()["requests"]


def grew(before: dict, after: dict, route: str) -> int:
    return after.get(route, 0) - before.get(route, 0)


def assert_lfs_path(before: dict, after: dict, *, commits: int) -> None:
    """The client committed `commits` times through the commit API and asked for nothing unknown
    (a Xet write token would be an unknown API route)."""
    assert grew(before, after, "commit") == commits, f"expected {commits} commit API calls"
    assert grew(before, after, "api-unknown") == 0, "the client called an API the TestHub does not have (Xet?)"


def assert_commit(info: dict, hub, repo_id: str) -> str:
    """A CommitInfo for `repo_id`; its oid."""
    assert info["__type__"] == "CommitInfo", info
    oid = info["oid"]
    assert re.fullmatch(r"[0-9a-f]{40}", oid), info
    assert info["commit_url"] == f"{hub.endpoint}/{repo_id}/commit/{oid}", info
    assert info["repo_url"]["repo_id"] == repo_id, info
    return oid


def assert_downloads(runner, repo_id: str, files: dict[str, bytes], revision: str | None = None) -> None:
    """The official hf_hub_download (fresh interpreter, fresh cache) gets exactly these bytes."""
    ops = [{"op": "download", "repo_id": repo_id, "filename": name, "revision": revision} for name in files]
    for (name, data), result in zip(files.items(), runner.run(ops, cache_dir=runner.new_cache())):
        assert result["ok"], f"hf_hub_download {repo_id}@{revision}:{name}: {describe(result)}"
        assert result["sha256"] == hashlib.sha256(data).hexdigest(), f"{name}: other bytes came back"


def assert_missing(runner, repo_id: str, name: str, revision: str | None = None) -> None:
    ops = [{"op": "download", "repo_id": repo_id, "filename": name, "revision": revision}]
    result = runner.run(ops, cache_dir=runner.new_cache())[0]
    assert not result["ok"] and "EntryNotFoundError" in " ".join(result["mro"]), (
        f"{name}@{revision} should not exist: {describe(result)}"
    )


def clone(hub, runner, repo_id: str) -> tuple[Path, dict]:
    """A `git clone` of `repo_id` without git-lfs (LFS files stay pointers), and the git env."""
    env, scratch = lfs_push.isolated_git_env(runner)
    env["GIT_LFS_SKIP_SMUDGE"] = "1"
    git(env, scratch, "clone", "-q", f"{hub.endpoint}/{repo_id}", "clone")
    return scratch / "clone", env


def pointer(data: bytes) -> bytes:
    sha = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n".encode()


def assert_in_clone(work: Path, files: dict[str, bytes], lfs: set[str]) -> None:
    for name, data in files.items():
        path = work / name
        assert path.is_file(), f"{name} is not in the git clone"
        expected = pointer(data) if name in lfs else data
        what = "the LFS pointer of the uploaded bytes" if name in lfs else "the uploaded bytes"
        assert path.read_bytes() == expected, f"{name} in the git clone is not {what}"


def tracked(work: Path, env: dict) -> set[str]:
    return set(git(env, work, "ls-files").splitlines())


def test_upload_file_regular_and_lfs_by_pattern_size_and_binary_sample(hub, runner, tmp_path):
    repo_id = create_repo(hub, "upload-file")
    rng = random.Random(repo_id)
    files = {
        "config.json": b'{"hidden_size": 8}\n',
        "nested/notes ü.txt": "regular, unicode path ü\n".encode("utf-8"),
        "weights.bin": rng.randbytes(300_000),  # `*.bin` in the default .gitattributes
        "big.txt": b"0123456789abcdef\n" * ((10 * MIB) // 17 + 100),  # text, above 10 MiB
        "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(2000),  # binary sample
    }
    lfs = {"weights.bin", "big.txt", "image.png"}
    write_files(tmp_path, files)
    ops = [
        op("upload_file", path_or_fileobj=str(tmp_path / name), path_in_repo=name, repo_id=repo_id, commit_message=f"add {name}")
        for name in files
    ]
    before = counts(hub)
    results = api(runner, ops)
    after = counts(hub)
    oids = [assert_commit(ok(r, f"upload_file {name}"), hub, repo_id) for name, r in zip(files, results)]
    assert all(ok(r, name)["pr_url"] is None for name, r in zip(files, results))
    assert_lfs_path(before, after, commits=len(files))
    assert grew(before, after, "preupload") == len(files)
    assert grew(before, after, "cdn-upload") == len(lfs), "each LFS file is PUT once to the CDN, regular ones never"

    assert_downloads(runner, repo_id, files)
    work, env = clone(hub, runner, repo_id)
    assert_in_clone(work, files, lfs)
    assert git(env, work, "rev-parse", "HEAD").strip() == oids[-1]
    assert git(env, work, "rev-list", "--count", "HEAD").strip() == str(1 + len(files))
    # As the Hub does, LFS files that no pattern tracked get their own .gitattributes line.
    attributes = (work / ".gitattributes").read_text()
    assert "\nbig.txt filter=lfs diff=lfs merge=lfs -text\n" in attributes, attributes
    assert "\nimage.png filter=lfs diff=lfs merge=lfs -text\n" in attributes, attributes
    assert "weights.bin" not in attributes, "*.bin tracks it already"


def test_a_large_lfs_file_goes_in_multipart_parts(hub, runner, tmp_path):
    repo_id = create_repo(hub, "multipart")
    data = random.Random(repo_id).randbytes(3 * MIB + 12_345)  # 4 parts of 1 MiB
    (tmp_path / "model.safetensors").write_bytes(data)
    old = hub.config()
    hub.config(multipart_threshold=MIB, chunk_size=MIB)
    try:
        before = counts(hub)
        result = api(
            runner,
            [op("upload_file", path_or_fileobj=str(tmp_path / "model.safetensors"), path_in_repo="model.safetensors", repo_id=repo_id)],
        )[0]
        after = counts(hub)
    finally:
        hub.config(multipart_threshold=old["multipart_threshold"], chunk_size=old["chunk_size"])
    oid = assert_commit(ok(result, "upload_file of a multipart file"), hub, repo_id)
    assert_lfs_path(before, after, commits=1)
    assert grew(before, after, "cdn-part") == 4, "one PUT per 1 MiB part"
    assert grew(before, after, "lfs-complete") == 1
    assert grew(before, after, "cdn-upload") == 0, "no single-part PUT"

    assert_downloads(runner, repo_id, {"model.safetensors": data})
    work, env = clone(hub, runner, repo_id)
    assert_in_clone(work, {"model.safetensors": data}, {"model.safetensors"})
    assert git(env, work, "rev-parse", "HEAD").strip() == oid


def test_upload_folder_with_allow_ignore_and_delete_patterns(hub, runner, tmp_path):
    repo_id = create_repo(hub, "upload-folder")
    rng = random.Random(repo_id)
    first = {
        "README.md": b"---\nlicense: mit\n---\n# A folder\n",
        "a.txt": b"a, first\n",
        "logs/run.log": b"not uploaded\n",
        "sub/c.txt": b"c\n",
        "sub/d.bin": rng.randbytes(50_000),
        "skip/e.txt": b"not uploaded either\n",
    }
    second = {"a.txt": b"a, second\n", "new.txt": b"new\n", "other.md": b"not allowed\n"}
    write_files(tmp_path / "first", first)
    write_files(tmp_path / "second", second)
    before = counts(hub)
    results = api(
        runner,
        [
            op("upload_folder", folder_path=str(tmp_path / "first"), repo_id=repo_id, ignore_patterns=["*.log", "skip/*"], commit_message="first folder"),
            op("list_repo_files", repo_id=repo_id),
            op("upload_folder", folder_path=str(tmp_path / "second"), repo_id=repo_id, allow_patterns=["*.txt"], delete_patterns=["sub/*.txt"], commit_message="second folder"),
            op("list_repo_files", repo_id=repo_id),
        ],
    )
    after = counts(hub)
    assert_commit(ok(results[0], "first upload_folder"), hub, repo_id)
    assert sorted(ok(results[1], "files after the first")) == [".gitattributes", "README.md", "a.txt", "sub/c.txt", "sub/d.bin"]
    last = assert_commit(ok(results[2], "second upload_folder"), hub, repo_id)
    expected = {".gitattributes", "README.md", "a.txt", "new.txt", "sub/d.bin"}
    assert set(ok(results[3], "files after the second")) == expected
    assert_lfs_path(before, after, commits=2)
    assert grew(before, after, "validate-yaml") >= 1, "the README's metadata is validated before it is committed"

    now = {"README.md": first["README.md"], "a.txt": second["a.txt"], "new.txt": second["new.txt"], "sub/d.bin": first["sub/d.bin"]}
    assert_downloads(runner, repo_id, now)
    assert_missing(runner, repo_id, "sub/c.txt")
    work, env = clone(hub, runner, repo_id)
    assert tracked(work, env) == expected
    assert_in_clone(work, now, {"sub/d.bin"})
    assert git(env, work, "rev-parse", "HEAD").strip() == last


def test_create_commit_adds_deletes_files_and_folders_and_refuses_a_stale_parent(hub, runner, tmp_path):
    repo_id = create_repo(hub, "create-commit")
    rng = random.Random(repo_id)
    files = {
        "x/1.txt": b"one\n",
        "x/deep/2.txt": b"two\n",
        "keep.txt": b"deleted later\n",
        "model.bin": rng.randbytes(120_000),
        "y.txt": b"added in the second commit\n",
    }
    write_files(tmp_path, files)
    before = counts(hub)
    first = api(
        runner,
        [op("create_commit", repo_id=repo_id, commit_message="setup", operations=[add(n, tmp_path / n) for n in ["x/1.txt", "x/deep/2.txt", "keep.txt", "model.bin"]])],
    )[0]
    first_oid = assert_commit(ok(first, "first create_commit"), hub, repo_id)
    results = api(
        runner,
        [
            op(
                "create_commit",
                repo_id=repo_id,
                commit_message="change",
                commit_description="deletes a file and a folder",
                parent_commit=first_oid,
                operations=[delete("keep.txt"), delete("x/", is_folder=True), add("y.txt", tmp_path / "y.txt")],
            ),
            # Same parent again: the branch moved, the Hub answers 412 and the client raises.
            op("create_commit", repo_id=repo_id, commit_message="stale", parent_commit=first_oid, operations=[add("z.txt", tmp_path / "y.txt")]),
            op("create_commit", repo_id=repo_id, commit_message="missing", operations=[delete("missing.txt")]),
        ],
    )
    after = counts(hub)
    second_oid = assert_commit(ok(results[0], "create_commit with deletions"), hub, repo_id)
    stale = results[1]
    assert not stale["ok"] and "HfHubHTTPError" in stale["mro"] and stale["status"] == 412, describe(stale)
    missing = results[2]
    assert not missing["ok"] and "EntryNotFoundError" in " ".join(missing["mro"]), describe(missing)
    assert (missing["status"], missing["error_code"]) == (404, "EntryNotFound"), describe(missing)
    assert_lfs_path(before, after, commits=4)

    assert_downloads(runner, repo_id, {"y.txt": files["y.txt"], "model.bin": files["model.bin"]})
    assert_downloads(runner, repo_id, {"keep.txt": files["keep.txt"], "x/deep/2.txt": files["x/deep/2.txt"]}, revision=first_oid)
    assert_missing(runner, repo_id, "keep.txt")
    assert_missing(runner, repo_id, "x/1.txt")
    work, env = clone(hub, runner, repo_id)
    assert tracked(work, env) == {".gitattributes", "model.bin", "y.txt"}
    assert_in_clone(work, {"y.txt": files["y.txt"], "model.bin": files["model.bin"]}, {"model.bin"})
    log = git(env, work, "log", "-1", "--format=%H%n%P%n%s%n%b").splitlines()
    assert log[:4] == [second_oid, first_oid, "change", "deletes a file and a folder"], log


def test_create_pr_puts_the_commit_in_a_pull_request_ref(hub, runner, tmp_path):
    repo_id = create_repo(hub, "create-pr")
    files = {"base.txt": b"on main\n", "pr.txt": b"in pull request 1\n", "pr2.bin": random.Random(repo_id).randbytes(70_000)}
    write_files(tmp_path, files)
    base = api(runner, [op("upload_file", path_or_fileobj=str(tmp_path / "base.txt"), path_in_repo="base.txt", repo_id=repo_id)])[0]
    main_oid = assert_commit(ok(base, "upload to main"), hub, repo_id)
    before = counts(hub)
    results = api(
        runner,
        [
            op("upload_file", path_or_fileobj=str(tmp_path / "pr.txt"), path_in_repo="pr.txt", repo_id=repo_id, create_pr=True),
            op("create_commit", repo_id=repo_id, commit_message="second PR", create_pr=True, operations=[add("pr2.bin", tmp_path / "pr2.bin"), delete("base.txt")]),
            op("list_repo_refs", repo_id=repo_id, include_pull_requests=True),
        ],
    )
    after = counts(hub)
    prs = []
    for n, result in enumerate(results[:2], start=1):
        info = ok(result, f"pull request {n}")
        oid = assert_commit(info, hub, repo_id)
        assert info["pr_url"] == f"{hub.endpoint}/{repo_id}/discussions/{n}", info
        assert (info["pr_revision"], info["pr_num"]) == (f"refs/pr/{n}", n), info
        prs.append(oid)
    refs = ok(results[2], "list_repo_refs")
    assert [(p["ref"], p["target_commit"]) for p in refs["pull_requests"]] == [("refs/pr/1", prs[0]), ("refs/pr/2", prs[1])]
    assert [(b["name"], b["target_commit"]) for b in refs["branches"]] == [("main", main_oid)], "main did not move"
    assert_lfs_path(before, after, commits=2)

    assert_downloads(runner, repo_id, {"pr.txt": files["pr.txt"], "base.txt": files["base.txt"]}, revision="refs/pr/1")
    assert_downloads(runner, repo_id, {"pr2.bin": files["pr2.bin"]}, revision="refs/pr/2")
    assert_missing(runner, repo_id, "base.txt", revision="refs/pr/2")
    assert_missing(runner, repo_id, "pr.txt")
    assert_downloads(runner, repo_id, {"base.txt": files["base.txt"]})
    work, env = clone(hub, runner, repo_id)
    remote = {ref: oid for oid, ref in (line.split("\t") for line in git(env, work, "ls-remote", "origin").splitlines())}
    assert (remote["refs/heads/main"], remote["refs/pr/1"], remote["refs/pr/2"]) == (main_oid, prs[0], prs[1])
    git(env, work, "fetch", "-q", "origin", "refs/pr/2")
    assert git(env, work, "show", f"{prs[1]}:pr2.bin").encode() == pointer(files["pr2.bin"])
