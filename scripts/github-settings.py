#!/usr/bin/env python3
"""The GitHub side of the deploy roles' trust: OIDC subject template, environments, reviewers.

    github-settings.py apply --repo OWNER/REPO --prod-reviewer user:LOGIN|team:ORG/SLUG [...]
        Make the repository match (idempotent; writes only what differs), one line per setting:
        unchanged / set / removed.
    github-settings.py check --repo OWNER/REPO --prod-reviewer ...
        Read everything back, one line per setting (ok / DIFFERS, expected vs actual); exit 1 when
        anything differs.

Options for both: --environments dev,prod (default), --branch main (default). What "match" means:
  - the OIDC subject template is {"use_default": false, "include_claim_keys": ["repo", "context",
    "job_workflow_ref"]}, so a deploy job's `sub` is
    `repo:OWNER/REPO:environment:prod:job_workflow_ref:OWNER/REPO/.github/workflows/deploy.yml@refs/heads/main`,
    which is what the bootstrap deploy roles trust;
  - every environment exists and deploys only from custom branch policies, which are exactly the
    one branch; prod requires one of the --prod-reviewer users or teams (never the one who started
    the run); dev has no reviewers (it deploys on every merge).

Talks to GitHub only through `gh api` (authenticate with `gh auth login`, as a repository admin).
Standard library only. Exit codes: 0 ok, 1 `check` found differences, 2 error.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

CLAIM_KEYS = ("repo", "context", "job_workflow_ref")
REVIEWED_ENVIRONMENT = "prod"
MAX_REVIEWERS = 6  # GitHub's limit per environment
API_HEADERS = ("Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28")
PAGE_SIZE = 100

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
REPO_RE = re.compile(rf"^({_NAME})/([A-Za-z0-9._-]+)$")
USER_RE = re.compile(rf"^user:({_NAME})$")
TEAM_RE = re.compile(rf"^team:({_NAME})/([A-Za-z0-9._-]+)$")


class SettingsError(Exception):
    """A problem this script reports as one line and exit code 2."""


class GhError(SettingsError):
    """`gh` is missing or a `gh api` call failed."""


# --------------------------------------------------------------------------- desired state


@dataclass(frozen=True)
class Repo:
    owner: str
    name: str

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class ReviewerSpec:
    """A --prod-reviewer as given: `user:LOGIN` or `team:ORG/SLUG`."""

    kind: str  # User | Team
    login: str = ""
    org: str = ""
    slug: str = ""

    def __str__(self) -> str:
        return f"user:{self.login}" if self.kind == "User" else f"team:{self.org}/{self.slug}"


@dataclass(frozen=True)
class Reviewer:
    """A resolved reviewer; two reviewers are the same when type and id are."""

    type: str  # User | Team
    id: int
    label: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.label or self.type.lower()} (id {self.id})"


@dataclass(frozen=True)
class Policy:
    """A deployment branch (or tag) policy; `id` is set only for policies read from GitHub."""

    name: str
    type: str = "branch"
    id: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class Environment:
    """What we manage of one environment (as desired, or as read back)."""

    branches: str  # "selected branches" | "protected branches" | "all branches"
    reviewers: tuple[Reviewer, ...]
    prevent_self_review: bool
    policies: tuple[Policy, ...]
    wait_timer: int = field(default=0, compare=False)  # not ours: kept as found on rewrite


@dataclass(frozen=True)
class State:
    oidc: tuple[bool, tuple[str, ...]]  # (use_default, include_claim_keys)
    environments: dict[str, Environment | None]  # None: the environment does not exist


def parse_repo(text: str) -> Repo:
    match = REPO_RE.match(text)
    if not match:
        raise SettingsError(f"--repo must be OWNER/REPO, got {text!r}")
    return Repo(*match.groups())


def parse_reviewer(text: str) -> ReviewerSpec:
    if match := USER_RE.match(text):
        return ReviewerSpec("User", login=match[1])
    if match := TEAM_RE.match(text):
        return ReviewerSpec("Team", org=match[1], slug=match[2])
    raise SettingsError(f"--prod-reviewer must be user:LOGIN or team:ORG/SLUG, got {text!r}")


def parse_environments(text: str) -> list[str]:
    names = list(dict.fromkeys(name.strip() for name in text.split(",")))
    if not names or any(not name or "/" in name for name in names):
        raise SettingsError(f"--environments must be a comma-separated list of names, got {text!r}")
    return names


def desired_state(environments: Sequence[str], branch: str, reviewers: Sequence[Reviewer]) -> State:
    """The settings the deploy roles' trust depends on."""
    envs: dict[str, Environment | None] = {}
    for env in environments:
        reviewed = env == REVIEWED_ENVIRONMENT
        envs[env] = Environment(
            branches="selected branches",
            reviewers=_sorted(reviewers) if reviewed else (),
            prevent_self_review=reviewed,
            policies=(Policy(branch),),
        )
    return State(oidc=(False, CLAIM_KEYS), environments=envs)


def _sorted(reviewers: Iterable[Reviewer]) -> tuple[Reviewer, ...]:
    return tuple(sorted(set(reviewers), key=lambda r: (r.type, r.id)))


# --------------------------------------------------------------------------- GitHub's shapes


def oidc_from_api(body: dict[str, Any] | None) -> tuple[bool, tuple[str, ...]]:
    body = body or {}
    use_default = bool(body.get("use_default", True))
    return use_default, () if use_default else tuple(body.get("include_claim_keys") or ())


def environment_from_api(
    body: dict[str, Any] | None, policies: Iterable[dict[str, Any]]
) -> Environment | None:
    """An environment as `GET /repos/{o}/{r}/environments/{env}` and its branch policies show it."""
    if body is None:
        return None
    branch_policy = body.get("deployment_branch_policy")
    if not branch_policy:
        branches = "all branches"
    elif branch_policy.get("custom_branch_policies"):
        branches = "selected branches"
    else:
        branches = "protected branches"
    reviewers: list[Reviewer] = []
    prevent_self_review = False
    wait_timer = 0
    for rule in body.get("protection_rules") or ():
        if rule.get("type") == "required_reviewers":
            prevent_self_review = bool(rule.get("prevent_self_review"))
            for entry in rule.get("reviewers") or ():
                who = entry.get("reviewer") or {}
                kind = entry.get("type", "")
                name = who.get("login") if kind == "User" else who.get("slug")
                reviewers.append(Reviewer(kind, int(who["id"]), f"{kind.lower()}:{name}"))
        elif rule.get("type") == "wait_timer":
            wait_timer = int(rule.get("wait_timer") or 0)
    return Environment(
        branches=branches,
        reviewers=_sorted(reviewers),
        prevent_self_review=prevent_self_review,
        policies=tuple(
            sorted(
                (Policy(p["name"], p.get("type", "branch"), p["id"]) for p in policies),
                key=lambda p: (p.type, p.name),
            )
        ),
        wait_timer=wait_timer,
    )


def environment_body(desired: Environment, actual: Environment | None) -> dict[str, Any]:
    """The body of `PUT /repos/{o}/{r}/environments/{env}`: it replaces the protection rules, so
    it carries the wait timer as found (not ours to change)."""
    body: dict[str, Any] = {
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
        "reviewers": [{"type": r.type, "id": r.id} for r in desired.reviewers] or None,
        "prevent_self_review": desired.prevent_self_review,
    }
    if actual is not None and actual.wait_timer:
        body["wait_timer"] = actual.wait_timer
    return body


# --------------------------------------------------------------------------- diff


@dataclass(frozen=True)
class Finding:
    setting: str
    expected: str
    actual: str
    ok: bool

    def line(self) -> str:
        if self.ok:
            return f"ok       {self.setting}: {self.expected}"
        return f"DIFFERS  {self.setting}: expected {self.expected}, actual {self.actual}"


_MISSING = object()


def _finding(setting: str, want: Any, have: Any, show: Callable[[Any], str] = str) -> Finding:
    """Compared by value (a reviewer by type and id), shown as text."""
    actual = "(environment missing)" if have is _MISSING else show(have)
    return Finding(setting, show(want), actual, want == have)


def _show_oidc(oidc: tuple[bool, tuple[str, ...]]) -> str:
    use_default, keys = oidc
    return "default template" if use_default else f"include_claim_keys {list(keys)}"


def _show(items: Iterable[object]) -> str:
    return ", ".join(str(item) for item in items) or "none"


def _lower(value: bool) -> str:
    return str(value).lower()


def compare(desired: State, actual: State) -> list[Finding]:
    """One finding per setting, in a stable order."""
    findings = [_finding("oidc subject template", desired.oidc, actual.oidc, _show_oidc)]
    for env, want in desired.environments.items():
        assert want is not None
        have = actual.environments.get(env)

        def got(attribute: str, have: Environment | None = have) -> Any:
            return _MISSING if have is None else getattr(have, attribute)

        name = f"environment {env}"
        findings += [
            _finding(name, "exists", "exists" if have else "missing"),
            _finding(f"{name} deployment branches", want.branches, got("branches")),
            _finding(f"{name} required reviewers", want.reviewers, got("reviewers"), _show),
            _finding(
                f"{name} prevent self-review",
                want.prevent_self_review,
                got("prevent_self_review"),
                _lower,
            ),
            _finding(f"{name} branch policies", want.policies, got("policies"), _show),
        ]
    return findings


@dataclass(frozen=True)
class Change:
    """One line of `apply`'s report, with the API call that makes it (none when unchanged)."""

    setting: str
    outcome: str  # unchanged | set | removed
    method: str = ""
    path: str = ""
    body: dict[str, Any] | None = None


def changes(repo: Repo, desired: State, actual: State) -> list[Change]:
    """The writes that make `actual` match `desired`, in order, one per reported setting."""
    base = f"/repos/{repo.owner}/{repo.name}"
    out = [_oidc_change(base, desired, actual)]
    for env, want in desired.environments.items():
        assert want is not None
        have = actual.environments.get(env)
        env_path = f"{base}/environments/{quote(env, safe='')}"
        setting = f"environment {env}"
        same = have is not None and (
            (have.branches, have.reviewers, have.prevent_self_review)
            == (want.branches, want.reviewers, want.prevent_self_review)
        )
        if same:
            out.append(Change(setting, "unchanged"))
        else:
            out.append(Change(setting, "set", "PUT", env_path, environment_body(want, have)))
        found = have.policies if have else ()
        policies_path = f"{env_path}/deployment-branch-policies"
        for policy in want.policies:
            setting = f"environment {env} branch policy {policy}"
            if policy in found:
                out.append(Change(setting, "unchanged"))
            else:
                body = {"name": policy.name, "type": policy.type}
                out.append(Change(setting, "set", "POST", policies_path, body))
        for policy in found:
            if policy not in want.policies:
                setting = f"environment {env} branch policy {policy}"
                out.append(Change(setting, "removed", "DELETE", f"{policies_path}/{policy.id}"))
    return out


def _oidc_change(base: str, desired: State, actual: State) -> Change:
    if desired.oidc == actual.oidc:
        return Change("oidc subject template", "unchanged")
    use_default, keys = desired.oidc
    body = {"use_default": use_default, "include_claim_keys": list(keys)}
    path = f"{base}/actions/oidc/customization/sub"
    return Change("oidc subject template", "set", "PUT", path, body)


# --------------------------------------------------------------------------- gh


class Gh:
    """Thin `gh api` calls: JSON in on stdin, JSON out on stdout."""

    def __init__(self) -> None:
        executable = shutil.which("gh")
        if executable is None:
            raise GhError(
                "gh (GitHub CLI) not found on PATH: install it, then `gh auth login` "
                "with a token that has admin rights on the repository"
            )
        self.executable = executable

    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        """The parsed response (None when empty, or when 404 and `missing_ok`)."""
        command = [self.executable, "api", "--method", method, path]
        for header in API_HEADERS:
            command += ["-H", header]
        if body is not None:
            command += ["--input", "-"]
        try:
            proc = subprocess.run(
                command,
                input=json.dumps(body) if body is not None else None,
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise GhError(f"gh api --method {method} {path} failed: {error}") from error
        if proc.returncode != 0:
            if missing_ok and "HTTP 404" in proc.stderr:
                return None
            detail = " ".join((proc.stderr or proc.stdout).split()) or f"exit {proc.returncode}"
            raise GhError(f"gh api --method {method} {path} failed: {detail}")
        try:
            return json.loads(proc.stdout) if proc.stdout.strip() else None
        except json.JSONDecodeError as error:
            raise GhError(f"gh api --method {method} {path}: not JSON: {error}") from error


def resolve_reviewers(gh: Gh, specs: Sequence[ReviewerSpec]) -> list[Reviewer]:
    reviewers = []
    for spec in specs:
        if spec.kind == "User":
            found = gh.api("GET", f"/users/{spec.login}", missing_ok=True)
            what = f"unknown GitHub user {spec.login!r} (from --prod-reviewer {spec})"
        else:
            found = gh.api("GET", f"/orgs/{spec.org}/teams/{spec.slug}", missing_ok=True)
            what = f"unknown team {spec.org}/{spec.slug} (from --prod-reviewer {spec})"
        if not found or "id" not in found:
            raise SettingsError(what)
        reviewers.append(Reviewer(spec.kind, int(found["id"]), str(spec)))
    return reviewers


def read_state(gh: Gh, repo: Repo, environments: Sequence[str]) -> State:
    base = f"/repos/{repo.owner}/{repo.name}"
    oidc = oidc_from_api(gh.api("GET", f"{base}/actions/oidc/customization/sub"))
    envs: dict[str, Environment | None] = {}
    for env in environments:
        env_path = f"{base}/environments/{quote(env, safe='')}"
        body = gh.api("GET", env_path, missing_ok=True)
        policies = _list_policies(gh, env_path) if body is not None else []
        envs[env] = environment_from_api(body, policies)
    return State(oidc=oidc, environments=envs)


def _list_policies(gh: Gh, env_path: str) -> list[dict[str, Any]]:
    policies: list[dict[str, Any]] = []
    page = 1
    while True:
        path = f"{env_path}/deployment-branch-policies?per_page={PAGE_SIZE}&page={page}"
        # 404 when the environment does not use custom branch policies: then it has none
        body = gh.api("GET", path, missing_ok=True) or {}
        batch = body.get("branch_policies") or []
        policies += batch
        if len(batch) < PAGE_SIZE or len(policies) >= int(body.get("total_count", 0)):
            return policies
        page += 1


# --------------------------------------------------------------------------- commands


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Set (apply) or verify (check) the repository's OIDC subject template, "
        "environments and prod reviewers."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("apply", "make the repository match (writes only what differs)"),
        ("check", "read back and compare; exit 1 when anything differs"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--repo", required=True, help="OWNER/REPO")
        p.add_argument(
            "--prod-reviewer",
            action="append",
            default=[],
            metavar="user:LOGIN|team:ORG/SLUG",
            help="a required reviewer of the prod environment (repeatable, up to six)",
        )
        p.add_argument("--environments", default="dev,prod", help="comma-separated (dev,prod)")
        p.add_argument("--branch", default="main", help="the one branch that may deploy (main)")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repo = parse_repo(args.repo)
    environments = parse_environments(args.environments)
    specs = [parse_reviewer(text) for text in args.prod_reviewer]
    if not args.branch.strip():
        raise SettingsError("--branch must not be empty")
    if REVIEWED_ENVIRONMENT in environments and not specs:
        raise SettingsError(f"{REVIEWED_ENVIRONMENT} needs at least one --prod-reviewer")
    specs = list(dict.fromkeys(specs))
    if len(specs) > MAX_REVIEWERS:
        raise SettingsError(f"GitHub allows at most {MAX_REVIEWERS} reviewers, got {len(specs)}")

    gh = Gh()
    reviewers = resolve_reviewers(gh, specs) if REVIEWED_ENVIRONMENT in environments else []
    desired = desired_state(environments, args.branch.strip(), reviewers)
    actual = read_state(gh, repo, environments)

    if args.command == "check":
        findings = compare(desired, actual)
        for finding in findings:
            print(finding.line())
        differing = sum(not f.ok for f in findings)
        if differing:
            print(f"{repo}: {differing} setting(s) differ; run `apply` to repair", file=sys.stderr)
            return 1
        return 0

    for change in changes(repo, desired, actual):
        if change.method:
            gh.api(change.method, change.path, change.body)
        print(f"{change.setting}: {change.outcome}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
