"""The deploy rehearsal (`make rehearse`): the merge-to-main deployment of dev, against an emulator.

The session fixture `rehearsal` (conftest.py) runs it once with every fault rehearsed after the
smoke run; these tests read its report. What the rehearsal itself checks (the forecast's schema
against the Glue table, the second plan, the emulator left empty) fails the run and so the first
test here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from support import rehearsal as rehearsal_module

ROOT = Path(__file__).resolve().parents[1]
STATES = ["Extract", "Transform", "Load", "PrepareTraining", "Train", "Publish"]


def test_the_rehearsal_passes(rehearsal):
    assert rehearsal.returncode == 0, rehearsal.stderr[-5000:]
    assert rehearsal.report["failure"] is None


def test_the_rehearsal_runs_the_workflows_verbs_in_the_workflows_order(rehearsal):
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    release = rehearsal_module.recipe_verbs()["release"]  # the apply recipe, verb by verb
    expected = []
    for job in ("build", "dev"):
        for step in workflow["jobs"][job]["steps"]:
            if step.get("run", "").startswith("make "):
                words = [w for w in step["run"].split()[1:] if "=" not in w]
                expected += [v for w in words for v in (release if w == "release" else [w])]
    assert expected[0] == "package" and expected[-1] == "smoke"
    assert expected.index("stage") < expected.index("apply") < expected.index("ensure-staged")
    assert rehearsal.report["workflow_verbs"] == expected
    ran = [s["name"] for s in rehearsal.report["steps"]]
    assert [name for name in ran if name in expected] == expected
    # and around them: the account first, the checks after, everything removed last
    assert ran.index("bootstrap") < ran.index("stage")
    after = ran[ran.index("smoke") + 1 :]
    assert after[:2] == ["check-forecast", "second-plan"] and after[-1] == "destroy"
    # The verbs after the dev job's AWS login ran with IPEACAST_NO_INSTALL=1, as in CI: the
    # packages and Terraform providers were installed before it.
    before_login = expected[: expected.index(rehearsal.report["no_install_after"]) + 1]
    assert {"deploy-setup", "providers"} <= set(before_login), before_login


def test_workflow_verbs_reads_make_steps_of_the_given_jobs(tmp_path):
    workflow = {
        "jobs": {
            "build": {"steps": [{"uses": "x"}, {"run": "make package"}, {"run": "make a b"}]},
            "dev": {"steps": [{"run": "make c ENV=dev\necho done"}, {"run": "echo make d"}]},
        }
    }
    path = tmp_path / "w.yml"
    path.write_text(yaml.safe_dump(workflow))
    assert rehearsal_module.workflow_verbs(path) == ["package", "a", "b", "c"]


def test_workflow_verbs_replay_make_release_as_the_makefiles_release_verbs(tmp_path):
    workflow = {"jobs": {"dev": {"steps": [{"run": "make plan"}, {"run": "make release"}]}}}
    path = tmp_path / "w.yml"
    path.write_text(yaml.safe_dump(workflow))
    release = ["stage", "apply", "ensure-staged", "smoke"]
    assert rehearsal_module.recipe_verbs() == {"release": release}
    assert rehearsal_module.workflow_verbs(path, ("dev",)) == ["plan", *release]


def test_workflow_steps_marks_the_aws_login(tmp_path):
    workflow = {
        "jobs": {
            "dev": {
                "steps": [
                    {"run": "make deploy-setup providers"},
                    {"uses": "./.github/actions/aws-login", "with": {"role-to-assume": "x"}},
                    {"run": "make stage"},
                ]
            },
        }
    }
    path = tmp_path / "w.yml"
    path.write_text(yaml.safe_dump(workflow))
    login = rehearsal_module.LOGIN
    assert rehearsal_module.workflow_steps(path, ("dev",)) == [
        "deploy-setup",
        "providers",
        login,
        "stage",
    ]


def test_the_report_has_what_the_issue_asks_for(rehearsal):
    report = rehearsal.report
    assert report["resources_created"] > 50
    assert report["resources"]["bootstrap"] > 10 and report["resources"]["dev"] > 30
    assert report["second_plan_exit_code"] == 0, report["second_plan_changes"]
    names = {key.rsplit("/", 1)[-1] for key in report["artifacts_uploaded"]}
    assert {"extract.py", "transform.py", "load.py", "lambda.zip"} <= names
    assert any(name.endswith(".whl") for name in names)
    assert all(key.startswith("artifacts/") for key in report["artifacts_uploaded"])
    assert report["execution_status"] == "SUCCEEDED"
    assert set(STATES) <= set(report["state_durations_seconds"])
    assert report["prediction_rows"] > 0
    assert report["forecast_schema_matches_catalog"] is True
    assert report["destroyed"] is True and report["leftovers"] == []
    assert report["wall_seconds"] > 0


def test_the_real_artifacts_ran(rehearsal):
    runs = rehearsal.report["runs"]
    kinds = [run["kind"] for run in runs]
    # the smoke run: three Glue jobs, the Lambda twice (prepare, publish), one training job
    assert kinds[:6] == ["glue", "glue", "glue", "lambda", "training", "lambda"]
    assert all(run["exit"] == 0 for run in runs[:6]), runs[:6]
    extract_log = Path(runs[0]["log"]).read_text()
    assert "--additional-python-modules s3://" in extract_log
    assert "ipeacast-0.1.0-py3-none-any.whl" in extract_log


@pytest.mark.parametrize(("fault", "state"), sorted(rehearsal_module.FAULTS.items()))
def test_each_fault_fails_the_smoke_run_at_its_state_alerts_and_touches_nothing_else(
    rehearsal, fault, state
):
    outcome = rehearsal.report["faults"][fault]
    assert outcome["smoke_exit"] != 0
    assert outcome["failed_state"] == state
    assert outcome["named_in_smoke_output"] == state  # `make smoke` names the failed state
    assert outcome["alerted"] is True  # one message on the failure topic, for this execution
    assert outcome["untouched_outside_smoke"] is True
    assert outcome["ok"] is True


def test_the_iam_dump_is_what_get_account_authorization_details_returns(rehearsal):
    details = json.loads((rehearsal.out / "iam-authorization-details.json").read_text())
    roles = {role["RoleName"] for role in details["RoleDetailList"]}
    assert {
        "ipeacast-deploy-dev",
        "ipeacast-deploy-prod",
        "ipeacast-plan-dev",
        "ipeacast-plan-prod",
    } <= roles
    assert any(name.startswith("ipeacast-dev-") for name in roles)
    policies = {policy["PolicyName"] for policy in details["Policies"]}
    assert "ipeacast-dev-boundary" in policies
    deploy = next(r for r in details["RoleDetailList"] if r["RoleName"] == "ipeacast-deploy-dev")
    assert deploy["RolePolicyList"], "the inline policy of the deploy role is in the dump"


def test_cloudsplaining_finds_no_escalation_or_exposure_in_the_iam_terraform_created(rehearsal):
    """scripts/iam-scan.sh over the rehearsal's IAM dump; the report stays in build/reports/iam."""
    details = rehearsal.out / "iam-authorization-details.json"
    assert details.exists(), rehearsal.stderr[-5000:]
    reports = Path(os.environ.get("IPEACAST_REPORT_DIR", ROOT / "build" / "reports"))
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "iam-scan.sh"), str(details), str(reports / "iam")],
        capture_output=True,
        text=True,
        env={**os.environ, "IAM_SCAN_NO_SETUP": "1"},  # `make iam-scan-setup` made the venv
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
