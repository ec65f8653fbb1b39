"""git push of large files through our transfer agent; the official client reads them back.

A fresh repo with a 4 MiB multipart threshold (`lfsmultipartthresh` at creation) and 1 MiB parts
(`/_testhub/config`, restored afterwards) is cloned over HTTP with alice's write token. git and
git-lfs push a file below the threshold, one just above it (5 parts) and one of 14 parts through
`hub-cli lfs-multipart-upload`, as set up by `hub-cli lfs-enable-largefiles`. Then the official
`huggingface_hub.hf_hub_download` (fresh interpreter, fresh cache) and `hub-cli download` must both
get byte-identical files.

git runs in the same from-scratch environment as the scenarios, with no system configuration and
an empty global one, so the developer's git setup is neither read nor changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import urllib.request
import uuid
from pathlib import Path

from conftest import describe, redact

MIB = 1 << 20
THRESHOLD = 4 * MIB
CHUNK = MIB
# name -> size: below the threshold, just above it (the last part is 1 byte), 14 parts
FILES = {"small.bin": 300_000, "above.bin": THRESHOLD + 1, "big.bin": 13 * MIB + MIB // 2}
GIT_TIMEOUT = 180.0


def create_repo(hub, name: str, threshold: int | None = THRESHOLD) -> str:
    """Creates alice's public repo `name` with the multipart threshold `threshold` (the small one by
    default; None: the hub's); its id."""
    body = {"name": name}
    if threshold is not None:
        body["lfsmultipartthresh"] = threshold
    req = urllib.request.Request(
        f"{hub.endpoint}/api/repos/create",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {hub.token('alice')}"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as r:
        assert r.status == 200, f"repo creation answered {r.status}"
        return json.loads(r.read().decode("utf-8"))["id"]


def isolated_git_env(runner) -> tuple[dict, Path]:
    """A scenario's from-scratch environment for git (no system configuration, an empty global one,
    no prompts), and its scratch directory."""
    env, scratch = runner.child_env(cache_dir=runner.new_cache())
    (scratch / "home" / ".gitconfig").write_text("")
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(scratch / "home" / ".gitconfig"),
        GIT_TERMINAL_PROMPT="0",
    )
    return env, scratch


def git(env: dict, cwd: Path, *args: str) -> str:
    """`git ARGS...`; fails the test (token redacted) unless it succeeds. Its stdout."""
    proc = subprocess.run(
        ["git", "-c", "credential.helper=", *args],
        env=env,
        cwd=str(cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=GIT_TIMEOUT,
    )
    assert proc.returncode == 0, (
        f"git {args[0]} failed (exit {proc.returncode}):\n{redact(proc.stderr.decode('utf-8', 'replace'))}"
    )
    return proc.stdout.decode("utf-8")


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_git_push_through_agent_then_official_and_cli_downloads(hub, runner, hub_cli, tmp_path):
    repo_id = create_repo(hub, f"lfs-push-{uuid.uuid4().hex[:12]}")
    env, _ = isolated_git_env(runner)
    host = hub.endpoint.removeprefix("http://")
    git(env, tmp_path, "clone", "-q", f"http://alice:{hub.token('alice')}@{host}/{repo_id}", "clone")
    clone = tmp_path / "clone"
    git(env, clone, "lfs", "install", "--local")
    git(env, clone, "lfs", "track", "*.bin")
    for key, value in [("lfs.locksverify", "false"), ("user.name", "Alice"), ("user.email", "alice@example.com")]:
        git(env, clone, "config", key, value)
    git_env = {k: v for k, v in env.items() if k.startswith("GIT_")}
    enabled = hub_cli.run(["lfs-enable-largefiles", str(clone)], cache_dir=runner.new_cache(), extra_env=git_env)
    assert enabled.returncode == 0, f"hub-cli lfs-enable-largefiles failed: {enabled.stderr}"

    # Random bytes from a fixed seed: no two parts alike, so a part put in the wrong place shows.
    expected = {}
    rng = random.Random(repo_id)
    for name, size in FILES.items():
        (clone / name).write_bytes(rng.randbytes(size))
        expected[name] = sha256_of(clone / name)
    git(env, clone, "add", ".gitattributes", *FILES)
    git(env, clone, "commit", "-q", "-m", "large files")

    old_chunk = hub.config()["chunk_size"]
    hub.config(chunk_size=CHUNK)
    try:
        git(env, clone, "push", "origin", "main")
    finally:
        hub.config(chunk_size=old_chunk)
    # PUT /part/{oid}/{size}/{chunk}/{n}: the objects above the threshold went in parts.
    stored_parts = {}
    for e in hub.stats()["log"]:
        if e["host"] == "cdn" and e["method"] == "PUT" and e["path"].startswith("/part/") and e["status"] == 200:
            _, _, oid, _, _, n = e["path"].split("/")
            stored_parts.setdefault(oid, set()).add(int(n))
    for name in ("above.bin", "big.bin"):
        parts = -(-FILES[name] // CHUNK)
        assert stored_parts.get(expected[name]) == set(range(1, parts + 1)), f"{name}: not sent in {parts} parts"

    ops = [{"op": "download", "repo_id": repo_id, "filename": name} for name in FILES]
    for name, result in zip(FILES, runner.run(ops, cache_dir=runner.new_cache())):
        assert result["ok"], f"huggingface_hub could not download {name}: {describe(result)}"
        assert (result["size"], result["sha256"]) == (FILES[name], expected[name]), (
            f"{name}: huggingface_hub got other bytes than were pushed"
        )

    for name in FILES:
        proc = hub_cli.run(["download", repo_id, name], cache_dir=runner.new_cache())
        assert proc.returncode == 0, f"hub-cli download {name} failed: {proc.stderr}"
        path = proc.stdout.strip()
        assert os.path.getsize(path) == FILES[name]
        assert sha256_of(path) == expected[name], f"{name}: hub-cli got other bytes than were pushed"
