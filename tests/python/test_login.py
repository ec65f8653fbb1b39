"""Cross-tool login: `hub-cli login` / `logout` and the official `huggingface_hub` share one
`HF_HOME` (the `token` file and the `stored_tokens` INI), both ways.

- hub-cli logs in (token on stdin): Python's `get_token()`, `HfApi().whoami()` and a private repo's
  info see that user, and `get_stored_tokens()` reads our `stored_tokens`.
- Python logs in (`login(token=...)`): `hub-cli whoami` prints the user and hub-cli reads a private
  repo with that token; with two tokens stored by Python (`auth_switch` between them), hub-cli uses
  the active one, and a later hub-cli login keeps Python's other sections.
- hub-cli logs out: Python's `get_token()` is None; Python logs out: hub-cli is not logged in.

Each Python step runs in a fresh interpreter (this file is also the scenario script, see
`_child_main` at the bottom), in an environment built from scratch whose HF_HOME is shared by
every step of a test. Tokens never appear in ops, results or printed output: the child reports
the NAME (in the testhub's token table) of any token it sees.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from conftest import HUB_CLI_TIMEOUT, SCENARIO_TIMEOUT, redact

THIS = Path(__file__).resolve()

# git without the machine's configuration (Python's logout runs `git credential reject`).
GIT_ISOLATION = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0"}


class Session:
    """One HF_HOME shared by hub-cli and Python processes."""

    def __init__(self, hub, hub_cli, runner):
        self.hub = hub
        self.binary = hub_cli.binary
        self.env, self.scratch = runner.child_env(cache_dir=runner.new_cache(), extra_env=GIT_ISOLATION)
        self.hf_home = Path(self.env["HF_HOME"])
        self.steps = 0

    def cli(self, args: list[str], *, stdin: str | None = None) -> subprocess.CompletedProcess:
        """`hub-cli ARGS...`; stdout and stderr decoded and redacted; never raises on failure."""
        proc = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            cwd=str(self.scratch),
            input=(stdin or "").encode("utf-8"),
            capture_output=True,
            timeout=HUB_CLI_TIMEOUT,
        )
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        for name in self.hub.token_names():
            token = self.hub.token(name)
            assert token not in out and token not in err, f"hub-cli {args[0]} printed the {name} token"
        return subprocess.CompletedProcess(proc.args, proc.returncode, redact(out), redact(err))

    def cli_login(self, token_name: str) -> subprocess.CompletedProcess:
        proc = self.cli(["login"], stdin=self.hub.token(token_name) + "\n")
        assert proc.returncode == 0, f"hub-cli login failed: {proc.stderr}"
        return proc

    def py(self, ops: list[dict]) -> list[dict]:
        """Runs `ops` (see `_child_main`) in a fresh interpreter with this session's environment."""
        self.steps += 1
        ops_path = self.scratch / f"ops-{self.steps}.json"
        results_path = self.scratch / f"results-{self.steps}.json"
        ops_path.write_text(json.dumps(ops), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, str(THIS), str(ops_path), str(results_path)],
            env=self.env,
            cwd=str(self.scratch),
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
        for op, r in zip(ops, results):
            if not r.get("ok"):
                r["message"] = redact(r.get("message", ""))
            assert op.get("may_fail") or r["ok"], f"Python {op['op']} failed: {r}"
        return results


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cli_login_is_seen_by_python(hub, hub_cli, runner):
    s = Session(hub, hub_cli, runner)
    proc = s.cli_login("alice")
    assert "alice" in proc.stderr and proc.stdout == ""
    assert mode(s.hf_home / "token") == 0o600 and mode(s.hf_home / "stored_tokens") == 0o600

    token, who, stored, info = s.py(
        [{"op": "get_token"}, {"op": "whoami"}, {"op": "stored_tokens"},
         {"op": "model_info", "repo_id": "acme/private-model"}]
    )
    assert token["token"] == "alice", f"Python's get_token() is {token['token']!r}"
    assert (who["name"], who["orgs"], who["role"]) == ("alice", ["acme"], "write"), who
    assert list(stored["stored"].values()) == ["alice"], f"get_stored_tokens(): {stored['stored']}"
    assert info["id"] == "acme/private-model" and info["private"] is True, info

    # Another login by hub-cli: Python sees the new active token.
    s.cli_login("julien-c")
    token, who = s.py([{"op": "get_token"}, {"op": "whoami"}])
    assert token["token"] == "julien-c" and who["name"] == "julien-c"


def test_python_login_is_seen_by_cli(hub, hub_cli, runner):
    s = Session(hub, hub_cli, runner)
    [login] = s.py([{"op": "login", "token_name": "alice"}])
    assert login["ok"]
    proc = s.cli(["whoami"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "alice\norgs: acme\n"
    proc = s.cli(["repo", "info", "acme/private-model", "--json"])
    assert proc.returncode == 0, f"hub-cli did not use Python's token: {proc.stderr}"
    assert json.loads(proc.stdout)["id"] == "acme/private-model"


def test_two_tokens_stored_by_python_then_by_cli(hub, hub_cli, runner):
    s = Session(hub, hub_cli, runner)
    # Python stores bob's token under a name of its own, then logs in with alice's.
    s.py([{"op": "save_token", "token_name": "bob", "as": "bob-laptop"},
          {"op": "login", "token_name": "alice"}])
    [stored] = s.py([{"op": "stored_tokens"}])
    assert sorted(stored["stored"].values()) == ["alice", "bob"], stored
    assert stored["stored"]["bob-laptop"] == "bob"
    assert s.cli(["whoami"]).stdout == "alice\norgs: acme\n", "hub-cli uses the active token"

    # Python switches to bob's: hub-cli follows.
    s.py([{"op": "switch", "name": "bob-laptop"}])
    assert s.cli(["whoami"]).stdout == "bob\n"

    # hub-cli logs in julien-c: Python's other section is kept, julien-c is active for Python.
    s.cli_login("julien-c")
    stored, token, who = s.py([{"op": "stored_tokens"}, {"op": "get_token"}, {"op": "whoami"}])
    assert stored["stored"]["bob-laptop"] == "bob", f"hub-cli dropped Python's section: {stored}"
    assert "julien-c" in stored["stored"].values(), stored
    assert token["token"] == "julien-c" and who["name"] == "julien-c"
    # And Python can still switch back to the token it stored.
    s.py([{"op": "switch", "name": "bob-laptop"}])
    assert s.cli(["whoami"]).stdout == "bob\n"


def test_cli_logout_logs_python_out_and_back(hub, hub_cli, runner):
    s = Session(hub, hub_cli, runner)
    s.cli_login("alice")
    proc = s.cli(["logout"])
    assert proc.returncode == 0, proc.stderr
    token, stored, who = s.py([{"op": "get_token"}, {"op": "stored_tokens"}, {"op": "whoami", "may_fail": True}])
    assert token["token"] is None, f"Python still has a token after hub-cli logout: {token}"
    assert stored["stored"] == {}
    assert not who["ok"], f"Python's whoami() succeeded after hub-cli logout: {who}"

    # Python logs in, hub-cli logs out: Python is logged out.
    s.py([{"op": "login", "token_name": "bob"}])
    assert s.cli(["logout"]).returncode == 0
    [token] = s.py([{"op": "get_token"}])
    assert token["token"] is None

    # hub-cli logs in, Python logs out: hub-cli is logged out.
    s.cli_login("alice")
    s.py([{"op": "logout"}])
    proc = s.cli(["whoami"])
    assert proc.returncode == 1 and proc.stderr.strip() == "error: not logged in: run `hub-cli auth login` or set HF_TOKEN", proc


# ---- the scenario script (a fresh interpreter per step) ------------------------------------------


def _child_main(ops_path: str, results_path: str) -> None:
    """Ops: login {token_name}, save_token {token_name, as}, switch {name}, logout, get_token,
    stored_tokens, whoami, model_info {repo_id}. Tokens come from $TESTHUB_TOKENS_FILE; a token seen
    is reported by its name there ("<unknown>" if none)."""
    import os

    from _scenario import _describe_error

    with open(os.environ["TESTHUB_TOKENS_FILE"], encoding="utf-8") as f:
        tokens = json.load(f)
    names = {v: k for k, v in tokens.items()}

    def name_of(token):
        return None if token is None else names.get(token, "<unknown>")

    import huggingface_hub
    from huggingface_hub import HfApi
    from huggingface_hub.utils import _auth

    with open(ops_path, encoding="utf-8") as f:
        ops = json.load(f)
    results = []
    for op in ops:
        kind = op["op"]
        try:
            if kind == "login":
                huggingface_hub.login(token=tokens[op["token_name"]], add_to_git_credential=False)
                results.append({"ok": True})
            elif kind == "save_token":
                _auth._save_token(token=tokens[op["token_name"]], token_name=op["as"])
                results.append({"ok": True})
            elif kind == "switch":
                huggingface_hub.auth_switch(op["name"])
                results.append({"ok": True})
            elif kind == "logout":
                huggingface_hub.logout()
                results.append({"ok": True})
            elif kind == "get_token":
                results.append({"ok": True, "token": name_of(huggingface_hub.get_token())})
            elif kind == "stored_tokens":
                stored = _auth.get_stored_tokens()
                results.append({"ok": True, "stored": {k: name_of(v) for k, v in stored.items()}})
            elif kind == "whoami":
                who = HfApi().whoami()
                access = (who.get("auth") or {}).get("accessToken") or {}
                results.append(
                    {"ok": True, "name": who["name"], "orgs": [o["name"] for o in who.get("orgs", [])],
                     "role": access.get("role")}
                )
            elif kind == "model_info":
                info = HfApi().model_info(op["repo_id"])
                results.append({"ok": True, "id": info.id, "private": info.private})
            else:
                raise ValueError(f"unknown op {kind!r}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
            results.append(_describe_error(exc))
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    _child_main(sys.argv[1], sys.argv[2])
