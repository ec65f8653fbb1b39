"""API scenario runner: executed in a FRESH interpreter per scenario (never imported by pytest).

Like `_scenario.py`, but each operation is a call of an `HfApi` method (huggingface_hub reads its
environment at import time, so every scenario runs in its own process).

Usage: python _api_scenario.py OPS.json RESULTS.json

OPS.json is a list of operations:
  {"method": "<HfApi method>", "kwargs": {...}, "token_name"?: str, "token_literal"?: str}
`token_name` names a token in the JSON file $TESTHUB_TOKENS_FILE, passed as the explicit `token=`
argument (tokens never appear in OPS.json, RESULTS.json or on stdout); `token_literal` passes a
made-up token (for invalid-token cases). Generators and iterables are drained into lists. In
kwargs, `{"__type__": "CommitOperationAdd" | "CommitOperationDelete" | "CommitOperationCopy", ...}`
becomes that operation, built with the other keys (for `create_commit(operations=[...])`).

RESULTS.json gets one entry per operation, in order:
  success: {"ok": true, "value": <the return value as JSON: dataclasses (CommitInfo too, though it
            is a str) and objects become dicts with "__type__" (class name), datetimes ISO
            strings, RepoUrl
            {"__type__": "RepoUrl", "url", "repo_id", "repo_type", "endpoint"}>}
  failure: as in _scenario.py: {"ok": false, "exc", "mro", "status", "error_code", "message"}
"""

import dataclasses
import datetime
import json
import os
import sys
import types

from _scenario import _describe_error


def to_json(value, depth=0):
    if depth > 20:
        return repr(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if type(value).__name__ == "RepoUrl":
        return {
            "__type__": "RepoUrl",
            "url": str(value),
            "repo_id": value.repo_id,
            "repo_type": value.repo_type,
            "endpoint": value.endpoint,
        }
    if isinstance(value, str) and dataclasses.is_dataclass(value):  # CommitInfo
        return dataclass_json(value, depth)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, dict):
        out = {str(k): to_json(v, depth + 1) for k, v in value.items()}
        if type(value) is not dict:
            out["__type__"] = type(value).__name__
        return out
    if isinstance(value, (list, tuple, set, types.GeneratorType)) or hasattr(value, "__next__"):
        return [to_json(v, depth + 1) for v in value]
    if dataclasses.is_dataclass(value):
        return dataclass_json(value, depth)
    if hasattr(value, "__dict__"):
        out = {"__type__": type(value).__name__}
        for k, v in vars(value).items():
            if not k.startswith("_"):
                out[k] = to_json(v, depth + 1)
        return out
    return repr(value)


def dataclass_json(value, depth):
    out = {"__type__": type(value).__name__}
    for f in dataclasses.fields(value):
        out[f.name] = to_json(getattr(value, f.name, None), depth + 1)
    return out


COMMIT_OPERATIONS = ("CommitOperationAdd", "CommitOperationDelete", "CommitOperationCopy")


def from_json(value):
    """kwargs as sent in OPS.json, with the commit operations built (see the module docs)."""
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if value.get("__type__") in COMMIT_OPERATIONS:
            import huggingface_hub

            cls = getattr(huggingface_hub, value["__type__"])
            return cls(**{k: from_json(v) for k, v in value.items() if k != "__type__"})
        return {k: from_json(v) for k, v in value.items()}
    return value


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
    from huggingface_hub import HfApi

    api = HfApi()
    results = []
    for op in ops:
        kwargs = from_json(dict(op.get("kwargs") or {}))
        if op.get("token_name"):
            kwargs["token"] = tokens[op["token_name"]]
        elif op.get("token_literal"):
            kwargs["token"] = op["token_literal"]
        try:
            value = getattr(api, op["method"])(**kwargs)
            if isinstance(value, types.GeneratorType) or (
                hasattr(value, "__iter__") and hasattr(value, "__next__")
            ):
                value = list(value)
            results.append({"ok": True, "value": to_json(value)})
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
            results.append(_describe_error(exc))

    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
