"""Fidelity suite: the official `huggingface_hub` client against the local TestHub.

A session fixture starts the `testhub` binary (env TESTHUB_BIN, default target/debug/testhub) with
`--root <tmp> --port 0 --seed`, reads the JSON line it prints when ready and stops it at the end.
If it cannot start, every test FAILS (never skips).

Each scenario runs in a fresh interpreter (`_scenario.py`), because huggingface_hub reads its
environment at import time. The child environment is built from scratch: HOME, HF_HOME and the hub
cache live in temporary directories, so the user's real token and cache are never used, and no
proxy variables leak in.

`test_interop.py` also runs our `hub-cli` (env HUB_CLI_BIN, default target/debug/hub-cli) in that
same environment, to check that the two clients share one cache.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE.parent.parent
DEFAULT_BIN = WORKSPACE / "target" / "debug" / "testhub"
DEFAULT_HUB_CLI = WORKSPACE / "target" / "debug" / "hub-cli"
SCENARIO = HERE / "_scenario.py"
API_SCENARIO = HERE / "_api_scenario.py"
START_TIMEOUT = 120.0
SCENARIO_TIMEOUT = 180.0
HUB_CLI_TIMEOUT = 120.0

_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9_\-]{4,}")


def redact(text: str) -> str:
    """Never let a token reach the test output."""
    return _TOKEN_RE.sub("hf_<redacted>", text)


class Hub:
    """A running testhub. Tokens are kept out of repr() so that assertion output never shows them."""

    def __init__(self, info: dict, proc: subprocess.Popen, workdir: Path, stderr_path: Path):
        self.endpoint: str = info["endpoint"].rstrip("/")
        self.cdn: str = info["cdn"].rstrip("/")
        self.root: str = info["root"]
        self._tokens: dict = info["tokens"]
        self.seed = info["seed"]
        self.proc = proc
        self.workdir = workdir
        self.stderr_path = stderr_path
        self.tokens_file = workdir / "tokens.json"
        fd = os.open(self.tokens_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self._tokens, f)

    def __repr__(self) -> str:
        return f"Hub(endpoint={self.endpoint!r}, cdn={self.cdn!r})"

    def token(self, name: str) -> str:
        return self._tokens[name]

    def token_names(self):
        return sorted(self._tokens)

    # ---- admin routes -------------------------------------------------------------------------
    def stats(self) -> dict:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self.endpoint}/_testhub/stats", timeout=30) as r:
            assert r.status == 200, f"/_testhub/stats answered {r.status}"
            return json.loads(r.read().decode("utf-8"))

    def config(self, **knobs) -> dict:
        """POST /_testhub/config (e.g. page_size=2, or page_size=None for the Hub's sizes)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        req = urllib.request.Request(
            f"{self.endpoint}/_testhub/config",
            data=json.dumps(knobs).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with opener.open(req, timeout=30) as r:
            assert r.status == 200, f"/_testhub/config answered {r.status}"
            return json.loads(r.read().decode("utf-8"))

    def faults(self, **faults) -> None:
        """POST /_testhub/faults (e.g. ratelimit={"reset_secs": 2, "count": 1})."""
        self._post("/_testhub/faults", faults)

    def reset(self) -> None:
        """POST /_testhub/reset: clears faults and counters."""
        self._post("/_testhub/reset", {})

    def _post(self, route: str, body: dict) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        req = urllib.request.Request(
            f"{self.endpoint}{route}",
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with opener.open(req, timeout=30) as r:
            assert r.status == 200, f"{route} answered {r.status}"

    # ---- seed manifest ------------------------------------------------------------------------
    def repo(self, repo_type: str, repo_id: str) -> dict:
        return find_repo(self.seed, repo_type, repo_id)


def _norm_type(t: str | None) -> str:
    t = (t or "model").lower()
    return t[:-1] if t.endswith("s") else t


def find_repo(seed, repo_type: str, repo_id: str) -> dict:
    """Find a repo in the seed manifest (a list of repos, {"repos": [...]}, or a dict keyed by id)."""
    assert seed is not None, "testhub was started with --seed but printed no seed manifest"
    if isinstance(seed, dict) and "repos" in seed:
        seed = seed["repos"]
    repos = list(seed.values()) if isinstance(seed, dict) else list(seed)
    for r in repos:
        if isinstance(r, dict) and r.get("repo_id") == repo_id and _norm_type(r.get("repo_type")) == _norm_type(repo_type):
            return r
    raise AssertionError(f"seed manifest has no {repo_type} repo {repo_id!r}")


def repo_folder(repo_type: str, repo_id: str) -> str:
    """Cache folder name: models--org--name (docs/protocol/cache.md#repo-folders)."""
    return "--".join([f"{_norm_type(repo_type)}s", *repo_id.split("/")])


def _read_ready_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        if b"\n" in buf:
            return buf.split(b"\n", 1)[0].decode("utf-8")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:  # EOF: the process exited or closed stdout
                break
            buf += chunk
        elif proc.poll() is not None:
            break
    if b"\n" in buf:
        return buf.split(b"\n", 1)[0].decode("utf-8")
    raise RuntimeError(
        f"testhub printed no ready line within {timeout:.0f}s "
        f"(exit code {proc.poll()}, stdout so far: {redact(buf.decode('utf-8', 'replace'))[:500]!r})"
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@pytest.fixture(scope="session")
def hub(tmp_path_factory) -> Hub:
    workdir = tmp_path_factory.mktemp("testhub")
    root = workdir / "root"
    root.mkdir()
    binary = Path(os.environ.get("TESTHUB_BIN", str(DEFAULT_BIN)))
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(
            f"testhub binary not found or not executable at {binary} "
            "(build it with `cargo build -p hub-tests --bin testhub` or set TESTHUB_BIN)",
            pytrace=False,
        )
    stderr_path = workdir / "testhub.stderr.log"
    stderr_file = open(stderr_path, "wb")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(
        [str(binary), "--root", str(root), "--port", "0", "--seed"],
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    try:
        line = _read_ready_line(proc, START_TIMEOUT)
        info = json.loads(line)
        for key in ("endpoint", "cdn", "root", "tokens", "seed"):
            assert key in info, f"testhub ready line lacks {key!r}"
    except Exception as exc:  # noqa: BLE001
        _stop(proc)
        stderr_file.close()
        tail = redact(stderr_path.read_text("utf-8", "replace"))[-3000:]
        pytest.fail(f"testhub did not start: {redact(str(exc))}\n--- testhub stderr (tail) ---\n{tail}", pytrace=False)
    h = Hub(info, proc, workdir, stderr_path)
    try:
        yield h
    finally:
        _stop(proc)
        stderr_file.close()


class ScenarioRunner:
    """Runs batches of hf_hub_download / try_to_load_from_cache in a fresh interpreter."""

    def __init__(self, hub: Hub, tmp_path_factory):
        self.hub = hub
        self.tmp_path_factory = tmp_path_factory

    def new_cache(self) -> Path:
        return self.tmp_path_factory.mktemp("hf_cache")

    def child_env(
        self,
        *,
        cache_dir: Path,
        hf_token: str | None = None,
        offline: bool = False,
        tag: str | None = None,
        extra_env: dict | None = None,
    ) -> tuple[dict, Path]:
        """The environment of a child process (a scenario, or `hub-cli`) built from scratch, and its
        scratch directory (HOME, HF_HOME and TMPDIR live there)."""
        scratch = self.tmp_path_factory.mktemp("scenario")
        home = scratch / "home"
        hf_home = scratch / "hf_home"
        home.mkdir()
        hf_home.mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "TMPDIR": str(scratch),
            "HF_HOME": str(hf_home),
            "HF_HUB_CACHE": str(cache_dir),
            "HF_ENDPOINT": self.hub.endpoint,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_SYMLINKS_WARNING": "1",
            "HF_HUB_OFFLINE": "1" if offline else "0",
            "TESTHUB_TOKENS_FILE": str(self.hub.tokens_file),
        }
        if hf_token is not None:
            env["HF_TOKEN"] = self.hub.token(hf_token)
        if tag is not None:
            env["HF_HUB_USER_AGENT_ORIGIN"] = tag
        if extra_env:
            env.update(extra_env)
        return env, scratch

    def run(
        self,
        ops: list[dict],
        *,
        cache_dir: Path,
        hf_token: str | None = None,
        offline: bool = False,
        tag: str | None = None,
        extra_env: dict | None = None,
        script: Path = SCENARIO,
    ) -> list[dict]:
        """Run `ops` (see _scenario.py, or `script`, which takes the same two arguments).
        `hf_token` is a token NAME whose value goes into HF_TOKEN. `tag` is put into the user agent
        (HF_HUB_USER_AGENT_ORIGIN) to find this scenario's requests in the server log."""
        env, scratch = self.child_env(
            cache_dir=cache_dir, hf_token=hf_token, offline=offline, tag=tag, extra_env=extra_env
        )
        ops_path = scratch / "ops.json"
        results_path = scratch / "results.json"
        ops_path.write_text(json.dumps(ops), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, str(script), str(ops_path), str(results_path)],
            env=env,
            cwd=str(scratch),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=SCENARIO_TIMEOUT,
        )
        if proc.returncode != 0 or not results_path.exists():
            raise AssertionError(
                f"scenario process failed (exit {proc.returncode})\n"
                f"--- stdout ---\n{redact(proc.stdout.decode('utf-8', 'replace'))[-3000:]}\n"
                f"--- stderr ---\n{redact(proc.stderr.decode('utf-8', 'replace'))[-3000:]}"
            )
        results = json.loads(results_path.read_text(encoding="utf-8"))
        assert len(results) == len(ops)
        for r in results:  # belt and braces: nothing secret in results
            if not r.get("ok"):
                r["message"] = redact(r.get("message", ""))
        return results


@pytest.fixture(scope="session")
def runner(hub, tmp_path_factory) -> ScenarioRunner:
    return ScenarioRunner(hub, tmp_path_factory)


class HubCli:
    """Runs our `hub-cli` binary (env HUB_CLI_BIN, default target/debug/hub-cli) in the same
    from-scratch environment as a scenario (HF_ENDPOINT = the testhub, HF_HUB_CACHE = `cache_dir`)."""

    def __init__(self, binary: Path, runner: ScenarioRunner):
        self.binary = binary
        self.runner = runner

    def run(
        self,
        args: list[str],
        *,
        cache_dir: Path,
        offline: bool = False,
        hf_token: str | None = None,
        extra_env: dict | None = None,
    ) -> subprocess.CompletedProcess:
        """`hub-cli ARGS...`; stdout and stderr decoded as UTF-8. Never raises on a failed exit."""
        env, scratch = self.runner.child_env(
            cache_dir=cache_dir, hf_token=hf_token, offline=offline, extra_env=extra_env
        )
        proc = subprocess.run(
            [str(self.binary), *args],
            env=env,
            cwd=str(scratch),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=HUB_CLI_TIMEOUT,
        )
        return subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            redact(proc.stderr.decode("utf-8", "replace")),
        )


@pytest.fixture(scope="session")
def hub_cli(runner) -> HubCli:
    binary = Path(os.environ.get("HUB_CLI_BIN", str(DEFAULT_HUB_CLI)))
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(
            f"hub-cli binary not found or not executable at {binary} "
            "(build it with `cargo build -p hub-cli` or set HUB_CLI_BIN)",
            pytrace=False,
        )
    return HubCli(binary, runner)


def new_tag(prefix: str) -> str:
    return f"fidelity-{prefix}-{uuid.uuid4().hex[:12]}"


def tagged_log(stats: dict, tag: str) -> list[dict]:
    return [e for e in stats.get("log", []) if tag in (e.get("user_agent") or "")]


# ---- shared assertions ------------------------------------------------------------------------


def describe(result: dict) -> str:
    if result.get("ok"):
        return f"ok path={result.get('path')!r}"
    return (
        f"{result['exc']} (status={result.get('status')}, X-Error-Code={result.get('error_code')}): "
        f"{result.get('message')}"
    )


def assert_downloaded(result: dict, *, cache_dir: Path, repo_type: str, repo_id: str, commit: str, path: str, entry: dict):
    """The download succeeded, the bytes match the manifest, and the cache layout is the official one."""
    assert result["ok"], f"download of {repo_type} {repo_id}:{path} failed: {describe(result)}"
    assert result["size"] == entry["size"], f"{path}: size {result['size']} != manifest {entry['size']}"
    assert result["sha256"] == entry["sha256"], f"{path}: sha256 of downloaded bytes differs from the manifest"

    folder = Path(cache_dir).resolve() / repo_folder(repo_type, repo_id)
    expected_pointer = folder / "snapshots" / commit / path
    assert Path(result["path"]) == expected_pointer, (
        f"returned path {result['path']!r} != {str(expected_pointer)!r} (commit from X-Repo-Commit must be {commit})"
    )
    assert result["islink"], f"{expected_pointer} is not a symlink into blobs/"
    etag = entry["sha256"] if entry["lfs"] else entry["git_oid"]
    expected_blob = folder / "blobs" / etag
    assert Path(result["realpath"]) == expected_blob, (
        f"{path}: snapshot symlink resolves to {result['realpath']!r}, expected blobs/{etag} "
        f"({'sha256' if entry['lfs'] else 'git oid'} from the ETag / X-Linked-Etag)"
    )
    assert expected_blob.is_file() and not expected_blob.is_symlink()
