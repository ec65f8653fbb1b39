"""HfApi (official client) against the TestHub: identity, repo CRUD and settings, repo info,
listings with filters and pagination, tree / paths-info, refs, commits, branches and tags.

Each test runs its HfApi calls in one fresh interpreter (`_api_scenario.py`). Tests that write
use repos of their own (unique names) or undo what they did, because the session hub is shared
with the download and interop suites. Expectations come from the seed manifest and
tests/README.md (tags, downloads, likes of the seed).
"""

from __future__ import annotations

import uuid

import pytest

from conftest import API_SCENARIO, describe, new_tag, tagged_log


def uid() -> str:
    return uuid.uuid4().hex[:10]


def op(method: str, token: str | None = None, **kwargs) -> dict:
    o = {"method": method, "kwargs": kwargs}
    if token is not None:
        o["token_name"] = token
    return o


def run(runner, ops, **kw):
    return runner.run(ops, cache_dir=runner.new_cache(), script=API_SCENARIO, **kw)


def ok(result: dict, what: str = ""):
    assert result["ok"], f"{what}: {describe(result)}"
    return result["value"]


def failed(result: dict, exc: str, status: int | None, what: str = "", error_code: str | None = None):
    assert not result["ok"], f"{what}: expected {exc}, got {result.get('value')!r}"
    assert exc in result["mro"], f"{what}: expected {exc}, got {describe(result)}"
    if status is not None:
        assert result["status"] == status, f"{what}: expected HTTP {status}, got {describe(result)}"
    if error_code is not None:
        assert result["error_code"] == error_code, f"{what}: {describe(result)}"


def ids(items) -> list[str]:
    return [m["id"] for m in items]


def names(refs: list[dict]) -> dict:
    return {r["name"]: r["target_commit"] for r in refs}


# ---- identity ----------------------------------------------------------------------------------


def test_whoami(runner):
    results = run(
        runner,
        [
            op("whoami", "alice"),
            op("whoami", "alice_read"),
            op("whoami", "julien-c"),
            {"method": "whoami", "kwargs": {}, "token_literal": "hf_thisIsNotAValidTokenAtAll000"},
        ],
    )
    alice = ok(results[0], "whoami alice")
    assert alice["name"] == "alice"
    assert [o["name"] for o in alice["orgs"]] == ["acme"]
    assert alice["auth"]["accessToken"]["role"] == "write"
    assert ok(results[1], "whoami alice_read")["auth"]["accessToken"]["role"] == "read"
    assert ok(results[2], "whoami julien-c")["orgs"] == []
    failed(results[3], "HfHubHTTPError", 401, "invalid token")


# ---- repo CRUD ---------------------------------------------------------------------------------


def test_create_repo(hub, runner):
    u = uid()
    model, priv, ds, sp = f"acme/api-{u}", f"api-priv-{u}", f"acme/ds-{u}", f"acme/sp-{u}"
    results = run(
        runner,
        [
            op("create_repo", "alice", repo_id=model),  # 0
            op("create_repo", "alice", repo_id=model),  # 1: 409
            op("create_repo", "alice", repo_id=model, exist_ok=True),  # 2
            op("create_repo", "bob", repo_id=priv, private=True),  # 3: bob's namespace
            op("model_info", None, repo_id=f"bob/{priv}"),  # 4: hidden
            op("model_info", "bob", repo_id=f"bob/{priv}"),  # 5
            op("create_repo", "alice", repo_id=ds, repo_type="dataset"),  # 6
            op("create_repo", "alice", repo_id=sp, repo_type="space", space_sdk="gradio"),  # 7
            op("space_info", None, repo_id=sp),  # 8
            op("create_repo", "bob", repo_id=f"acme/x-{u}"),  # 9: not bob's namespace
            op("create_repo", "bob", repo_id="acme/tiny-model", exist_ok=True),  # 10: 403, exists
            op("create_repo", "alice_read", repo_id=f"alice/r-{u}"),  # 11: read token
            op("list_repo_files", None, repo_id=model),  # 12
            op("repo_exists", None, repo_id=model),  # 13
            op("repo_exists", None, repo_id=f"acme/nope-{u}"),  # 14
            op("dataset_info", None, repo_id=ds),  # 15
            op("create_repo", "alice", repo_id=f"acme/sp2-{u}", repo_type="space", space_sdk="docker",
               private=True),  # 16
            op("space_info", "alice", repo_id=f"acme/sp2-{u}"),  # 17
        ],
    )
    url = ok(results[0], "create")
    assert url["__type__"] == "RepoUrl"
    assert url["url"] == f"{hub.endpoint}/{model}"
    assert (url["repo_id"], url["repo_type"], url["endpoint"]) == (model, "model", hub.endpoint)
    failed(results[1], "HfHubHTTPError", 409, "create again")
    assert ok(results[2], "exist_ok")["repo_id"] == model
    assert ok(results[3], "private create")["url"] == f"{hub.endpoint}/bob/{priv}"
    failed(results[4], "RepositoryNotFoundError", 401, "anonymous on a private repo", "RepoNotFound")
    assert ok(results[5], "owner reads private")["private"] is True
    d = ok(results[6], "dataset")
    assert (d["url"], d["repo_type"]) == (f"{hub.endpoint}/datasets/{ds}", "dataset")
    s = ok(results[7], "space")
    assert (s["url"], s["repo_type"]) == (f"{hub.endpoint}/spaces/{sp}", "space")
    assert ok(results[8], "space_info")["sdk"] == "gradio"
    failed(results[9], "HfHubHTTPError", 403, "bob in acme")
    # exist_ok turns the 403 into a repo_info check: the repo exists, so its URL comes back.
    assert ok(results[10], "exist_ok on someone else's existing repo")["url"] == f"{hub.endpoint}/acme/tiny-model"
    failed(results[11], "HfHubHTTPError", 403, "read token")
    assert ok(results[12], "a new repo has the Hub's initial commit") == [".gitattributes"]
    assert ok(results[13]) is True
    assert ok(results[14]) is False
    assert ok(results[15], "dataset_info")["id"] == ds
    ok(results[16], "private space")
    assert ok(results[17], "private space info")["private"] is True


def test_delete_repo(runner):
    u = uid()
    repo, ds = f"acme/del-{u}", f"acme/delds-{u}"
    results = run(
        runner,
        [
            op("create_repo", "alice", repo_id=repo),  # 0
            op("delete_repo", "bob", repo_id=repo),  # 1: not bob's
            op("delete_repo", "alice_read", repo_id=repo),  # 2: read token
            op("delete_repo", "alice", repo_id=repo),  # 3
            op("repo_exists", None, repo_id=repo),  # 4
            op("delete_repo", "alice", repo_id=repo),  # 5: missing
            op("delete_repo", "alice", repo_id=repo, missing_ok=True),  # 6
            op("create_repo", "alice", repo_id=ds, repo_type="dataset"),  # 7
            op("delete_repo", "alice", repo_id=ds),  # 8: wrong type = missing
            op("delete_repo", "alice", repo_id=ds, repo_type="dataset"),  # 9
            op("repo_exists", None, repo_id=ds, repo_type="dataset"),  # 10
            op("delete_repo", "bob", repo_id="acme/private-model"),  # 11: hidden
        ],
    )
    ok(results[0], "create")
    failed(results[1], "HfHubHTTPError", 403, "bob deletes acme's repo")
    failed(results[2], "HfHubHTTPError", 403, "read token deletes")
    assert ok(results[3], "delete") is None
    assert ok(results[4]) is False
    failed(results[5], "RepositoryNotFoundError", 404, "delete twice", "RepoNotFound")
    assert ok(results[6], "missing_ok") is None
    ok(results[7])
    failed(results[8], "RepositoryNotFoundError", 404, "model of a dataset's name")
    ok(results[9], "delete dataset")
    assert ok(results[10]) is False
    failed(results[11], "RepositoryNotFoundError", 404, "a private repo bob cannot see")


def test_move_repo(runner):
    u = uid()
    src, dst = f"acme/mv-{u}", f"alice/mv-{u}"
    results = run(
        runner,
        [
            op("create_repo", "alice", repo_id=src),  # 0
            op("move_repo", "bob", from_id=src, to_id=f"bob/mv-{u}"),  # 1: bob cannot write src
            op("move_repo", "alice", from_id=src, to_id=f"bob/mv-{u}"),  # 2: not alice's namespace
            op("move_repo", "alice", from_id=src, to_id="acme/tiny-model"),  # 3: exists
            op("move_repo", "alice", from_id=src, to_id=dst),  # 4
            op("model_info", None, repo_id=dst),  # 5
            op("model_info", None, repo_id=src),  # 6: the old name redirects
            op("list_repo_refs", None, repo_id=src),  # 7
            op("move_repo", "alice", from_id=f"acme/none-{u}", to_id=f"alice/none-{u}"),  # 8
        ],
    )
    ok(results[0])
    failed(results[1], "HfHubHTTPError", 403, "bob moves acme's repo")
    failed(results[2], "HfHubHTTPError", 403, "into bob's namespace")
    failed(results[3], "HfHubHTTPError", 409, "onto an existing repo")
    assert ok(results[4], "move") is None
    moved = ok(results[5], "info at the new name")
    assert moved["id"] == dst
    assert ok(results[6], "info at the old name (307)")["id"] == dst
    assert "main" in names(ok(results[7], "refs via the old name")["branches"])
    failed(results[8], "RepositoryNotFoundError", 404, "missing source")


def test_update_repo_settings(hub, runner):
    u = uid()
    repo = f"acme/set-{u}"
    results = run(
        runner,
        [
            op("create_repo", "alice", repo_id=repo),  # 0
            op("update_repo_settings", "alice", repo_id=repo, private=True),  # 1
            op("model_info", None, repo_id=repo),  # 2
            op("model_info", "alice", repo_id=repo),  # 3
            op("update_repo_settings", "alice", repo_id=repo, visibility="public", gated="auto"),  # 4
            op("model_info", "alice", repo_id=repo),  # 5
            op("hf_hub_download", None, repo_id=repo, filename=".gitattributes"),  # 6: gated
            op("update_repo_settings", "alice", repo_id=repo, gated=False),  # 7
            op("model_info", None, repo_id=repo),  # 8
            op("update_repo_settings", "bob", repo_id=repo, private=True),  # 9
            op("update_repo_settings", "alice_read", repo_id=repo, private=True),  # 10
            op("update_repo_settings", "bob", repo_id="acme/private-model", private=False),  # 11
        ],
    )
    ok(results[0])
    assert ok(results[1], "private") is None
    failed(results[2], "RepositoryNotFoundError", 401, "now hidden", "RepoNotFound")
    assert ok(results[3])["private"] is True
    ok(results[4], "public + gated auto")
    info = ok(results[5])
    assert (info["private"], info["gated"]) == (False, "auto")
    failed(results[6], "GatedRepoError", 401, "anonymous download of a gated repo", "GatedRepo")
    ok(results[7], "ungate")
    assert ok(results[8], "public again")["gated"] is False
    failed(results[9], "HfHubHTTPError", 403, "bob changes acme's settings")
    failed(results[10], "HfHubHTTPError", 403, "read token changes settings")
    failed(results[11], "RepositoryNotFoundError", 404, "bob on a private repo")


# ---- repo info ---------------------------------------------------------------------------------


def test_model_and_dataset_info_with_files_metadata(hub, runner):
    results = run(
        runner,
        [
            op("model_info", None, repo_id="acme/tiny-model", files_metadata=True),
            op("dataset_info", None, repo_id="acme/tiny-dataset", revision="refs/pr/1", files_metadata=True),
            op("space_info", None, repo_id="acme/tiny-space", revision="dev"),
            op("model_info", None, repo_id="acme/private-model"),
            op("model_info", "alice_read", repo_id="acme/private-model"),
            op("model_info", None, repo_id="acme/tiny-model", revision="nope"),
            op("model_info", "carol", repo_id="acme/gated-model"),
        ],
    )
    for (repo_type, repo_id, rev), res in zip(
        [("model", "acme/tiny-model", "main"), ("dataset", "acme/tiny-dataset", "refs/pr/1")], results
    ):
        info = ok(res, f"{repo_type} info")
        manifest = hub.repo(repo_type, repo_id)
        revision = manifest["revisions"][rev]
        assert info["id"] == repo_id
        assert info["sha"] == revision["commit"]
        assert info["tags"] == manifest["tags"]
        siblings = {s["rfilename"]: s for s in info["siblings"]}
        assert set(siblings) == set(revision["files"])
        for path, entry in revision["files"].items():
            s = siblings[path]
            assert s["size"] == entry["size"], path
            assert s["blob_id"] == entry["git_oid"], path
            if entry["lfs"]:
                assert s["lfs"]["sha256"] == entry["sha256"], path
                assert s["lfs"]["size"] == entry["size"], path
                assert s["lfs"]["pointer_size"] > 100
            else:
                assert s["lfs"] is None, path
    model = ok(results[0])
    assert (model["library_name"], model["pipeline_tag"], model["downloads"], model["likes"]) == (
        "asteroid", "audio-to-audio", 100, 3,
    )
    assert model["created_at"].startswith("2024-01-01T")
    space = ok(results[2], "space info")
    assert (space["sdk"], space["sha"]) == ("static", hub.repo("space", "acme/tiny-space")["revisions"]["dev"]["commit"])
    failed(results[3], "RepositoryNotFoundError", 401, "private anonymous", "RepoNotFound")
    assert ok(results[4], "private with alice_read")["private"] is True
    failed(results[5], "RevisionNotFoundError", 404, "missing revision", "RevisionNotFound")
    assert ok(results[6], "gated with access")["gated"] == "manual"


# ---- listings ----------------------------------------------------------------------------------


def test_list_models_filters(runner):
    results = run(
        runner,
        [
            op("list_models", None, filter="asteroid"),  # 0: the library is a tag
            op("list_models", None, author="julien-c"),  # 1
            op("list_models", None, search="tiny-m"),  # 2
            op("list_models", None, filter=["pytorch", "transformers"]),  # 3
            op("list_models", None, filter="pytorch", sort="downloads", limit=2),  # 4
            op("list_models", None, filter="asteroid", full=True),  # 5
            op("list_models", None, author="acme"),  # 6
            op("list_models", "alice", author="acme"),  # 7
            op("list_models", None, pipeline_tag="fill-mask"),  # 8
            op("list_datasets", None, filter="language:en"),  # 9
            op("list_spaces", None, author="acme", filter="static"),  # 10
            op("list_models", None, author="julien-c", sort="likes"),  # 11
        ],
    )
    asteroid = ok(results[0], "filter=asteroid")
    assert ids(asteroid) == ["acme/tiny-model"]
    m = asteroid[0]
    assert m["__type__"] == "ModelInfo"
    assert (m["library_name"], m["downloads"], m["likes"]) == ("asteroid", 100, 3)
    assert "asteroid" in m["tags"] and m["siblings"] is None
    assert ids(ok(results[1])) == ["julien-c/EsperBERTo-small"]
    assert ids(ok(results[2])) == ["acme/tiny-model"]
    assert ids(ok(results[3])) == ["acme/gated-model", "julien-c/EsperBERTo-small"]
    assert ids(ok(results[4])) == ["julien-c/EsperBERTo-small", "acme/tiny-model"]
    full = ok(results[5])
    assert {s["rfilename"] for s in full[0]["siblings"]} >= {"config.json", "weights.bin", "nested/deep/file.txt"}
    anon_acme, alice_acme = ids(ok(results[6])), ids(ok(results[7]))
    assert "acme/private-model" not in anon_acme and "acme/private-model" in alice_acme
    assert {"acme/tiny-model", "acme/gated-model"} <= set(anon_acme)
    assert ids(ok(results[8])) == ["julien-c/EsperBERTo-small"]
    datasets = ok(results[9])
    assert ids(datasets) == ["acme/tiny-dataset"] and datasets[0]["__type__"] == "DatasetInfo"
    spaces = ok(results[10])
    assert ids(spaces) == ["acme/tiny-space"] and spaces[0]["sdk"] == "static"
    assert ids(ok(results[11])) == ["julien-c/EsperBERTo-small"]


def test_pagination_follows_link_headers(hub, runner):
    """With a page size of 2 the client must follow `Link: rel="next"` to see everything."""
    tag = new_tag("pages")
    expected_files = set(hub.repo("model", "acme/tiny-model")["revisions"]["main"]["files"])
    hub.config(page_size=2)
    try:
        results = run(
            runner,
            [
                op("list_models", None, filter="pytorch"),  # 3 public pytorch models: 2 pages
                op("list_models", None, filter="pytorch", limit=1),  # stops after the first page
                op("list_repo_files", None, repo_id="acme/tiny-model"),  # 9 tree entries: 5 pages
                op("list_repo_commits", None, repo_id="acme/tiny-model", revision="dev"),  # 3: 2 pages
            ],
            tag=tag,
        )
    finally:
        hub.config(page_size=None)
    assert sorted(ids(ok(results[0]))) == ["acme/gated-model", "acme/tiny-model", "julien-c/EsperBERTo-small"]
    assert len(ok(results[1])) == 1
    assert set(ok(results[2])) == expected_files
    assert len(ok(results[3])) == 3
    log = tagged_log(hub.stats(), tag)
    listing = [e for e in log if e["path"] == "/api/models" and e["status"] == 200]
    assert len(listing) == 2 + 1, [(e["path"], e["status"]) for e in log]
    tree = [e for e in log if e["path"].startswith("/api/models/acme/tiny-model/tree/")]
    assert len(tree) == 5, [e["path"] for e in tree]
    commits = [e for e in log if e["path"].startswith("/api/models/acme/tiny-model/commits/")]
    assert len(commits) == 2


# ---- files, tree, paths-info -------------------------------------------------------------------


def test_list_repo_files_and_tree(hub, runner):
    tiny = hub.repo("model", "acme/tiny-model")["revisions"]
    pr = hub.repo("dataset", "acme/tiny-dataset")["revisions"]["refs/pr/1"]
    results = run(
        runner,
        [
            op("list_repo_files", None, repo_id="acme/tiny-model"),  # 0
            op("list_repo_files", None, repo_id="acme/tiny-model", revision="dev"),  # 1
            op("list_repo_files", None, repo_id="acme/tiny-dataset", repo_type="dataset", revision="refs/pr/1"),  # 2
            op("list_repo_tree", None, repo_id="acme/tiny-model"),  # 3
            op("list_repo_tree", None, repo_id="acme/tiny-model", path_in_repo="nested/deep"),  # 4
            op("list_repo_tree", None, repo_id="acme/tiny-model", recursive=True, expand=True),  # 5
            op("list_repo_tree", None, repo_id="acme/tiny-model", path_in_repo="nope"),  # 6
            op("list_repo_tree", None, repo_id="acme/tiny-model", revision="nope"),  # 7
            op("list_repo_files", None, repo_id="acme/private-model"),  # 8
            op("list_repo_files", "alice", repo_id="acme/private-model"),  # 9
            op("list_repo_tree", None, repo_id="acme/tiny-model", path_in_repo="unicode", revision="v1.0"),  # 10
        ],
    )
    assert set(ok(results[0])) == set(tiny["main"]["files"])
    assert set(ok(results[1])) == set(tiny["dev"]["files"])
    assert set(ok(results[2])) == set(pr["files"])
    top = {e["path"]: e for e in ok(results[3], "tree")}
    assert set(top) == {".gitattributes", "README.md", "config.json", "nested", "unicode", "weights.bin"}
    assert top["nested"]["__type__"] == "RepoFolder" and len(top["nested"]["tree_id"]) == 40
    w = top["weights.bin"]
    assert w["__type__"] == "RepoFile"
    assert w["blob_id"] == tiny["main"]["files"]["weights.bin"]["git_oid"]
    assert w["size"] == tiny["main"]["files"]["weights.bin"]["size"]
    assert w["lfs"]["sha256"] == tiny["main"]["files"]["weights.bin"]["sha256"]
    assert top["config.json"]["lfs"] is None
    assert top["config.json"]["blob_id"] == tiny["main"]["files"]["config.json"]["git_oid"]
    assert [e["path"] for e in ok(results[4])] == ["nested/deep/file.txt"]
    expanded = {e["path"]: e for e in ok(results[5])}
    assert "nested/deep" in expanded and expanded["nested/deep"]["__type__"] == "RepoFolder"
    assert expanded["config.json"]["last_commit"]["oid"] == tiny["main"]["commit"]
    assert expanded["README.md"]["last_commit"]["oid"] == tiny["v1.0"]["commit"]
    assert expanded["config.json"]["security"]["safe"] is True
    failed(results[6], "EntryNotFoundError", 404, "missing folder", "EntryNotFound")
    failed(results[7], "RevisionNotFoundError", 404, "missing revision", "RevisionNotFound")
    failed(results[8], "RepositoryNotFoundError", 401, "private anonymous", "RepoNotFound")
    assert set(ok(results[9])) == set(hub.repo("model", "acme/private-model")["revisions"]["main"]["files"])
    assert [e["path"] for e in ok(results[10])] == ["unicode/café ü ñ.txt"]


def test_get_paths_info(hub, runner):
    v1 = hub.repo("model", "acme/tiny-model")["revisions"]["v1.0"]
    results = run(
        runner,
        [
            op("get_paths_info", None, repo_id="acme/tiny-model",
               paths=["config.json", "nested", "missing.txt", "weights.bin"], revision="v1.0"),
            op("get_paths_info", None, repo_id="acme/tiny-model", paths="config.json", expand=True),
            op("get_paths_info", None, repo_id="acme/tiny-model", paths=["config.json"], revision="nope"),
        ],
    )
    info = ok(results[0], "paths-info")
    assert [e["path"] for e in info] == ["config.json", "nested", "weights.bin"]
    assert info[0]["blob_id"] == v1["files"]["config.json"]["git_oid"]
    assert info[1]["__type__"] == "RepoFolder"
    assert info[2]["lfs"]["sha256"] == v1["files"]["weights.bin"]["sha256"]
    expanded = ok(results[1])
    assert expanded[0]["last_commit"]["oid"] == hub.repo("model", "acme/tiny-model")["revisions"]["main"]["commit"]
    failed(results[2], "RevisionNotFoundError", 404, "missing revision", "RevisionNotFound")


# ---- refs, commits, branches, tags -------------------------------------------------------------


def test_list_repo_refs(hub, runner):
    revs = hub.repo("model", "acme/tiny-model")["revisions"]
    results = run(
        runner,
        [
            op("list_repo_refs", None, repo_id="acme/tiny-model"),
            op("list_repo_refs", None, repo_id="acme/tiny-model", include_pull_requests=True),
            op("list_repo_refs", None, repo_id="acme/tiny-dataset", repo_type="dataset"),
        ],
    )
    refs = ok(results[0])
    assert names(refs["branches"]) == {"main": revs["main"]["commit"], "dev": revs["dev"]["commit"]}
    assert names(refs["tags"]) == {"v1.0": revs["v1.0"]["commit"]}
    assert refs["converts"] == [] and refs["pull_requests"] is None
    prs = ok(results[1])["pull_requests"]
    assert [(p["name"], p["ref"], p["target_commit"]) for p in prs] == [
        ("refs/pr/1", "refs/pr/1", revs["refs/pr/1"]["commit"])
    ]
    ds = hub.repo("dataset", "acme/tiny-dataset")["revisions"]
    assert names(ok(results[2])["branches"])["main"] == ds["main"]["commit"]


def test_list_repo_commits(hub, runner):
    revs = hub.repo("model", "acme/tiny-model")["revisions"]
    results = run(
        runner,
        [
            op("list_repo_commits", None, repo_id="acme/tiny-model", revision="dev"),
            op("list_repo_commits", None, repo_id="acme/tiny-model", formatted=True),
            op("list_repo_commits", None, repo_id="acme/tiny-model", revision="refs/pr/1"),
            op("list_repo_commits", None, repo_id="acme/tiny-model", revision="nope"),
        ],
    )
    dev = ok(results[0])
    assert [c["commit_id"] for c in dev] == [revs["dev"]["commit"], revs["main"]["commit"], revs["v1.0"]["commit"]]
    assert [c["title"] for c in dev] == ["Add dev-only file", "Update config", "Initial commit"]
    assert dev[0]["authors"] == ["TestHub"] and dev[0]["created_at"].startswith("2024-01-01")
    assert dev[0]["formatted_title"] is None
    main = ok(results[1])
    assert main[0]["formatted_title"] == "Update config"
    assert [c["commit_id"] for c in ok(results[2])][0] == revs["refs/pr/1"]["commit"]
    failed(results[3], "RevisionNotFoundError", 404, "missing revision", "RevisionNotFound")


def test_branches_and_tags(hub, runner):
    """On the seeded model (everything is undone at the end), so that start points and downloads
    at the new refs can be checked against the manifest."""
    u = uid()
    branch, tag = f"api/{u}", f"api-{u}"
    revs = hub.repo("model", "acme/tiny-model")["revisions"]
    repo = "acme/tiny-model"
    results = run(
        runner,
        [
            op("create_branch", "alice", repo_id=repo, branch=branch, revision="v1.0"),  # 0
            op("create_branch", "alice", repo_id=repo, branch=branch),  # 1: 409
            op("create_branch", "alice", repo_id=repo, branch=branch, exist_ok=True),  # 2
            op("create_branch", "bob", repo_id=repo, branch=f"bob-{u}"),  # 3: 403
            op("create_branch", "bob", repo_id=repo, branch="dev", exist_ok=True),  # 4: 403, exists
            op("create_tag", "alice", repo_id=repo, tag=tag, revision="refs/pr/1", tag_message="a release"),  # 5
            op("create_tag", "alice", repo_id=repo, tag=tag),  # 6: 409
            op("create_tag", "alice", repo_id=repo, tag=tag, exist_ok=True),  # 7
            op("create_tag", "bob", repo_id=repo, tag=f"bob-{u}"),  # 8: 403
            op("list_repo_refs", None, repo_id=repo),  # 9
            op("hf_hub_download", None, repo_id=repo, filename="config.json", revision=branch),  # 10
            op("hf_hub_download", None, repo_id=repo, filename="config.json", revision=tag),  # 11
            op("delete_branch", "bob", repo_id=repo, branch=branch),  # 12: 403
            op("delete_branch", "alice", repo_id=repo, branch=branch),  # 13
            op("delete_branch", "alice", repo_id=repo, branch=branch),  # 14: missing
            op("delete_tag", "bob", repo_id=repo, tag=tag),  # 15: 403
            op("delete_tag", "alice", repo_id=repo, tag=tag),  # 16
            op("delete_tag", "alice", repo_id=repo, tag=tag),  # 17: missing
            op("list_repo_refs", None, repo_id=repo),  # 18
            op("create_branch", "alice", repo_id=repo, branch=f"x-{u}", revision="nope"),  # 19
        ],
    )
    ok(results[0], "create_branch from v1.0")
    failed(results[1], "HfHubHTTPError", 409, "branch exists")
    ok(results[2], "branch exists, exist_ok")
    failed(results[3], "HfHubHTTPError", 403, "bob creates a branch")
    ok(results[4], "bob, exist_ok, branch exists: the client checks the refs")
    ok(results[5], "annotated tag on refs/pr/1")
    failed(results[6], "HfHubHTTPError", 409, "tag exists")
    ok(results[7], "tag exists, exist_ok")
    failed(results[8], "HfHubHTTPError", 403, "bob creates a tag")
    refs = ok(results[9])
    assert names(refs["branches"])[branch] == revs["v1.0"]["commit"]
    assert names(refs["tags"])[tag] == revs["refs/pr/1"]["commit"]
    with open(ok(results[10], "download at the branch"), encoding="utf-8") as f:
        assert f.read() == '{"revision": "v1.0"}'
    with open(ok(results[11], "download at the tag"), encoding="utf-8") as f:
        assert f.read() == '{"revision": "refs/pr/1"}'
    failed(results[12], "HfHubHTTPError", 403, "bob deletes a branch")
    ok(results[13], "delete_branch")
    failed(results[14], "RevisionNotFoundError", 404, "delete a missing branch")
    failed(results[15], "HfHubHTTPError", 403, "bob deletes a tag")
    ok(results[16], "delete_tag")
    failed(results[17], "RevisionNotFoundError", 404, "delete a missing tag")
    after = ok(results[18])
    assert names(after["branches"]) == {"main": revs["main"]["commit"], "dev": revs["dev"]["commit"]}
    assert names(after["tags"]) == {"v1.0": revs["v1.0"]["commit"]}
    failed(results[19], "RevisionNotFoundError", 404, "branch from a missing revision")


# ---- permissions, in one place -----------------------------------------------------------------

PERMISSION_CASES = [
    # (id, op, expected exception, status)
    ("create-in-another-users-namespace", op("create_repo", "alice", repo_id="bob/not-alices"),
     "HfHubHTTPError", 403),
    ("create-in-an-org-not-a-member", op("create_repo", "bob", repo_id="acme/not-bobs"), "HfHubHTTPError", 403),
    ("create-existing-without-exist-ok", op("create_repo", "alice", repo_id="acme/tiny-model"), "HfHubHTTPError", 409),
    ("create-existing-dataset-without-exist-ok",
     op("create_repo", "alice", repo_id="acme/tiny-dataset", repo_type="dataset"), "HfHubHTTPError", 409),
    ("delete-another-users-repo", op("delete_repo", "bob", repo_id="julien-c/EsperBERTo-small"), "HfHubHTTPError", 403),
    ("settings-with-a-read-token", op("update_repo_settings", "alice_read", repo_id="acme/tiny-model", private=True),
     "HfHubHTTPError", 403),
    ("branch-on-gated-without-rights", op("create_branch", "carol", repo_id="acme/gated-model", branch="c"),
     "HfHubHTTPError", 403),
    ("move-another-users-repo",
     op("move_repo", "bob", from_id="julien-c/EsperBERTo-small", to_id="bob/EsperBERTo-small"), "HfHubHTTPError", 403),
]


@pytest.fixture(scope="module")
def permission_results(runner):
    results = run(runner, [case[1] for case in PERMISSION_CASES])
    return {case[0]: res for case, res in zip(PERMISSION_CASES, results)}


@pytest.mark.parametrize("case", PERMISSION_CASES, ids=[c[0] for c in PERMISSION_CASES])
def test_permission_failures(permission_results, case):
    case_id, _, exc, status = case
    failed(permission_results[case_id], exc, status, case_id)
