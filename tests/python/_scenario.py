"""Scenario runner: executed in a FRESH interpreter per scenario (never imported by pytest).

huggingface_hub reads its environment (HF_ENDPOINT, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE, ...)
once at import time, so every scenario with a different environment runs in its own process.

Usage: python _scenario.py OPS.json RESULTS.json

OPS.json is a list of operations:
  {"op": "download", "repo_id", "filename", "repo_type"?, "revision"?, "token_name"?, "local_files_only"?}
  {"op": "try_cache", "repo_id", "filename", "repo_type"?, "revision"?}
`token_name` names a token in the JSON file $TESTHUB_TOKENS_FILE, passed as the explicit `token=` argument
(tokens never appear in OPS.json, RESULTS.json or on stdout).

RESULTS.json gets one entry per operation, in order:
  success: {"ok": true, "path", "realpath", "islink", "size", "sha256"}   (path None for a cache miss)
  failure: {"ok": false, "exc": <class name>, "mro": [class names], "status": <HTTP status or null>,
            "error_code": <X-Error-Code or null>, "message": <first line of the message>}
"""

import hashlib
import json
import os
import sys


def _describe_file(path):
    if path is None:
        return {"ok": True, "path": None}
    if not isinstance(path, str):  # e.g. the _CACHED_NO_EXIST sentinel of try_to_load_from_cache
        return {"ok": True, "path": None, "sentinel": repr(path)}
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    return {
        "ok": True,
        "path": path,
        "realpath": os.path.realpath(path),
        "islink": os.path.islink(path),
        "size": size,
        "sha256": h.hexdigest(),
    }


def _describe_error(exc):
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) if response is not None else None
    error_code = None
    if response is not None:
        try:
            error_code = response.headers.get("X-Error-Code")
        except Exception:  # noqa: BLE001
            error_code = None
    message = str(exc).strip().splitlines()
    return {
        "ok": False,
        "exc": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "status": status,
        "error_code": error_code,
        "message": message[0] if message else "",
    }


def main():
    ops_path, results_path = sys.argv[1], sys.argv[2]
    with open(ops_path, encoding="utf-8") as f:
        ops = json.load(f)

    tokens = {}
    tokens_file = os.environ.get("TESTHUB_TOKENS_FILE")
    if tokens_file:
        with open(tokens_file, encoding="utf-8") as f:
            tokens = json.load(f)

    # Imported only now: the environment is fixed for the whole process.
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    results = []
    for op in ops:
        kwargs = {
            "repo_id": op["repo_id"],
            "filename": op["filename"],
            "repo_type": op.get("repo_type"),
            "revision": op.get("revision"),
        }
        try:
            if op["op"] == "download":
                if op.get("token_name"):
                    kwargs["token"] = tokens[op["token_name"]]
                if op.get("local_files_only"):
                    kwargs["local_files_only"] = True
                results.append(_describe_file(hf_hub_download(**kwargs)))
            elif op["op"] == "try_cache":
                results.append(_describe_file(try_to_load_from_cache(**kwargs)))
            else:
                raise ValueError(f"unknown op {op['op']!r}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
            results.append(_describe_error(exc))

    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
