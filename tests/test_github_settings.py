"""scripts/github-settings.py against a fake `gh` that keeps a repository's settings in a JSON file.

The fake implements exactly the endpoints the script uses, with GitHub's response shapes (an
environment's `protection_rules`, `deployment_branch_policy`, the branch policy list), GitHub's
`gh api` error output (`gh: Not Found (HTTP 404)` on stderr, exit 1), and records every call.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "github-settings.py"
REPO = "acme/ipeacast"
USERS = {"alice": 101, "bob": 102}
TEAMS = {"acme/ops": 201}
REVIEWERS = ["--prod-reviewer", "user:alice", "--prod-reviewer", "team:acme/ops"]
CLAIM_KEYS = ["repo", "context", "job_workflow_ref"]

FAKE_GH = r"""
import json, os, re, sys
from urllib.parse import parse_qs, unquote, urlsplit

STATE = os.environ["FAKE_GH_STATE"]


def reply(status, body=None):
    if status >= 400:
        messages = {403: "Forbidden", 404: "Not Found", 422: "Validation Failed"}
        message = (body or {}).get("message") or messages.get(status, "Error")
        print(json.dumps({"message": message, "status": str(status)}))
        print(f"gh: {message} (HTTP {status})", file=sys.stderr)
        sys.exit(1)
    if body is not None:
        print(json.dumps(body))
    sys.exit(0)


def main(argv):
    assert argv[0] == "api", argv
    method, path, headers, stdin_body = "GET", None, [], None
    rest = iter(argv[1:])
    for arg in rest:
        if arg in ("--method", "-X"):
            method = next(rest)
        elif arg == "-H":
            headers.append(next(rest))
        elif arg == "--input":
            assert next(rest) == "-"
            stdin_body = json.loads(sys.stdin.read())
        else:
            assert path is None, f"second path {arg!r}"
            path = arg
    with open(STATE) as f:
        state = json.load(f)
    state["calls"].append({"method": method, "path": path, "body": stdin_body})
    try:
        status, body = route(state, method, path, stdin_body)
    finally:
        with open(STATE, "w") as f:
            json.dump(state, f, indent=1)
    reply(status, body)


def route(state, method, path, body):
    fail = state.get("fail")
    if fail and fail["method"] == method and fail["path"] == urlsplit(path).path:
        return fail["status"], {"message": fail["message"]}
    url = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    parts = [unquote(p) for p in url.path.strip("/").split("/")]
    if parts[0] == "users" and len(parts) == 2 and method == "GET":
        if parts[1] not in state["users"]:
            return 404, None
        return 200, {"login": parts[1], "id": state["users"][parts[1]], "type": "User"}
    if parts[0] == "orgs" and len(parts) == 4 and parts[2] == "teams" and method == "GET":
        key = f"{parts[1]}/{parts[3]}"
        if key not in state["teams"]:
            return 404, None
        return 200, {"id": state["teams"][key], "slug": parts[3], "name": parts[3].title()}
    if parts[0] != "repos" or len(parts) < 4:
        return 404, None
    repo = state["repos"].get(f"{parts[1]}/{parts[2]}")
    if repo is None:
        return 404, None
    tail = parts[3:]
    if tail == ["actions", "oidc", "customization", "sub"]:
        return oidc(repo, method, body)
    if tail[0] == "environments" and len(tail) >= 2:
        return environments(state, repo, method, tail[1], tail[2:], body, query)
    return 404, None


def oidc(repo, method, body):
    if method == "GET":
        return 200, repo["oidc"]
    if method == "PUT":
        if not isinstance(body.get("use_default"), bool):
            return 422, {"message": "use_default is required"}
        keys = body.get("include_claim_keys")
        if not body["use_default"] and not (keys and all(isinstance(k, str) for k in keys)):
            return 422, {"message": "include_claim_keys is required"}
        repo["oidc"] = {"use_default": body["use_default"]}
        if not body["use_default"]:
            repo["oidc"]["include_claim_keys"] = keys
        return 201, {}
    return 404, None


def environments(state, repo, method, name, tail, body, query):
    envs = repo["environments"]
    env = envs.get(name)
    if not tail:
        if method == "GET":
            return (404, None) if env is None else (200, show_environment(state, name, env))
        if method == "PUT":
            return put_environment(state, envs, name, env, body or {})
        if method == "DELETE" and env is not None:
            del envs[name]
            return 204, None
        return 404, None
    if tail[0] != "deployment-branch-policies" or env is None:
        return 404, None
    custom = (env.get("deployment_branch_policy") or {}).get("custom_branch_policies")
    if not custom:
        return 404, None  # the endpoints need custom_branch_policies
    policies = env["branch_policies"]
    if len(tail) == 1 and method == "GET":
        size, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        shown = policies[(page - 1) * size : page * size]
        return 200, {"total_count": len(policies), "branch_policies": shown}
    if len(tail) == 1 and method == "POST":
        kind = body.get("type", "branch")
        if any(p["name"] == body["name"] and p["type"] == kind for p in policies):
            return 422, {"message": "policy already exists"}
        state["next_id"] += 1
        policy = {"id": state["next_id"], "node_id": f"P{state['next_id']}", "name": body["name"],
                  "type": kind}
        policies.append(policy)
        return 200, policy
    if len(tail) == 2 and method == "DELETE":
        kept = [p for p in policies if str(p["id"]) != tail[1]]
        if len(kept) == len(policies):
            return 404, None
        env["branch_policies"] = kept
        return 204, None
    return 404, None


def put_environment(state, envs, name, env, body):
    reviewers = body.get("reviewers") or []
    if len(reviewers) > 6:
        return 422, {"message": "at most 6 reviewers"}
    known = {("User", i) for i in state["users"].values()} | {
        ("Team", i) for i in state["teams"].values()}
    for r in reviewers:
        if (r.get("type"), r.get("id")) not in known:
            return 422, {"message": f"reviewer {r} not found"}
    policy = body.get("deployment_branch_policy")
    if policy is not None and policy["protected_branches"] == policy["custom_branch_policies"]:
        return 422, {"message": "exactly one of protected_branches and custom_branch_policies"}
    custom = bool(policy and policy["custom_branch_policies"])
    keep = (env or {}).get("branch_policies", []) if custom else []
    # PUT replaces the protection rules: what the body leaves out is reset
    envs[name] = {
        "reviewers": [{"type": r["type"], "id": r["id"]} for r in reviewers],
        "prevent_self_review": bool(body.get("prevent_self_review", False)),
        "wait_timer": int(body.get("wait_timer", 0)),
        "deployment_branch_policy": policy,
        "branch_policies": keep,
    }
    return 200, show_environment(state, name, envs[name])


def show_environment(state, name, env):
    rules = []
    if env["wait_timer"]:
        rules.append(
            {"id": 1, "node_id": "R1", "type": "wait_timer", "wait_timer": env["wait_timer"]}
        )
    if env["reviewers"]:
        logins = {i: login for login, i in state["users"].items()}
        slugs = {i: key.split("/")[1] for key, i in state["teams"].items()}
        shown = []
        for r in env["reviewers"]:
            if r["type"] == "User":
                who = {"login": logins[r["id"]], "id": r["id"], "type": "User"}
            else:
                who = {"id": r["id"], "slug": slugs[r["id"]], "name": slugs[r["id"]].title()}
            shown.append({"type": r["type"], "reviewer": who})
        rules.append({"id": 2, "node_id": "R2", "type": "required_reviewers",
                      "prevent_self_review": env["prevent_self_review"], "reviewers": shown})
    if env["deployment_branch_policy"]:
        rules.append({"id": 3, "node_id": "R3", "type": "branch_policy"})
    return {"id": 7, "node_id": "E7", "name": name, "protection_rules": rules,
            "deployment_branch_policy": env["deployment_branch_policy"]}


main(sys.argv[1:])
"""


class FakeGitHub:
    """A repository's settings in a JSON file, served by the fake `gh` first on PATH."""

    def __init__(self, tmp_path: Path) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        gh = self.bin / "gh"
        gh.write_text(f"#!{sys.executable} -IS\n{FAKE_GH}")
        gh.chmod(0o755)
        self.state_file = tmp_path / "github.json"
        repo = {"oidc": {"use_default": True}, "environments": {}}
        state = {"users": USERS, "teams": TEAMS, "repos": {REPO: repo}, "next_id": 500}
        self.save({**state, "calls": []})
        self.path = f"{self.bin}{os.pathsep}{os.environ['PATH']}"

    def state(self) -> dict:
        return json.loads(self.state_file.read_text())

    def save(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state, indent=1))

    def edit(self, change: Callable[[dict], None]) -> None:
        """A manual change in the GitHub UI: `change` gets the repository's settings."""
        state = self.state()
        change(state["repos"][REPO])
        self.save(state)

    def writes(self) -> list[dict]:
        return [c for c in self.state()["calls"] if c["method"] != "GET"]

    def forget_calls(self) -> None:
        state = self.state()
        state["calls"] = []
        self.save(state)

    def run(self, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.execute([sys.executable, str(SCRIPT), *args], path=path)

    def execute(self, command: list[str], path: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": path or self.path, "FAKE_GH_STATE": str(self.state_file)}
        return subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def apply(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("apply", "--repo", REPO, *REVIEWERS, *extra)

    def check(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("check", "--repo", REPO, *REVIEWERS, *extra)


@pytest.fixture
def github(tmp_path: Path) -> FakeGitHub:
    return FakeGitHub(tmp_path)


def differing(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("DIFFERS")]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    assert result.stderr.startswith("error: ")
    assert result.stderr.strip().count("\n") == 0, result.stderr
    for word in words:
        assert word in result.stderr


# --------------------------------------------------------------------------- apply and check


def test_apply_on_an_empty_repository_sets_everything_and_check_then_passes(github):
    result = github.apply()

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "oidc subject template: set",
        "environment dev: set",
        "environment dev branch policy branch main: set",
        "environment prod: set",
        "environment prod branch policy branch main: set",
    ]
    repo = github.state()["repos"][REPO]
    assert repo["oidc"] == {"use_default": False, "include_claim_keys": CLAIM_KEYS}
    dev, prod = repo["environments"]["dev"], repo["environments"]["prod"]
    selected = {"protected_branches": False, "custom_branch_policies": True}
    assert dev["deployment_branch_policy"] == prod["deployment_branch_policy"] == selected
    assert dev["reviewers"] == []
    assert sorted((r["type"], r["id"]) for r in prod["reviewers"]) == [
        ("Team", 201),
        ("User", 101),
    ]
    assert prod["prevent_self_review"] is True
    for env in (dev, prod):
        assert [(p["type"], p["name"]) for p in env["branch_policies"]] == [("branch", "main")]

    check = github.check()
    assert check.returncode == 0, check.stdout
    assert differing(check) == []
    assert "ok       environment prod required reviewers: " in check.stdout


def test_a_second_apply_writes_nothing(github):
    assert github.apply().returncode == 0
    github.forget_calls()

    again = github.apply()

    assert again.returncode == 0, again.stderr
    assert github.writes() == []
    assert all(line.endswith(": unchanged") for line in again.stdout.splitlines())


def test_apply_honours_other_environments_and_branch(github):
    result = github.apply("--environments", "staging,prod", "--branch", "release")

    assert result.returncode == 0, result.stderr
    envs = github.state()["repos"][REPO]["environments"]
    assert sorted(envs) == ["prod", "staging"]
    assert [p["name"] for p in envs["staging"]["branch_policies"]] == ["release"]
    assert envs["staging"]["reviewers"] == []
    assert github.check("--environments", "staging,prod", "--branch", "release").returncode == 0
    assert github.check().returncode == 1  # dev is missing, and the branch is not main


def _reset_oidc(repo: dict) -> None:
    repo["oidc"] = {"use_default": True}


def _add_star_policy(repo: dict) -> None:
    repo["environments"]["prod"]["branch_policies"].append(
        {"id": 999, "node_id": "P999", "name": "*", "type": "branch"}
    )


def _remove_reviewers(repo: dict) -> None:
    repo["environments"]["prod"].update(reviewers=[], prevent_self_review=False)


def _delete_prod(repo: dict) -> None:
    del repo["environments"]["prod"]


@pytest.mark.parametrize(
    ("change", "drift", "repair"),
    [
        pytest.param(
            _reset_oidc,
            [
                "DIFFERS  oidc subject template: expected include_claim_keys "
                "['repo', 'context', 'job_workflow_ref'], actual default template"
            ],
            "oidc subject template: set",
            id="oidc-template-reset-to-default",
        ),
        pytest.param(
            _add_star_policy,
            [
                "DIFFERS  environment prod branch policies: expected branch main, "
                "actual branch *, branch main"
            ],
            "environment prod branch policy branch *: removed",
            id="star-branch-policy-added",
        ),
        pytest.param(
            _remove_reviewers,
            [
                "DIFFERS  environment prod required reviewers: expected team:acme/ops (id 201), "
                "user:alice (id 101), actual none",
                "DIFFERS  environment prod prevent self-review: expected true, actual false",
            ],
            "environment prod: set",
            id="prod-reviewers-removed",
        ),
        pytest.param(
            _delete_prod,
            [
                "DIFFERS  environment prod: expected exists, actual missing",
                "DIFFERS  environment prod deployment branches: expected selected branches, "
                "actual (environment missing)",
                "DIFFERS  environment prod required reviewers: expected team:acme/ops (id 201), "
                "user:alice (id 101), actual (environment missing)",
                "DIFFERS  environment prod prevent self-review: expected true, "
                "actual (environment missing)",
                "DIFFERS  environment prod branch policies: expected branch main, "
                "actual (environment missing)",
            ],
            "environment prod branch policy branch main: set",
            id="prod-environment-deleted",
        ),
    ],
)
def test_check_names_a_manual_change_and_apply_repairs_it(github, change, drift, repair):
    assert github.apply().returncode == 0
    github.edit(change)
    github.forget_calls()

    check = github.check()

    assert check.returncode == 1
    assert differing(check) == drift
    assert "setting(s) differ" in check.stderr
    assert github.writes() == []  # check only reads

    repaired = github.apply()
    assert repaired.returncode == 0, repaired.stderr
    assert repair in repaired.stdout.splitlines()
    assert github.check().returncode == 0


def test_apply_keeps_a_wait_timer_it_does_not_manage(github):
    assert github.apply().returncode == 0
    github.edit(lambda repo: repo["environments"]["prod"].update(wait_timer=30, reviewers=[]))

    assert github.apply().returncode == 0

    prod = github.state()["repos"][REPO]["environments"]["prod"]
    assert prod["wait_timer"] == 30
    assert len(prod["reviewers"]) == 2


def test_check_reports_a_wrong_claim_key_order(github):
    # the order of the keys is the order of the parts of `sub`, which the roles match exactly
    assert github.apply().returncode == 0
    github.edit(
        lambda repo: repo["oidc"].update(include_claim_keys=["repo", "job_workflow_ref", "context"])
    )

    check = github.check()

    assert check.returncode == 1
    assert differing(check)[0].startswith("DIFFERS  oidc subject template:")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_make_targets_apply_and_check(github):
    args = [f"REPO={REPO}", "REVIEWERS=user:alice team:acme/ops"]

    applied = github.execute(["make", "--no-print-directory", "github-settings", *args])
    checked = github.execute(["make", "--no-print-directory", "github-check", *args])

    assert applied.returncode == 0, applied.stderr
    assert "oidc subject template: set" in applied.stdout
    assert checked.returncode == 0, checked.stdout
    reviewers = github.state()["repos"][REPO]["environments"]["prod"]["reviewers"]
    assert sorted(r["id"] for r in reviewers) == [101, 201]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_make_targets_need_a_repo(github):
    result = github.execute(["make", "--no-print-directory", "github-check", "REPO="])

    assert result.returncode != 0
    assert "error: set REPO=owner/name" in result.stderr
    assert github.state()["calls"] == []


def settings_module():
    spec = importlib.util.spec_from_file_location("github_settings", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["github_settings"] = module
    spec.loader.exec_module(module)
    return module


def test_an_environment_reads_as_githubs_documented_response_shows_it():
    gs = settings_module()
    body = {  # GET /repos/{owner}/{repo}/environments/{name}, as in GitHub's REST reference
        "id": 161088068,
        "name": "prod",
        "protection_rules": [
            {"id": 3736, "node_id": "MDQ", "type": "wait_timer", "wait_timer": 30},
            {
                "id": 3755,
                "node_id": "MDQ",
                "prevent_self_review": True,
                "type": "required_reviewers",
                "reviewers": [
                    {"type": "User", "reviewer": {"login": "octocat", "id": 1}},
                    {"type": "Team", "reviewer": {"id": 1, "slug": "justice-league"}},
                ],
            },
            {"id": 3756, "node_id": "MDQ", "type": "branch_policy"},
        ],
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    policies = [{"id": 361471, "node_id": "MDE", "name": "release/*", "type": "branch"}]

    env = gs.environment_from_api(body, policies)

    assert env.branches == "selected branches"
    assert env.reviewers == (gs.Reviewer("Team", 1), gs.Reviewer("User", 1))
    assert env.prevent_self_review is True
    assert env.wait_timer == 30
    assert env.policies == (gs.Policy("release/*"),)
    assert gs.environment_from_api({"name": "dev", "protection_rules": []}, []).branches == (
        "all branches"
    )


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("spec", ["alice", "user:", "team:ops", "group:acme/ops", "user:a/b"])
def test_a_malformed_prod_reviewer_is_a_clear_error(github, spec):
    result = github.run("apply", "--repo", REPO, "--prod-reviewer", spec)

    assert_one_line_error(result, "--prod-reviewer must be user:LOGIN or team:ORG/SLUG", repr(spec))
    assert github.state()["calls"] == []


@pytest.mark.parametrize("repo", ["acme", "acme/ipeacast/extra", "https://github.com/acme/x"])
def test_a_malformed_repo_is_a_clear_error(github, repo):
    result = github.run("check", "--repo", repo, *REVIEWERS)

    assert_one_line_error(result, "--repo must be OWNER/REPO")


def test_prod_without_a_reviewer_is_a_clear_error(github):
    result = github.run("apply", "--repo", REPO)

    assert_one_line_error(result, "prod needs at least one --prod-reviewer")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("user:mallory", "unknown GitHub user 'mallory'"),
        ("team:acme/nobody", "unknown team acme/nobody"),
    ],
)
def test_an_unknown_reviewer_is_a_clear_error_and_nothing_is_written(github, spec, message):
    result = github.run("apply", "--repo", REPO, "--prod-reviewer", spec)

    assert_one_line_error(result, message)
    assert github.writes() == []


def test_gh_missing_from_path_is_a_clear_error(github, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()

    result = github.run("check", "--repo", REPO, *REVIEWERS, path=str(empty))

    assert_one_line_error(result, "gh (GitHub CLI) not found on PATH", "gh auth login")


def test_a_failing_gh_api_call_shows_its_stderr_and_path(github):
    sub = f"/repos/{REPO}/actions/oidc/customization/sub"
    state = github.state()
    state["fail"] = {
        "method": "PUT",
        "path": sub,
        "status": 403,
        "message": "Resource not accessible by integration",
    }
    github.save(state)

    result = github.apply()

    assert_one_line_error(
        result, f"--method PUT {sub}", "Resource not accessible by integration (HTTP 403)"
    )
