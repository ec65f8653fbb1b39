"""Publishing over HTTP, both ways between our CLI and the official client.

- `hub-cli upload` publishes a folder (a config, a model card and weights above the multipart
  threshold, so they go in parts); the official `hf_hub_download` gets byte-identical files.
- The official `HfApi.upload_folder` publishes a folder; `hub-cli download` gets byte-identical
  files.

The repos are created with a 4 MiB multipart threshold (`lfsmultipartthresh`) and the part size is
1 MiB (`/_testhub/config`, restored afterwards). The official client runs with
HF_HUB_DISABLE_XET=1 (set for every child process by conftest), so it takes the LFS path.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from pathlib import Path

from conftest import describe
from test_lfs_push import CHUNK, THRESHOLD, create_repo, sha256_of

MIB = 1 << 20

UPLOAD_SCRIPT = """
import json, sys
from huggingface_hub import HfApi
ops = json.load(open(sys.argv[1]))
results = []
for op in ops:
    try:
        info = HfApi().upload_folder(repo_id=op["repo_id"], folder_path=op["folder"], commit_message="official upload")
        results.append({"ok": True, "oid": info.oid})
    except Exception as e:
        results.append({"ok": False, "type": type(e).__name__, "message": str(e)})
json.dump(results, open(sys.argv[2], "w"))
"""


def make_folder(root: Path, seed: str) -> dict:
    """A model folder: name -> sha256."""
    rng = random.Random(seed)
    files = {
        "config.json": json.dumps({"hidden_size": 8, "seed": seed}).encode("utf-8"),
        "README.md": b"---\nlibrary_name: demo\ntags: [interop]\n---\n# Interop\n",
        "weights/model.safetensors": rng.randbytes(6 * MIB + 7),
        "weights/small.bin": rng.randbytes(1000),
    }
    hashes = {}
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    return hashes


def with_small_parts(hub, action):
    old = hub.config()["chunk_size"]
    hub.config(chunk_size=CHUNK)
    try:
        return action()
    finally:
        hub.config(chunk_size=old)


def test_what_hub_cli_uploads_the_official_client_downloads(hub, runner, hub_cli, tmp_path):
    repo_id = create_repo(hub, f"ours-up-{uuid.uuid4().hex[:12]}")
    expected = make_folder(tmp_path / "model", repo_id)
    proc = with_small_parts(
        hub,
        lambda: hub_cli.run(["upload", repo_id, str(tmp_path / "model")], cache_dir=runner.new_cache(), hf_token="alice"),
    )
    assert proc.returncode == 0, f"hub-cli upload failed: {proc.stderr}"
    assert f"/{repo_id}/commit/" in proc.stdout, proc.stdout

    ops = [{"op": "download", "repo_id": repo_id, "filename": name} for name in expected]
    for name, result in zip(expected, runner.run(ops, cache_dir=runner.new_cache())):
        assert result["ok"], f"huggingface_hub could not download {name}: {describe(result)}"
        assert result["sha256"] == expected[name], f"{name}: huggingface_hub got other bytes than hub-cli sent"


def test_what_the_official_client_uploads_hub_cli_downloads(hub, runner, hub_cli, tmp_path):
    repo_id = create_repo(hub, f"official-up-{uuid.uuid4().hex[:12]}")
    expected = make_folder(tmp_path / "model", repo_id)
    script = tmp_path / "upload.py"
    script.write_text(UPLOAD_SCRIPT, encoding="utf-8")
    ops = [{"repo_id": repo_id, "folder": str(tmp_path / "model")}]
    results = with_small_parts(
        hub, lambda: runner.run(ops, cache_dir=runner.new_cache(), hf_token="alice", script=script)
    )
    assert results[0]["ok"], f"huggingface_hub upload_folder failed: {describe(results[0])}"

    for name, digest in expected.items():
        proc = hub_cli.run(["download", repo_id, name], cache_dir=runner.new_cache())
        assert proc.returncode == 0, f"hub-cli download {name} failed: {proc.stderr}"
        assert sha256_of(proc.stdout.strip()) == digest, f"{name}: hub-cli got other bytes than huggingface_hub sent"
