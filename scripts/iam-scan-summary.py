"""Summarise cloudsplaining's results for our IAM and judge them (standard library only).

Reads the results file `cloudsplaining scan` writes (iam-results-<name>.json, cloudsplaining 0.9.1):
  {"roles"|"users"|"groups": {id: {"name", "is_excluded", ...}},
   "inline_policies"|"customer_managed_policies"|"aws_managed_policies": {id: policy},
   "exclusions": <the exclusions file as cloudsplaining parsed it>, "links": {...}}
where each policy is {"PolicyName", "AttachedTo": {"roles", "users", "groups": [names]},
"PrivilegeEscalation": {"findings": [{"type", "actions"}]}, and "<Type>": {"findings": [actions]}
for the other types}. Excluded policies and principals are already left out by cloudsplaining;
the judgement here applies the same exclusions again (cloudsplaining does not apply
`exclude-actions` to privilege escalation), so the verdict never depends on that detail.

Ours: a policy whose name starts with the prefix, or one attached to a principal whose name does
(an AWS-managed policy attached to our role is our choice too). Exit 1 when one of ours has a
privilege escalation, resource exposure or credentials exposure finding that the exclusions do not
cover, or when an exclusion carries no reason; 0 otherwise; 2 when the input is unusable.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

BLOCKING = ("PrivilegeEscalation", "ResourceExposure", "CredentialsExposure")
INFORMATIONAL = ("DataExfiltration", "InfrastructureModification", "ServiceWildcard")
POLICY_KINDS = {
    "inline_policies": "inline",
    "customer_managed_policies": "customer",
    "aws_managed_policies": "aws",
}
SHORT = {
    "PrivilegeEscalation": "PrivEsc",
    "ResourceExposure": "ResExp",
    "CredentialsExposure": "CredExp",
    "DataExfiltration": "DataExf",
    "InfrastructureModification": "InfraMod",
    "ServiceWildcard": "SvcWild",
}


class SummaryError(Exception):
    """The results or exclusions file is not what cloudsplaining 0.9.1 writes."""


@dataclass(frozen=True)
class Finding:
    """One finding of one policy: its type and the actions (or services) it names."""

    policy: str
    kind: str  # inline | customer | aws
    attached_to: tuple[str, ...]
    type: str
    detail: str  # the privilege escalation method, or "" for the action-list types
    actions: tuple[str, ...]

    @property
    def blocking(self) -> bool:
        return self.type in BLOCKING


def is_name_excluded(name: str, patterns: list[str]) -> bool:
    """cloudsplaining's matching: case-insensitive, exact or `prefix*` or `*suffix`."""
    name = name.lower()
    for pattern in (p.lower() for p in patterns if p):
        if name == pattern:
            return True
        if pattern.endswith("*") and name.startswith(pattern[:-1]):
            return True
        if pattern.startswith("*") and name.endswith(pattern[1:]):
            return True
    return False


def is_ours(policy: dict, prefix: str) -> bool:
    names = [policy.get("PolicyName", "")]
    for principals in (policy.get("AttachedTo") or {}).values():
        names += principals
    return any(name.lower().startswith(prefix.lower()) for name in names)


def findings_of(policy: dict, kind: str) -> list[Finding]:
    """Every non-empty finding of one policy entry, one Finding per escalation method or type."""
    attached = tuple(
        f"{principal_type[:-1]}/{name}"
        for principal_type, names in sorted((policy.get("AttachedTo") or {}).items())
        for name in names
    )
    found = []
    for finding_type in BLOCKING + INFORMATIONAL:
        block = policy.get(finding_type)
        if block is None:
            continue
        if not isinstance(block, dict) or not isinstance(block.get("findings"), list):
            raise SummaryError(f"{policy.get('PolicyName')!r}: {finding_type} has no findings list")
        items = block["findings"]
        if finding_type == "PrivilegeEscalation":
            for item in items:
                found.append(
                    Finding(
                        policy["PolicyName"],
                        kind,
                        attached,
                        finding_type,
                        item["type"],
                        tuple(item["actions"]),
                    )
                )
        elif items:
            found.append(
                Finding(policy["PolicyName"], kind, attached, finding_type, "", tuple(items))
            )
    return found


def our_findings(results: dict, prefix: str) -> list[Finding]:
    """The findings of our policies, in a stable order."""
    missing = [key for key in (*POLICY_KINDS, "exclusions") if key not in results]
    if missing:
        raise SummaryError(f"not a cloudsplaining results file: no {', '.join(missing)}")
    found = []
    for key, kind in POLICY_KINDS.items():
        for policy in results[key].values():
            if is_ours(policy, prefix):
                found += findings_of(policy, kind)
    return sorted(found, key=lambda f: (f.policy, f.kind, f.attached_to, f.type, f.detail))


def is_covered(finding: Finding, exclusions: dict) -> bool:
    """Whether the exclusions accept the finding: its policy, all its principals, or its actions."""
    if is_name_excluded(finding.policy, exclusions.get("policies") or []):
        return True
    principals = [p.split("/", 1) for p in finding.attached_to]
    if principals and all(
        is_name_excluded(name, exclusions.get(f"{principal_type}s") or [])
        for principal_type, name in principals
    ):
        return True
    if finding.type == "ServiceWildcard":
        return False
    exclude_actions = exclusions.get("exclude-actions") or []
    excluded = [a for a in finding.actions if is_name_excluded(a, exclude_actions)]
    if finding.type == "PrivilegeEscalation":
        return bool(excluded)  # a method needs all its actions: one excluded breaks the path
    return len(excluded) == len(finding.actions)


def unexplained_exclusions(exclusions: dict, text: str) -> list[str]:
    """Exclusion entries without a one-line reason: `- "name"  # reason`, or a comment above."""
    explained = set()
    previous_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        item = re.match(r"-\s*(['\"]?)(.*?)\1\s*(#\s*\S.*)?$", stripped)
        if item and (item.group(3) or previous_comment):
            explained.add(item.group(2))
        previous_comment = stripped.startswith("#") and len(stripped.lstrip("#").strip()) > 0
    return [
        f"{key}: {value}"
        for key, values in sorted(exclusions.items())
        for value in values or []
        if value and value not in explained
    ]


def render(findings: list[Finding], exclusions: dict, prefix: str) -> str:
    """The table of our findings by type, then every blocking finding with its actions."""
    types = BLOCKING + INFORMATIONAL
    rows: dict[tuple[str, str, tuple[str, ...]], dict[str, int]] = {}
    for finding in findings:
        row = rows.setdefault((finding.policy, finding.kind, finding.attached_to), {})
        row[finding.type] = row.get(finding.type, 0) + 1
    header = ["policy", "kind", "attached to", *(SHORT[t] for t in types)]
    table = [header] + [
        [policy, kind, ", ".join(attached) or "-", *(str(counts.get(t, 0) or ".") for t in types)]
        for (policy, kind, attached), counts in rows.items()
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [f"iam-scan: findings of {prefix}* roles and policies (cloudsplaining 0.9.1)"]
    for row in table if findings else []:
        line = "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append(line.rstrip())
    if not findings:
        lines.append("  none")
    details = [f for f in findings if f.blocking]
    if details:
        lines.append("blocking types (PrivilegeEscalation, ResourceExposure, CredentialsExposure):")
    for f in details:
        state = "excluded" if is_covered(f, exclusions) else "FAIL"
        method = f" {f.detail}" if f.detail else ""
        lines.append(
            f"  [{state}] {f.policy} ({f.kind}; {', '.join(f.attached_to) or 'not attached'}): "
            f"{f.type}{method}: {', '.join(f.actions)}"
        )
    return "\n".join(lines)


def unscanned_roles(details: dict, results: dict) -> list[str]:
    """Roles of the authorization details that are missing from the results (an incomplete scan).

    cloudsplaining skips roles under /aws-service-role/ by design; every other role is in its
    results, excluded or not."""
    keys = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    if not all(isinstance(details.get(key), list) for key in keys):
        raise SummaryError(f"not get-account-authorization-details output: no {' or '.join(keys)}")
    scanned = {role["name"] for role in results.get("roles", {}).values()}
    return sorted(
        role["RoleName"]
        for role in details["RoleDetailList"]
        if role["RoleName"] not in scanned
        and not role.get("Path", "/").startswith("/aws-service-role")
    )


def judge(
    results: dict, prefix: str, exclusions_text: str | None = None, details: dict | None = None
) -> tuple[int, str]:
    """Exit code and report for one results file."""
    if details is not None and (missing := unscanned_roles(details, results)):
        raise SummaryError(f"cloudsplaining did not scan the roles {', '.join(missing)}")
    exclusions = results.get("exclusions") or {}
    findings = our_findings(results, prefix)
    report = [render(findings, exclusions, prefix)]
    failing = [f for f in findings if f.blocking and not is_covered(f, exclusions)]
    unexplained = []
    if exclusions_text is not None:
        unexplained = unexplained_exclusions(exclusions, exclusions_text)
    for entry in unexplained:
        report.append(f"iam-scan: exclusion without a reason comment: {entry}")
    if failing:
        report.append(
            f"iam-scan: FAILED: {len(failing)} privilege escalation, resource exposure or "
            "credentials exposure finding(s) not covered by the exclusions: fix the IAM in infra/"
        )
    elif not unexplained:
        report.append(
            "iam-scan: no blocking findings (DataExfiltration, InfrastructureModification and "
            "ServiceWildcard are informational)"
        )
    return (1 if failing or unexplained else 0), "\n".join(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="cloudsplaining's iam-results-<name>.json")
    parser.add_argument("--prefix", default="ipeacast", help="name prefix of ours")
    parser.add_argument("--exclusions", type=Path, help="exclusions file: every entry has a reason")
    parser.add_argument("--details", type=Path, help="authorization details: the scan is whole")
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text())
        text = args.exclusions.read_text() if args.exclusions else None
        details = json.loads(args.details.read_text()) if args.details else None
        code, report = judge(results, args.prefix, text, details)
    except (OSError, ValueError, KeyError, TypeError, SummaryError) as error:
        print(f"iam-scan: error: {args.results}: {error}", file=sys.stderr)
        return 2
    print(report)
    return code


if __name__ == "__main__":
    sys.exit(main())
