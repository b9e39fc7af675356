"""The delivery workflows, read as data, and the scripts behind them run for real.

actionlint and zizmor run in `make lint-workflows`; these tests pin what the issue asks of the
workflows themselves (triggers, environments, order, pinning, permissions, concurrency) and run
scripts/tf.sh against a real Terraform root and scripts/plan-comment.py against real plan output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
EXPECTED = {"pr", "deploy", "dispatch", "drift"}


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as True.
    return workflow.get("on", workflow.get(True))


def all_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(ACTIONS.glob("*/action.yml"))


def steps_of(path: Path) -> list[dict]:
    doc = yaml.safe_load(path.read_text())
    if "jobs" in doc:
        return [s for job in doc["jobs"].values() for s in job.get("steps", [])]
    return doc["runs"]["steps"]


def needs(job: dict) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def ancestors(jobs: dict, name: str) -> set[str]:
    seen: set[str] = set()
    todo = needs(jobs[name])
    while todo:
        parent = todo.pop()
        if parent not in seen:
            seen.add(parent)
            todo.extend(needs(jobs[parent]))
    return seen


def runs(job: dict) -> list[str]:
    return [s["run"] for s in job.get("steps", []) if "run" in s]


def uses_aws(job: dict) -> bool:
    return any(s.get("uses") == "./.github/actions/aws-login" for s in job.get("steps", []))


def role_of(job: dict) -> str:
    for step in job.get("steps", []):
        if step.get("uses") == "./.github/actions/aws-login":
            return step["with"]["role-to-assume"]
    return ""


def runs_make(job: dict, target: str) -> bool:
    return any(re.search(rf"\bmake\b[^\n]*\b{target}\b", r) for r in runs(job))


def release_verbs() -> list[str]:
    """What `make release` runs, in order (the Makefile's RELEASE_VERBS)."""
    match = re.search(r"^RELEASE_VERBS := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "the Makefile defines RELEASE_VERBS"
    return match.group(1).split()


def applies(job: dict) -> bool:
    """The job applies a plan: `make apply`, or `make release` (which runs apply)."""
    return runs_make(job, "apply") or runs_make(job, "release")


def job_verbs(job: dict) -> list[str]:
    """The make verbs of a job's steps in order, `release` replaced by what it runs."""
    return [
        verb
        for command in runs(job)
        for word in make_verbs(command)
        for verb in (release_verbs() if word == "release" else [word])
    ]


# --------------------------------------------------------------------------- triggers


def test_the_four_workflows_exist():
    assert {p.stem for p in WORKFLOWS.glob("*.yml")} == EXPECTED


def test_triggers():
    assert triggers(load("pr")) == {"pull_request": {"branches": ["main"]}}
    assert triggers(load("deploy")) == {"push": {"branches": ["main"]}}
    drift = triggers(load("drift"))
    assert set(drift) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"[\d*/,-]+( [\d*/,-]+){4}", drift["schedule"][0]["cron"])
    inputs = triggers(load("dispatch"))["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["type"] == "choice"
    assert inputs["environment"]["options"] == ["dev", "prod"]
    assert set(inputs["action"]["options"]) == {"plan", "apply", "smoke", "run-pipeline"}


# --------------------------------------------------------------------------- order and environments


def test_deploy_goes_build_then_dev_then_prod():
    jobs = load("deploy")["jobs"]

    assert jobs["dev"]["environment"] == "dev"
    assert jobs["prod"]["environment"] == "prod"
    assert "build" in ancestors(jobs, "dev")
    assert {"build", "dev", "plan-prod"} <= ancestors(jobs, "prod")
    for env in ("dev", "prod"):
        job = jobs[env]
        # one apply recipe: both jobs end with `make release`
        assert runs(job)[-1] == "make release"
        order = job_verbs(job)
        # staged before apply (skipped only before an environment's first apply), then pushed and
        # uploaded after apply when stage could not, so a brand-new environment needs no manual
        # step (tests/test_deploy.py runs both verbs)
        assert order.index("stage") < order.index("apply") < order.index("ensure-staged")
        assert order[-1] == "smoke"
        assert order.count("apply") == 1
        assert not any(st.get("continue-on-error") for st in job["steps"])
    assert job_verbs(jobs["dev"]).index("plan") < job_verbs(jobs["dev"]).index("apply")


def test_every_apply_is_the_one_release_recipe():
    # deploy.yml's dev and prod jobs and dispatch.yml's apply job apply through `make release`
    # and never list its verbs themselves.
    found = []
    for name in EXPECTED:
        for job_name, job in load(name)["jobs"].items():
            if applies(job):
                found.append((name, job_name))
                assert runs_make(job, "release"), f"{name}/{job_name}"
                for verb in release_verbs():
                    assert not runs_make(job, verb), f"{name}/{job_name} runs make {verb} itself"
    assert sorted(found) == [("deploy", "dev"), ("deploy", "prod"), ("dispatch", "apply")]


def test_make_release_runs_stage_apply_ensure_staged_smoke_in_order(tmp_path):
    assert release_verbs() == ["stage", "apply", "ensure-staged", "smoke"]
    venv = tmp_path / "venv"
    out = subprocess.run(
        ["make", "-n", "release", "ENV=prod", "IMAGE_TAG=abc", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ran = [line for line in out.splitlines() if "ipeacast deploy" in line or "tf.sh" in line]
    assert ran == [
        f"{venv}/bin/ipeacast deploy stage prod",
        "bash scripts/tf.sh apply prod",
        f"{venv}/bin/ipeacast deploy ensure-staged prod",
        f"{venv}/bin/ipeacast deploy smoke prod",
    ]


def test_prod_applies_the_saved_plan_shown_for_approval():
    jobs = load("deploy")["jobs"]
    plan, prod = jobs["plan-prod"], jobs["prod"]

    assert "environment" not in plan  # planned before the approval, shown in its summary
    assert runs_make(plan, "plan")
    uploaded = [s for s in plan["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploaded[0]["with"]["name"] == "tfplan-prod"
    downloaded = [
        s["with"]["name"] for s in prod["steps"] if "download-artifact" in s.get("uses", "")
    ]
    assert "tfplan-prod" in downloaded
    assert applies(prod)
    assert not runs_make(prod, "plan")  # never a fresh plan behind the approval


def test_jobs_with_the_deploy_role_run_in_an_environment_and_plans_use_the_plan_role():
    for name in EXPECTED:
        for job_name, job in load(name)["jobs"].items():
            role = role_of(job)
            if "AWS_ROLE_ARN" in role:
                assert job.get("environment"), f"{name}/{job_name} deploys without an environment"
            plans = runs_make(job, "plan") or runs_make(job, "drift")
            if plans and "environment" not in job:
                assert "AWS_PLAN_ROLE_ARN_" in role, f"{name}/{job_name}"
                assert job["env"]["TF_LOCK"] == "false", f"{name}/{job_name}"


def test_pr_plans_each_environment_after_the_tests_and_comments_once():
    jobs = load("pr")["jobs"]

    assert runs(jobs["test"]) == ["make test"]
    assert jobs["plan"]["needs"] == "test"
    # prod is planned from main only: its plan role does not trust pull requests.
    assert jobs["plan"]["strategy"]["matrix"]["environment"] == ["dev"]
    assert role_of(jobs["plan"]) == "${{ vars.AWS_PLAN_ROLE_ARN_DEV }}"
    assert jobs["comment"]["needs"] == ["plan", "model"]
    assert "scripts/plan-comment.py comment" in runs(jobs["comment"])[0]


def test_pr_reports_the_model_head_vs_base_on_the_snapshot_and_comments_it():
    jobs = load("pr")["jobs"]
    model = jobs["model"]
    steps = model["steps"]

    # runs on every pull request (forks too: it needs no secret), read-only, no AWS
    assert "if" not in model and "needs" not in model
    assert model["permissions"] == {"contents": "read"}
    assert not uses_aws(model)
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert len(checkouts) == 2
    base = checkouts[1]["with"]
    assert base["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert all(c["with"]["persist-credentials"] is False for c in checkouts)
    assert runs(model)[0] == f"make model-report BASE_DIR={base['path']}"
    # the PNG is uploaded, and the section links it (the upload step's artifact URL)
    upload = next(s for s in steps if s.get("id") == "report")
    assert "build/model-report/report.png" in upload["with"]["path"]
    section = next(s for s in steps if s.get("run") == "make model-section")
    assert section["env"]["MODEL_REPORT_PNG_URL"] == "${{ steps.report.outputs.artifact-url }}"
    assert steps.index(upload) < steps.index(section)
    sent = next(s for s in steps[steps.index(section) :] if "upload-artifact" in s.get("uses", ""))
    assert sent["with"] == {**sent["with"], "name": "model-section"}
    assert sent["with"]["path"] == "build/model-report/section.md"
    # the comment job adds it to the plan comment
    comment = jobs["comment"]
    fetch = next(s for s in comment["steps"] if s.get("with", {}).get("name") == "model-section")
    assert fetch["with"]["path"] == "model"
    assert "--section model/section.md" in runs(comment)[0]
    # the Makefile verbs run offline on the shipped snapshot
    makefile = (ROOT / "Makefile").read_text()
    assert "model-report: setup" in makefile and "model-section:" in makefile
    script = (ROOT / "scripts" / "model-report.sh").read_text()
    assert "snapshot=$root/data/brent-daily.csv" in script
    assert (ROOT / "data" / "brent-daily.csv").is_file()


def test_drift_fails_the_job_through_make_drift():
    job = load("drift")["jobs"]["drift"]

    assert job["strategy"]["matrix"]["environment"] == ["dev", "prod"]
    assert job["strategy"]["fail-fast"] is False
    assert runs_make(job, "drift")
    drift_step = next(s for s in job["steps"] if s.get("run") == "make drift")
    assert "continue-on-error" not in drift_step


def test_every_plan_is_summarised_by_one_make_target():
    planned = 0
    for name in EXPECTED:
        text = (WORKFLOWS / f"{name}.yml").read_text()
        assert "plan-comment.py summary" not in text, f"{name}: use make plan-summary"
        for job_name, job in load(name)["jobs"].items():
            if not (runs_make(job, "plan") or runs_make(job, "drift")):
                continue
            planned += 1
            step = next((s for s in job["steps"] if s.get("run") == "make plan-summary"), None)
            assert step, f"{name}/{job_name} plans without make plan-summary"
            assert step["if"] == "always()", f"{name}/{job_name}"
            commands = runs(job)
            last_plan = max(i for i, c in enumerate(commands) if c in ("make plan", "make drift"))
            assert commands.index("make plan-summary") == last_plan + 1, f"{name}/{job_name}"
    assert planned == 5  # pr plan, deploy dev + plan-prod, dispatch plan, drift


# --------------------------------------------------------------------------- pins, permissions


def test_every_third_party_action_is_pinned_by_full_sha_with_its_version():
    for path in all_files():
        lines = path.read_text().splitlines()
        for step in steps_of(path):
            ref = step.get("uses")
            if not ref or ref.startswith("./"):
                continue
            assert SHA_PIN.match(ref), f"{path.name}: {ref} is not pinned by a full commit SHA"
            line = next(line for line in lines if f"uses: {ref}" in line)
            assert re.search(r"# v\d+\.\d+\.\d+$", line), f"{path.name}: no version for {ref}"


def test_permissions_are_empty_by_default_and_least_per_job():
    allowed_writes = {"id-token", "pull-requests"}
    for name in EXPECTED:
        workflow = load(name)
        assert workflow["permissions"] == {}, name
        for job_name, job in workflow["jobs"].items():
            perms = job.get("permissions")
            assert isinstance(perms, dict), f"{name}/{job_name} has no explicit permissions"
            writes = {k for k, v in perms.items() if v == "write"}
            assert writes <= allowed_writes, f"{name}/{job_name}: {writes}"
            assert ("id-token" in writes) == uses_aws(job), f"{name}/{job_name}"
            if "pull-requests" in writes:
                assert job_name == "comment" and not uses_aws(job)


def test_no_long_lived_keys():
    for path in all_files():
        text = path.read_text()
        assert "aws-access-key-id" not in text
        assert "secrets." not in text, f"{path.name} uses a secret; roles are variables"


def test_no_expressions_inside_run_blocks():
    for path in all_files():
        for step in steps_of(path):
            assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('run')}"


def test_checkout_never_persists_credentials():
    for path in all_files():
        for step in steps_of(path):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, path.name


def test_workflow_steps_are_make_targets_or_repository_scripts():
    for name in EXPECTED:
        for job_name, job in load(name)["jobs"].items():
            for command in runs(job):
                assert re.match(r"(make |python3 scripts/)", command), f"{name}/{job_name}"


# --------------------------------------------------------------------------- concurrency


def test_applies_share_one_group_per_environment_and_are_never_cancelled():
    groups = {}
    for name in EXPECTED:
        for job_name, job in load(name)["jobs"].items():
            if not applies(job):
                continue
            concurrency = job.get("concurrency")
            assert concurrency, f"{name}/{job_name} applies without a concurrency group"
            assert concurrency["cancel-in-progress"] is False
            groups[(name, job_name)] = concurrency["group"]
    assert groups[("deploy", "dev")] == "ipeacast-tfstate-dev"
    assert groups[("deploy", "prod")] == "ipeacast-tfstate-prod"
    assert groups[("dispatch", "apply")] == "ipeacast-tfstate-${{ inputs.environment }}"
    # Workflow-level cancellation would cancel applies too.
    for name in ("deploy", "dispatch", "drift"):
        assert load(name).get("concurrency", {}).get("cancel-in-progress", False) is False


def test_only_applies_join_the_state_groups():
    # GitHub replaces a pending job when another joins its group: keep plans and smokes out.
    for name in EXPECTED:
        for job_name, job in load(name)["jobs"].items():
            group = (job.get("concurrency") or {}).get("group", "")
            if "tfstate" in group:
                assert applies(job), f"{name}/{job_name}"


# --------------------------------------------------------------------------- Makefile and tf.sh


def test_make_targets_call_the_scripts_and_the_cli():
    out = subprocess.run(
        ["make", "-n", "plan", "apply", "drift", "ENV=prod", "IMAGE_TAG=abc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "bash scripts/tf.sh plan prod" in out
    assert "bash scripts/tf.sh apply prod" in out
    assert "bash scripts/tf.sh drift prod" in out
    out = subprocess.run(
        ["make", "-n", "stage", "ensure-staged", "ENV=prod", "IMAGE_TAG=abc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".venv/bin/ipeacast deploy stage prod" in out
    assert ".venv/bin/ipeacast deploy ensure-staged prod" in out


def test_package_and_deploy_verbs_do_not_install_the_dev_extras(tmp_path):
    # packaging is standard library only (the Dockerfile runs it the same way); the deploy verbs
    # need the project and boto3, not pyspark/scikit-learn/moto. A fresh machine: no virtualenv.
    def dry(*targets: str) -> str:
        return subprocess.run(
            ["make", "-n", *targets, "ENV=dev", "IMAGE_TAG=abc", f"VENV={tmp_path / 'venv'}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    package = dry("package")
    assert "PYTHONPATH=src python3.11 -m ipeacast.deploy.packaging dist" in package
    assert "pip install" not in package and "venv" not in package
    for verb in (
        "image",
        "save-image",
        "load-image",
        "push-image",
        "stage",
        "ensure-staged",
        "image-uri",
        "upload-artifacts",
        "smoke",
        "run-pipeline",
    ):
        out = dry(verb)
        assert "--no-build-isolation -r requirements/deploy.lock\n" in out, verb
        assert "dev.lock" not in out and "[dev]" not in out, verb
        env = "" if verb in ("image", "save-image", "load-image") else " dev"
        assert f"{tmp_path / 'venv'}/bin/ipeacast deploy {verb}{env}\n" in out, verb
    # run and test need it all
    assert "--no-build-isolation -r requirements/dev.lock\n" in dry("run")
    assert "--no-build-isolation -r requirements/dev.lock\n" in dry("pytest")


@pytest.fixture
def tf_env(tmp_path, monkeypatch):
    if shutil.which("terraform") is None:
        pytest.fail("terraform is required for the tf.sh tests")
    root = tmp_path / "environments" / "dev"
    root.mkdir(parents=True)
    (root / "main.tf").write_text(
        'variable "training_image_tag" {\n  type = string\n}\n'
        'resource "terraform_data" "image" {\n  input = var.training_image_tag\n}\n'
    )
    env = {
        **os.environ,
        "TF_ENVIRONMENTS_DIR": str(tmp_path / "environments"),
        "TF_BUILD_DIR": str(tmp_path / "build"),
        "TF_DATA_DIR": str(tmp_path / "tfdata"),
    }
    env.pop("GITHUB_ACTIONS", None)
    return tmp_path, env


def tf(env: dict, *args: str, image_tag: str = "aaa") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "scripts/tf.sh", *args],
        cwd=ROOT,
        env={**env, "IMAGE_TAG": image_tag},
        capture_output=True,
        text=True,
    )


def test_apply_needs_a_saved_plan_and_applies_exactly_it(tf_env):
    tmp, env = tf_env
    refused = tf(env, "apply", "dev")
    assert refused.returncode == 1
    assert "no saved plan" in refused.stderr

    assert tf(env, "plan", "dev", image_tag="aaa").returncode == 0
    build = tmp / "build" / "dev"
    assert (build / "exitcode").read_text().strip() == "2"
    assert '+ input  = "aaa"' in (build / "plan.txt").read_text()
    # A later run with another tag applies the saved plan, not a fresh one.
    applied = tf(env, "apply", "dev", image_tag="bbb")
    assert applied.returncode == 0, applied.stderr
    state = json.loads((tmp / "environments" / "dev" / "terraform.tfstate").read_text())
    assert state["resources"][0]["instances"][0]["attributes"]["input"]["value"] == "aaa"


def test_drift_exits_2_when_the_environment_differs(tf_env):
    _, env = tf_env
    assert tf(env, "plan", "dev", image_tag="aaa").returncode == 0
    assert tf(env, "apply", "dev").returncode == 0

    same = tf(env, "drift", "dev", image_tag="aaa")
    drifted = tf(env, "drift", "dev", image_tag="zzz")

    assert same.returncode == 0
    assert "no drift in dev" in same.stderr
    assert drifted.returncode == 2
    assert "drift: environment 'dev' differs" in drifted.stderr


def test_tf_sh_rejects_unknown_environments_and_bad_tags(tf_env):
    _, env = tf_env
    assert "no Terraform root for environment 'qa'" in tf(env, "plan", "qa").stderr
    assert "not a valid image tag" in tf(env, "plan", "dev", image_tag="a;b").stderr


def test_tf_sh_asks_for_the_state_bucket_of_an_s3_backend(tf_env):
    tmp, env = tf_env
    (tmp / "environments" / "dev" / "backend.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    env.pop("TF_STATE_BUCKET", None)

    result = tf(env, "plan", "dev")

    assert result.returncode == 1
    assert "TF_STATE_BUCKET is not set" in result.stderr


# --------------------------------------------------------------------------- plan comment


def plan_comment():
    spec = importlib.util.spec_from_file_location("plan_comment", ROOT / "scripts/plan-comment.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["plan_comment"] = module
    spec.loader.exec_module(module)
    return module


def test_plan_summary_from_real_terraform_output(tf_env):
    tmp, env = tf_env
    assert tf(env, "plan", "dev").returncode == 0
    pc = plan_comment()

    summary = subprocess.run(
        [sys.executable, "scripts/plan-comment.py", "summary", str(tmp / "build" / "dev")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    plan = pc.load_plan(tmp / "build" / "dev")

    assert summary.startswith("### `dev`: 1 to add, 0 to change, 0 to destroy")
    assert "`terraform_data.image`" in summary
    assert plan.changes == [{"address": "terraform_data.image", "action": "create"}]
    changes = json.loads((tmp / "build" / "dev" / "changes.json").read_text())
    assert changes["counts"]["create"] == 1

    # The workflows run it as `make plan-summary`, which appends to the job summary file.
    job_summary = tmp / "step_summary.md"
    job_summary.write_text("earlier step\n")
    subprocess.run(
        ["make", "plan-summary", "ENV=dev"],
        cwd=ROOT,
        env={**env, "GITHUB_STEP_SUMMARY": str(job_summary)},
        capture_output=True,
        check=True,
    )
    assert job_summary.read_text() == "earlier step\n" + summary


def test_a_new_plan_is_never_summarised_from_an_earlier_plans_changes(tf_env):
    # A laptop or persistent runner keeps .tfbuild/ENV: the changes.json that `summary` wrote for
    # the previous plan must not describe the next one.
    tmp, env = tf_env
    build = tmp / "build" / "dev"
    pc = plan_comment()

    def summary() -> str:
        return subprocess.run(
            [sys.executable, "scripts/plan-comment.py", "summary", str(build)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert tf(env, "plan", "dev").returncode == 0
    assert "1 to add" in summary()
    assert (build / "changes.json").exists()
    main_tf = tmp / "environments" / "dev" / "main.tf"
    other = 'resource "terraform_data" "other" {\n  input = 1\n}\n'
    main_tf.write_text(main_tf.read_text() + other)

    assert tf(env, "plan", "dev").returncode == 0
    assert not (build / "changes.json").exists()  # tf.sh removed the stale summary
    assert summary().startswith("### `dev`: 2 to add")

    # Even a stale changes.json left next to a fresh plan.json loses to the plan itself.
    (build / "changes.json").write_text(
        json.dumps({"counts": {"create": 9}, "changes": [], "status": "changes"})
    )
    assert pc.load_plan(build).counts["create"] == 2
    # Without plan.json (the PR comment job only gets plan.txt + changes.json), it is used.
    (build / "plan.json").unlink()
    assert pc.load_plan(build).counts["create"] == 9


def test_comment_stays_well_under_the_github_limit_for_huge_plans(tmp_path):
    pc = plan_comment()
    huge = "Terraform will perform the following actions:\n" + "  + x = 1\n" * 50_000
    rows = [{"address": f"aws_s3_object.o[{i}]", "action": "create"} for i in range(500)]
    plans = [
        pc.EnvPlan("dev", "changes", {"create": 500}, rows, huge),
        pc.EnvPlan("prod", "failed"),
    ]

    body = pc.render_comment(plans, run_url="https://github.com/o/r/actions/runs/1")

    assert len(body) <= pc.COMMENT_BUDGET < 65_535
    assert body.startswith(pc.MARKER)
    assert "Truncated to" in body
    assert "job summary" in body
    assert "`prod`: plan **failed**" in body
    assert "460 more" in body


def test_comment_fence_survives_backticks_in_the_plan():
    pc = plan_comment()
    plan = pc.EnvPlan("dev", "changes", {"update": 1}, [], 'x = "```oops```"\n')

    body = pc.render_comment([plan])

    assert "\n````\n" in body


def test_comment_is_updated_in_place_not_duplicated():
    pc = plan_comment()
    calls = []
    bot = {"login": "github-actions[bot]"}
    comments = [
        {"id": 5, "body": f"{pc.MARKER}\nplanted by someone", "user": {"login": "mallory"}},
        {"id": 7, "body": "unrelated", "user": bot},
        {"id": 9, "body": f"{pc.MARKER}\nold plan", "user": bot},
    ]

    def api(method, path, payload):
        calls.append((method, path))
        return comments if method == "GET" else {"id": 11}

    assert pc.upsert_comment(api, "o/r", 5, "new body") == ("updated", 9)
    assert calls[-1] == ("PATCH", "/repos/o/r/issues/comments/9")

    comments = [{"id": 7, "body": "unrelated"}]
    assert pc.upsert_comment(api, "o/r", 5, "new body") == ("created", 11)
    assert calls[-1] == ("POST", "/repos/o/r/issues/5/comments")


# --------------------------------------------------------------------------- lint script


def test_lint_workflows_fails_loudly_when_a_tool_is_missing(tmp_path):
    result = subprocess.run(
        ["bash", "scripts/lint-workflows.sh"],
        cwd=ROOT,
        env={**os.environ, "VENV": str(tmp_path / "no-venv")},
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    assert "missing tool" in result.stderr and "zizmor" in result.stderr


def test_stage_skips_only_an_environment_that_was_never_applied(tf_env):
    tmp, env = tf_env
    main_tf = tmp / "environments" / "dev" / "main.tf"
    main_tf.write_text(main_tf.read_text() + 'output "lake_bucket" {\n  value = "b"\n}\n')

    def stage() -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).parent / "ipeacast"), "deploy", "stage", "dev"],
            cwd=ROOT,
            env={**env, "IMAGE_TAG": "aaa"},
            capture_output=True,
            text=True,
        )

    first = stage()
    assert first.returncode == 0, first.stderr
    assert "no Terraform outputs yet (first deployment)" in first.stdout

    assert tf(env, "plan", "dev").returncode == 0
    assert tf(env, "apply", "dev").returncode == 0
    later = stage()  # now a real push is attempted, and its failure is not hidden
    assert later.returncode != 0
    assert "ecr_repository_url" in later.stderr


# ------------------------------------------------------------- installs before credentials

# Make verbs that install (a virtualenv, npm packages, Terraform providers): never after a login.
INSTALLING_VERBS = {"setup", "deploy-setup", "node-setup", "providers", "lock", "iam-scan-setup"}
TERRAFORM_VERBS = {
    "plan",
    "apply",
    "drift",
    "release",
    "stage",
    "ensure-staged",
    "push-image",
    "image-uri",
    "upload-artifacts",
    "smoke",
    "run-pipeline",
}
INSTALL_COMMAND = re.compile(
    r"\b(pip3?|uv|npm|npx|yarn|apt-get|apt|brew|curl|wget|gem|go\s+install)\b|terraform\s+init"
)


def make_prerequisites() -> dict[str, set[str]]:
    """Each Makefile target's prerequisites, as written (`target: a b ## help`)."""
    rules: dict[str, set[str]] = {}
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = re.match(r"^([a-z][a-z-]*):(?!=)\s*([^#]*)", line)
        if match:
            rules[match.group(1)] = set(match.group(2).split())
    return rules


def make_verbs(command: str) -> list[str]:
    verbs: list[str] = []
    for line in command.splitlines():
        words = line.split()
        if words[:1] == ["make"]:
            verbs += [w for w in words[1:] if "=" not in w and not w.startswith("-")]
    return verbs


def test_make_prerequisites_are_read_from_the_makefile():
    rules = make_prerequisites()
    assert "deploy-setup" in rules["smoke"] and "setup" in rules["run"]
    assert rules["plan"] == set()


def test_no_step_after_the_aws_login_installs_anything():
    """In every job that assumes an AWS role, packages and Terraform providers are installed
    before the login (`make deploy-setup providers`); after it no step installs: no package
    manager, no installing make verb, no verb whose prerequisite installs unless an earlier
    step already ran that prerequisite, and no action but artifact uploads."""
    rules = make_prerequisites()
    checked = 0
    for name in EXPECTED:
        for job_name, job in load(name)["jobs"].items():
            if not uses_aws(job):
                continue
            checked += 1
            steps = job["steps"]
            login = next(
                i for i, s in enumerate(steps) if s.get("uses") == "./.github/actions/aws-login"
            )
            installed = {v for s in steps[:login] for v in make_verbs(s.get("run", ""))}
            where = f"{name}/{job_name}"
            for step in steps[login + 1 :]:
                if "uses" in step:
                    assert step["uses"].startswith("actions/upload-artifact@"), (
                        f"{where}: action {step['uses']} runs after the AWS login"
                    )
                    continue
                command = step.get("run", "")
                assert not INSTALL_COMMAND.search(command), f"{where}: installs: {command}"
                for verb in make_verbs(command):
                    assert verb not in INSTALLING_VERBS, f"{where}: make {verb} after the login"
                    missing = (rules.get(verb, set()) & INSTALLING_VERBS) - installed
                    assert not missing, (
                        f"{where}: make {verb} needs {sorted(missing)}, which no step ran "
                        "before the AWS login"
                    )
                    # Terraform itself, or ENV's Terraform outputs (scripts/tf.sh outputs)
                    terraform = verb in TERRAFORM_VERBS
                    assert not terraform or "providers" in installed, (
                        f"{where}: make {verb} runs Terraform, but no step ran "
                        "`make providers` before the AWS login"
                    )
    assert checked >= 8


def test_the_login_action_forbids_installs_before_it_assumes_the_role():
    steps = yaml.safe_load((ACTIONS / "aws-login" / "action.yml").read_text())["runs"]["steps"]
    assume = next(
        i
        for i, s in enumerate(steps)
        if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    )
    assert any(
        'echo "IPEACAST_NO_INSTALL=1" >> "$GITHUB_ENV"' in s.get("run", "") for s in steps[:assume]
    )


def test_providers_are_installed_before_and_only_reused_after_the_login(tf_env):
    """`tf.sh providers` installs the lock file's providers with no backend and no credentials;
    with IPEACAST_NO_INSTALL=1 (set by the login action) init only uses those: it refuses
    without them, and plans without reaching any registry with them."""
    tmp, env = tf_env
    mirror = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
    assert (mirror / "registry.terraform.io" / "hashicorp" / "aws").is_dir(), (
        f"the hashicorp/aws provider mirror is required at {mirror} (TF_PLUGIN_MIRROR)"
    )
    (tmp / "environments" / "dev" / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        'provider "aws" {\n  region = "us-east-1"\n  access_key = "x"\n  secret_key = "x"\n'
        "  skip_credentials_validation = true\n  skip_requesting_account_id = true\n"
        "  skip_metadata_api_check = true\n}\n"
        'variable "training_image_tag" {\n  type = string\n}\n'
        'resource "terraform_data" "image" {\n  input = var.training_image_tag\n}\n'
    )
    with_mirror = tmp / "mirror.tfrc"
    with_mirror.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )
    registry_only = tmp / "registry.tfrc"  # unreachable here: any download would fail
    registry_only.write_text("provider_installation {\n  direct {}\n}\n")
    locked = {**env, "IPEACAST_NO_INSTALL": "1", "TF_CLI_CONFIG_FILE": str(registry_only)}

    refused = tf(locked, "plan", "dev")
    assert refused.returncode == 1
    assert "run 'make providers ENV=dev' before the AWS login" in refused.stderr

    installed = tf({**env, "TF_CLI_CONFIG_FILE": str(with_mirror)}, "providers", "dev")
    assert installed.returncode == 0, installed.stderr
    assert list((tmp / "build" / "providers").glob("registry.terraform.io/hashicorp/aws/*/*"))

    shutil.rmtree(tmp / "tfdata")  # a fresh init, as after the login
    planned = tf(locked, "plan", "dev")
    assert planned.returncode == 0, planned.stderr
    assert (tmp / "build" / "dev" / "exitcode").read_text().strip() == "2"
