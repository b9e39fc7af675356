#!/usr/bin/env python3
"""Terraform plan summaries for GitHub: one PR comment, updated in place, plus job summaries.

    plan-comment.py summary --env dev .tfbuild/dev
        Markdown for the job summary on stdout (the whole plan, up to GitHub's summary limit), and
        changes.json next to the plan (resource addresses and actions, no attribute values).
    plan-comment.py comment --repo OWNER/NAME --pr N [--section FILE] plans/dev plans/prod
        Create or update the single plan comment of pull request N (needs GITHUB_TOKEN);
        each --section (markdown, e.g. the model report of scripts/model-report.py) is added
        after the plans, within the same size budget.

Each plan directory holds what `scripts/tf.sh plan` wrote: plan.txt (`terraform show -no-color`),
plan.json (`terraform show -json`, read only by `summary`: it can hold sensitive values and never
leaves the plan job), exitcode; the environment name is the directory name unless --env is given.
Standard library only: the comment job needs no virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "<!-- ipeacast:terraform-plan -->"
COMMENT_LIMIT = 65_535  # GitHub's maximum comment body
COMMENT_BUDGET = 60_000  # what we allow ourselves, well under the limit
SUMMARY_BUDGET = 900_000  # job summaries are limited to 1 MiB per step
MAX_ROWS = 40
SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "read": "<="}


@dataclass
class EnvPlan:
    env: str
    status: str  # changes | no-changes | failed | missing
    counts: dict[str, int] = field(default_factory=dict)
    changes: list[dict[str, str]] = field(default_factory=list)
    text: str = ""

    @property
    def headline(self) -> str:
        if self.status == "failed":
            return "plan **failed** (see the job log)"
        if self.status == "missing":
            return "no plan (the plan job was skipped, or failed before planning)"
        if self.status == "no-changes":
            return "no changes"
        c = self.counts
        return (
            f"{c.get('create', 0)} to add, {c.get('update', 0)} to change, "
            f"{c.get('delete', 0)} to destroy, {c.get('replace', 0)} to replace"
        )


def _action(actions: list[str]) -> str:
    if "delete" in actions and "create" in actions:
        return "replace"
    return actions[0] if actions else "no-op"


def changes_from_json(plan: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, str]]]:
    """Counts per action and the changed addresses, from `terraform show -json` (no values)."""
    counts = {"create": 0, "update": 0, "delete": 0, "replace": 0}
    rows = []
    for change in plan.get("resource_changes", []):
        action = _action(change.get("change", {}).get("actions", []))
        if action in ("no-op", "read"):
            continue
        counts[action] = counts.get(action, 0) + 1
        rows.append({"address": change["address"], "action": action})
    return counts, rows


def load_plan(directory: str | Path, env: str | None = None) -> EnvPlan:
    """Read a plan directory written by tf.sh (or its changes.json once summarised)."""
    root = Path(directory)
    env = env or root.name.removeprefix("plan-").removeprefix("tfplan-")
    exitcode = (root / "exitcode").read_text().strip() if (root / "exitcode").exists() else ""
    text = (root / "plan.txt").read_text() if (root / "plan.txt").exists() else ""
    if exitcode not in ("0", "2") or not text:
        return EnvPlan(env, "failed" if exitcode else "missing")
    # plan.json is written by the same `tf.sh plan` as plan.txt, so it wins; changes.json (the
    # summary of it) is used only where plan.json never travels (the PR comment job).
    if (root / "plan.json").exists():
        counts, rows = changes_from_json(json.loads((root / "plan.json").read_text()))
    elif (root / "changes.json").exists():
        data = json.loads((root / "changes.json").read_text())
        counts, rows = data["counts"], data["changes"]
    else:
        counts, rows = {}, []
    status = "changes" if exitcode == "2" else "no-changes"
    return EnvPlan(env, status, counts, rows, text)


def fence(text: str) -> str:
    """A code fence longer than any backtick run inside the text."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > 0 else limit], True


def plan_body(text: str) -> str:
    """The interesting part of `terraform show`: from the actions list on."""
    start = text.find("Terraform will perform the following actions:")
    return text[start:] if start >= 0 else text


def render_env(plan: EnvPlan, text_budget: int, where_full: str) -> str:
    lines = [f"### `{plan.env}`: {plan.headline}", ""]
    if plan.changes:
        lines += ["| action | resource |", "| --- | --- |"]
        for row in plan.changes[:MAX_ROWS]:
            lines.append(
                f"| `{SYMBOLS.get(row['action'], row['action'])}` {row['action']} "
                f"| `{row['address']}` |"
            )
        if len(plan.changes) > MAX_ROWS:
            lines.append(f"| … | {len(plan.changes) - MAX_ROWS} more |")
        lines.append("")
    if plan.text and plan.status == "changes":
        body, cut = truncate(plan_body(plan.text), max(text_budget, 0))
        mark = fence(body)
        lines += ["<details><summary>Plan output</summary>", "", mark, body, mark, ""]
        if cut:
            lines.append(
                f"_Truncated to {len(body):,} of {len(plan_body(plan.text)):,} "
                f"characters: {where_full}._"
            )
            lines.append("")
        lines += ["</details>", ""]
    return "\n".join(lines)


SECTION_BUDGET = 15_000  # at most this much of the comment for each extra section


def render_comment(
    plans: Iterable[EnvPlan],
    *,
    run_url: str = "",
    sha: str = "",
    sections: Iterable[str] = (),
) -> str:
    """One comment for all environments, then the extra sections, always under COMMENT_BUDGET
    characters: a section longer than SECTION_BUDGET is replaced by a pointer to the run."""
    plans = list(plans)
    where_run = f"the [job summary]({run_url})" if run_url else "the job summary"
    extra = [
        text
        if len(text) <= SECTION_BUDGET
        else f"\n_A section was too long for the comment: see {where_run}._\n"
        for text in (t.strip("\n") + "\n" for t in sections)
    ]
    tail = "\n" + "\n".join(extra) if extra else ""
    where = "the full plan is in the job summary and the `plan-<env>` artifact"
    if run_url:
        where = f"the full plan is in the [job summary]({run_url}) and the `plan-<env>` artifact"
    head = [MARKER, "## Terraform plan", ""]
    if sha:
        head += [f"Commit `{sha[:12]}`; plans are read-only (`-lock=false`).", ""]
    skeleton = "\n".join(head) + "".join(render_env(p, 0, where) for p in plans)
    budget_each = (COMMENT_BUDGET - len(skeleton) - len(tail) - 500) // max(len(plans), 1)
    body = "\n".join(head) + "\n" + "\n".join(render_env(p, budget_each, where) for p in plans)
    room = COMMENT_BUDGET - len(tail)
    if len(body) > room:  # many resources: the tables themselves are too long
        body = body[: room - 200] + "\n\n_Comment truncated; " + where + "._\n"
    body += tail
    assert len(body) < COMMENT_LIMIT
    return body


def render_summary(plan: EnvPlan) -> str:
    where = "the `plan-<env>` artifact holds the whole output"
    return render_env(plan, SUMMARY_BUDGET, where)


# --------------------------------------------------------------------------- GitHub API

Api = Callable[[str, str, dict[str, Any] | None], Any]


def github_api(token: str, base: str = "https://api.github.com") -> Api:
    def call(method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 (fixed https base URL)
            f"{base}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
        return json.loads(raw) if raw else None

    return call


# Only our own comment is updated: anybody can paste the marker into a comment of theirs.
BOT_LOGIN = "github-actions[bot]"


def upsert_comment(
    api: Api, repo: str, pr: int, body: str, author: str = BOT_LOGIN
) -> tuple[str, int]:
    """Update `author`'s comment carrying MARKER, or create it; returns (action, comment id)."""
    page = 1
    while True:
        comments = api("GET", f"/repos/{repo}/issues/{pr}/comments?per_page=100&page={page}", None)
        for comment in comments:
            login = (comment.get("user") or {}).get("login")
            if login == author and MARKER in (comment.get("body") or ""):
                api("PATCH", f"/repos/{repo}/issues/comments/{comment['id']}", {"body": body})
                return "updated", int(comment["id"])
        if len(comments) < 100:
            break
        page += 1
    created = api("POST", f"/repos/{repo}/issues/{pr}/comments", {"body": body})
    return "created", int(created["id"])


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    summary = sub.add_parser("summary", help="job summary markdown; writes changes.json")
    summary.add_argument("--env")
    summary.add_argument("directory")
    comment = sub.add_parser("comment", help="create or update the PR plan comment")
    comment.add_argument("--repo", required=True)
    comment.add_argument("--pr", required=True, type=int)
    comment.add_argument("--run-url", default="")
    comment.add_argument("--sha", default="")
    comment.add_argument("--dry-run", action="store_true", help="print the body, post nothing")
    comment.add_argument(
        "--section", action="append", default=[], help="markdown file added after the plans"
    )
    comment.add_argument("directories", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "summary":
        plan = load_plan(args.directory, args.env)
        changes = {"counts": plan.counts, "changes": plan.changes, "status": plan.status}
        Path(args.directory, "changes.json").write_text(json.dumps(changes, indent=2) + "\n")
        print(render_summary(plan))
        return 0

    plans = [load_plan(d) for d in args.directories]
    run = args.run_url or "the run"
    sections = [
        Path(f).read_text()
        if Path(f).is_file()
        else f"_{Path(f).name} is missing (its job failed or was skipped): see {run}._"
        for f in args.section
    ]
    body = render_comment(plans, run_url=args.run_url, sha=args.sha, sections=sections)
    if args.dry_run:
        print(body)
        return 0
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        print("plan-comment: error: GITHUB_TOKEN is not set", file=sys.stderr)
        return 1
    base = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    action, cid = upsert_comment(github_api(token, base), args.repo, args.pr, body)
    print(f"plan comment {action} (id {cid}, {len(body):,} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
