"""scripts/iam-scan.sh (cloudsplaining over an account's IAM) and its judge, iam-scan-summary.py.

The script runs for real, in the virtualenv `make iam-scan-setup` creates (a prerequisite of
`make pytest`), on small authorization-details files: one escalation path fails the scan, a
tightly scoped policy passes it. The rehearsal's IAM is scanned in tests/test_rehearsal.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "iam-scan.sh"
ACCOUNT = "123456789012"

spec = importlib.util.spec_from_file_location(
    "iam_scan_summary", ROOT / "scripts/iam-scan-summary.py"
)
summary = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = summary  # its dataclass looks its module up there
spec.loader.exec_module(summary)

EVIL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Escalate",
            "Effect": "Allow",
            "Action": "iam:CreatePolicyVersion",
            "Resource": "*",
        },
        {"Sid": "Expose", "Effect": "Allow", "Action": "s3:PutBucketPolicy", "Resource": "*"},
    ],
}
TIGHT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadWriteLake",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::ipeacast-dev-lake/*",
        }
    ],
}


def role(name: str, policy: dict) -> dict:
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": "AROA" + name.upper().replace("-", "")[:17],
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "CreateDate": "2024-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        "InstanceProfileList": [],
        "RolePolicyList": [{"PolicyName": f"{name}-inline", "PolicyDocument": policy}],
        "AttachedManagedPolicies": [],
        "Tags": [],
    }


def details(*roles: dict) -> dict:
    return {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": list(roles),
        "Policies": [],
    }


def scan(tmp_path: Path, auth: dict, exclusions: str | None = None) -> subprocess.CompletedProcess:
    venv = ROOT / ".venv-cloudsplaining" / "bin" / "cloudsplaining"
    if not venv.exists():
        pytest.fail(
            f"{venv} is missing: run `make iam-scan-setup` (a prerequisite of `make pytest`)"
        )
    source = tmp_path / "account.json"
    source.write_text(json.dumps(auth))
    env = {**os.environ, "IAM_SCAN_NO_SETUP": "1"}
    if exclusions is not None:
        (tmp_path / "exclusions.yml").write_text(exclusions)
        env["IAM_SCAN_EXCLUSIONS"] = str(tmp_path / "exclusions.yml")
    return subprocess.run(
        ["bash", str(SCRIPT), str(source), str(tmp_path / "report")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_an_escalation_path_and_a_resource_exposure_fail_the_scan_naming_the_role(tmp_path):
    result = scan(tmp_path, details(role("ipeacast-dev-evil", EVIL)))
    out = result.stdout
    assert result.returncode == 1, result.stdout + result.stderr
    assert "role/ipeacast-dev-evil" in out
    assert "PrivilegeEscalation CreateNewPolicyVersion: iam:createpolicyversion" in out
    exposure = next(
        line
        for line in out.splitlines()
        if "] ipeacast-dev-evil" in line and "ResourceExposure:" in line
    )
    assert "[FAIL]" in exposure and "s3:PutBucketPolicy" in exposure
    assert "iam-scan: FAILED: 2 " in out
    # cloudsplaining's own report is kept next to the verdict
    assert (tmp_path / "report" / "iam-report-account.html").stat().st_size > 0
    assert (tmp_path / "report" / "iam-results-account.json").stat().st_size > 0


def test_a_tightly_scoped_policy_passes_and_other_projects_roles_are_not_judged(tmp_path):
    auth = details(role("ipeacast-dev-lake-writer", TIGHT), role("someone-elses-role", EVIL))
    result = scan(tmp_path, auth)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "iam-scan: no blocking findings" in result.stdout
    assert "someone-elses-role" not in result.stdout


def test_an_excluded_finding_passes_only_with_a_reason(tmp_path):
    auth = details(role("ipeacast-dev-evil", EVIL))
    with_reason = 'roles:\n  - "ipeacast-dev-evil"  # a test of the exclusions file\n'
    accepted = scan(tmp_path, auth, with_reason)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    rejected = scan(tmp_path, auth, 'roles:\n  - "ipeacast-dev-evil"\n')
    assert rejected.returncode == 1, rejected.stdout + rejected.stderr
    assert "exclusion without a reason comment: roles: ipeacast-dev-evil" in rejected.stdout


def test_a_file_that_is_not_authorization_details_is_an_error(tmp_path):
    result = scan(tmp_path, {"Roles": []})
    assert result.returncode != 0
    assert "iam-scan: error:" in result.stderr


def finding(type_: str, actions: tuple[str, ...], detail: str = "") -> object:
    return summary.Finding(
        "ipeacast-dev-x", "inline", ("role/ipeacast-dev-x",), type_, detail, actions
    )


def test_exclusion_names_match_like_cloudsplaining():
    assert summary.is_name_excluded("IPEACAST-dev-x", ["ipeacast-dev-x"])
    assert summary.is_name_excluded("ipeacast-dev-x", ["ipeacast-*"])
    assert summary.is_name_excluded("ipeacast-dev-x", ["*-x"])
    assert not summary.is_name_excluded("ipeacast-dev-x", ["ipeacast-dev", ""])


def test_an_excluded_action_breaks_an_escalation_method_but_covers_a_list_only_whole():
    escalation = finding("PrivilegeEscalation", ("iam:passrole", "lambda:createfunction"), "x")
    exposure = finding("ResourceExposure", ("s3:PutBucketPolicy", "iam:PutRolePolicy"))
    only_passrole = {"exclude-actions": ["iam:PassRole"]}
    assert summary.is_covered(escalation, only_passrole)
    assert not summary.is_covered(exposure, {"exclude-actions": ["s3:PutBucketPolicy"]})
    assert summary.is_covered(exposure, {"exclude-actions": ["s3:PutBucketPolicy", "iam:put*"]})
    assert not summary.is_covered(escalation, {"roles": ["someone-else"]})
    assert summary.is_covered(escalation, {"roles": ["ipeacast-dev-x"]})


def test_an_exclusion_is_explained_by_a_comment_on_its_line_or_just_above():
    text = 'roles:\n  - "a"  # reason\n  # reason for b\n  - b\n  - c\n\n  - d\n'
    config = {"roles": ["a", "b", "c", "d"]}
    assert summary.unexplained_exclusions(config, text) == ["roles: c", "roles: d"]
