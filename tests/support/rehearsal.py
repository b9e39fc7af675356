"""`make rehearse`: the merge-to-main deployment of dev, rehearsed offline on an emulated account.

    python -m support.rehearsal [--out .rehearsal] [--fault glue|lambda|training]
                                [--expect-faults glue,lambda,training]

Runs, in this order, against the emulator of `support.emulator` (moto server on 127.0.0.1):
  package                  `make package`                                (workflow job build)
  bootstrap                `terraform apply` of infra/bootstrap (local state, as documented)
  image, save-image, load-image, plan, plan-summary, stage, apply, ensure-staged, smoke
                           `make <verb> ENV=dev`, the steps of .github/workflows/deploy.yml's
                           build and dev jobs, read from the workflow (`workflow_verbs`); its
                           `make release` is replayed as the verbs of the Makefile's
                           RELEASE_VERBS (stage apply ensure-staged smoke), one by one
  second-plan              `make drift ENV=dev`: must report no changes
  iam-dump                 GetAccountAuthorizationDetails -> iam-authorization-details.json
  faults                   with --expect-faults: each fault injected, `make smoke` must fail at
                           the right state, alert on SNS and touch nothing outside smoke/
  destroy                  dev, then bootstrap (its state bucket emptied first, as an operator
                           would); then the emulator must hold none of our resources
`--fault X` injects fault X before the smoke run instead: the rehearsal then fails, naming the
failed state (it still destroys everything). The report is `<out>/report.json`; logs of every
command and of every Glue, Lambda and training run are under `<out>/logs/`.

Terraform works on a copy of each root under `<out>/work/` with an `emulator_override.tf`
(path-style S3, no credential or metadata checks) and, for dev, a `backend.hcl` for the S3
backend in the emulated state bucket; `infra/`, `dist/` and `src/` are linked, not copied, so what
is applied is this checkout.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from .emulator import ACCOUNT, REGION, Emulator

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
MAKEFILE = ROOT / "Makefile"
SERIES = "EIA366_PBRENT366"
ENV = "dev"
FAULTS = {  # fault -> the state that must fail
    "glue": "Transform",
    "lambda": "PrepareTraining",
    "training": "Train",
}
PROVIDER_OVERRIDE = """\
# Written by the deploy rehearsal (tests/support/rehearsal.py): the AWS provider talks to the
# emulator at AWS_ENDPOINT_URL, with path-style S3 and no credential or metadata checks.
provider "aws" {
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
"""
BACKEND_HCL = """\
# Written by the deploy rehearsal: the S3 backend in the emulated state bucket (AWS_ENDPOINT_URL).
use_path_style              = true
skip_credentials_validation = true
skip_metadata_api_check     = true
skip_region_validation      = true
skip_requesting_account_id  = true
"""


class RehearsalFailed(Exception):
    pass


LOGIN = "(aws-login)"


def recipe_verbs(makefile: Path = MAKEFILE) -> dict[str, list[str]]:
    """Make targets that only run other verbs, and those verbs in order: `release` is
    `RELEASE_VERBS` (its recipe runs `$(MAKE) <verb>` for each)."""
    match = re.search(r"^RELEASE_VERBS := (.+)$", makefile.read_text(), re.MULTILINE)
    if match is None:
        raise RehearsalFailed(f"no RELEASE_VERBS in {makefile}")
    return {"release": match.group(1).split()}


def workflow_verbs(path: Path = WORKFLOW, jobs: tuple[str, ...] = ("build", ENV)) -> list[str]:
    """The make verbs of the workflow's jobs, in order (`run: make a b` gives a, b)."""
    return [verb for verb in workflow_steps(path, jobs) if verb != LOGIN]


def workflow_steps(path: Path = WORKFLOW, jobs: tuple[str, ...] = ("build", ENV)) -> list[str]:
    """workflow_verbs, with LOGIN where a job assumes its AWS role (the aws-login action): the
    verbs after it run with IPEACAST_NO_INSTALL=1, as the action sets it in CI. A verb that
    only runs other verbs (`release`) is replaced by them, so each is a step of its own."""
    workflow = yaml.safe_load(path.read_text())
    recipes = recipe_verbs()
    verbs: list[str] = []
    for job in jobs:
        for step in workflow["jobs"][job]["steps"]:
            if step.get("uses", "").endswith("/actions/aws-login"):
                verbs.append(LOGIN)
            command = step.get("run", "")
            for line in command.splitlines():
                words = line.split()
                if words[:1] == ["make"]:
                    for word in words[1:]:
                        if "=" not in word and not word.startswith("-"):
                            verbs += recipes.get(word, [word])
    return verbs


class Rehearsal:
    def __init__(self, out: Path, fault: str | None, expect_faults: list[str]):
        self.out = out.resolve()
        self.fault = fault
        self.expect_faults = expect_faults
        self.work = self.out / "work"
        self.logs = self.out / "logs"
        self.report: dict[str, Any] = {
            "steps": [],
            "resources_created": None,
            "second_plan_exit_code": None,
            "second_plan_changes": [],
            "artifacts_uploaded": [],
            "execution_status": None,
            "state_durations_seconds": {},
            "prediction_rows": None,
            "forecast_schema_matches_catalog": None,
            "faults": {},
            "destroyed": False,
            "leftovers": [],
            "wall_seconds": None,
        }
        self.image_tag = f"rehearsal-{int(time.time())}"
        self.emulator: Emulator | None = None
        self.tf_env: dict[str, str] = {}

    # ------------------------------------------------------------------------------ plumbing

    def step(self, name: str, func, *args: Any) -> Any:
        started = time.monotonic()
        print(f"rehearse: {name} ...", flush=True)
        entry: dict[str, Any] = {"name": name}
        self.report["steps"].append(entry)
        try:
            return func(*args)
        except Exception as exc:
            entry["error"] = str(exc)
            raise
        finally:
            entry["seconds"] = round(time.monotonic() - started, 1)
            print(f"rehearse: {name} done in {entry['seconds']}s", flush=True)

    def sh(
        self,
        argv: list[str],
        log_name: str,
        env: dict[str, str] | None = None,
        check: bool = True,
        cwd: Path = ROOT,
    ) -> subprocess.CompletedProcess:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{log_name}.log"
        with log.open("a") as out:
            out.write(f"$ {' '.join(argv)}\n")
            out.flush()
            proc = subprocess.run(
                argv, cwd=cwd, env=env or self.tf_env, stdout=out, stderr=subprocess.STDOUT
            )
        if check and proc.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise RehearsalFailed(
                f"{' '.join(argv)} failed (exit {proc.returncode}); log {log}:\n{tail}"
            )
        return proc

    def make(self, verb: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.sh(
            ["make", "--no-print-directory", verb, f"ENV={ENV}"], f"make-{verb}", check=check
        )

    def terraform(self, root: Path, *args: str, log: str, check: bool = True):
        return self.sh(["terraform", f"-chdir={root}", *args], log, check=check)

    # ------------------------------------------------------------------------------- setup

    def prepare(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work)
        if self.logs.exists():
            shutil.rmtree(self.logs)
        for name in ("report.json", "iam-authorization-details.json", "stack.json"):
            (self.out / name).unlink(missing_ok=True)
        self.work.mkdir(parents=True)
        mirror = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
        if not (mirror / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            raise RehearsalFailed(
                f"no hashicorp/aws provider mirror at {mirror} (TF_PLUGIN_MIRROR)"
            )
        if shutil.which("terraform") is None:
            raise RehearsalFailed("terraform not found on PATH")
        rc = self.work / "terraform.rc"
        rc.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
            '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
            '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
        )
        # Terraform roots: copies of the .tf files, with infra/, src/ and dist/ linked.
        for name in ("infra", "src", "dist"):
            (self.work / name).symlink_to(ROOT / name)
        self.bootstrap_root = self.work / "bootstrap"
        self.bootstrap_root.mkdir()
        for tf in (ROOT / "infra" / "bootstrap").glob("*.tf"):
            shutil.copy2(tf, self.bootstrap_root)
        (self.bootstrap_root / "emulator_override.tf").write_text(PROVIDER_OVERRIDE)
        dev = self.work / "environments" / ENV
        dev.mkdir(parents=True)
        for f in (ROOT / "environments" / ENV).iterdir():
            if f.is_file() and f.suffix in {".tf", ".tfvars"}:
                shutil.copy2(f, dev)
        (dev / "emulator_override.tf").write_text(PROVIDER_OVERRIDE)
        (dev / "backend.hcl").write_text(BACKEND_HCL)
        self.dev_root = dev
        docker_dir = self.work / "docker"
        awsglue = Path(os.environ.get("REHEARSAL_AWSGLUE", ROOT / ".venv" / "awsglue"))
        if not (awsglue / "awsglue" / "utils.py").is_file():
            raise RehearsalFailed(f"awsglue (awsglue-dev) is not installed at {awsglue}")
        self.emulator = Emulator(self.work, awsglue, [SERIES], docker_dir / "registry")
        bin_dir = Path(__file__).resolve().parent / "bin"
        venv_bin = Path(sys.executable).parent
        self.tf_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_", "GITHUB_"))},
            **self.emulator.env(),
            "PATH": os.pathsep.join([str(bin_dir), str(venv_bin), os.environ["PATH"]]),
            "TF_CLI_CONFIG_FILE": str(rc),
            "TF_ENVIRONMENTS_DIR": str(self.work / "environments"),
            "TF_BUILD_DIR": str(self.work / ".tfbuild"),
            "TF_IN_AUTOMATION": "1",
            "IMAGE_TAG": self.image_tag,
            "IMAGE_TAR": str(self.work / "build" / "training-image.tar"),
            "REHEARSAL_DOCKER_DIR": str(docker_dir),
            "REHEARSAL_PYTHON": sys.executable,
            "SMOKE_TIMEOUT": "900",
        }
        self.tf_env.pop("GITHUB_STEP_SUMMARY", None)

    # ---------------------------------------------------------------------------- the steps

    def bootstrap(self) -> None:
        variables = [
            "-var=aws_region=us-east-1",
            "-var=github_owner=ipeacast",
            "-var=github_repo=ipeacast",
        ]
        self.bootstrap_vars = variables
        self.terraform(self.bootstrap_root, "init", "-input=false", log="bootstrap")
        self.terraform(
            self.bootstrap_root,
            "apply",
            "-input=false",
            "-auto-approve",
            *variables,
            log="bootstrap",
        )
        outputs = self.terraform_outputs(self.bootstrap_root)
        self.tf_env["TF_STATE_BUCKET"] = outputs["state_bucket"]["value"]

    def terraform_text(self, root: Path, *args: str) -> str:
        """What a read-only Terraform command prints (outputs, state list, show)."""
        proc = subprocess.run(
            ["terraform", f"-chdir={root}", *args],
            env=self.tf_env,
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout

    def terraform_outputs(self, root: Path) -> dict[str, Any]:
        return json.loads(self.terraform_text(root, "output", "-json"))

    def resources(self, root: Path) -> list[str]:
        """Managed resources in a root's state (data sources left out)."""
        lines = self.terraform_text(root, "state", "list").splitlines()
        return [line for line in lines if line and ".data." not in f".{line.split('[')[0]}"]

    def smoke(self, expect_state: str | None = None) -> dict[str, Any]:
        proc = self.make("smoke", check=expect_state is None and self.fault is None)
        execution = self.latest_execution()
        result = {"exit": proc.returncode, **execution}
        if proc.returncode != 0 and expect_state is None:
            log = (self.logs / "make-smoke.log").read_text(errors="replace")
            named = re.findall(r"failed state: .*", log)
            raise RehearsalFailed(f"the smoke run failed: {named[-1] if named else log[-2000:]}")
        return result

    def latest_execution(self) -> dict[str, Any]:
        sfn = self.emulator.client("stepfunctions")
        arn = self.outputs["state_machine_arn"]["value"]
        executions = sfn.list_executions(stateMachineArn=arn)["executions"]
        latest = max(executions, key=lambda e: e["startDate"])
        desc = sfn.describe_execution(executionArn=latest["executionArn"])
        events = sfn.get_execution_history(executionArn=latest["executionArn"], maxResults=1000)[
            "events"
        ]
        entered: dict[str, datetime.datetime] = {}
        durations: dict[str, float] = {}
        failed_state = None
        for event in events:
            if event["type"].endswith("StateEntered"):
                name = event["stateEnteredEventDetails"]["name"]
                entered[name] = event["timestamp"]
            elif event["type"].endswith("StateExited"):
                name = event["stateExitedEventDetails"]["name"]
                if name in entered:
                    durations[name] = round((event["timestamp"] - entered[name]).total_seconds(), 2)
                output = event["stateExitedEventDetails"].get("output") or "{}"
                failed = json.loads(output).get("failed") if output.startswith("{") else None
                if failed and failed_state is None:
                    failed_state = next(iter(failed))
        return {
            "execution": latest["executionArn"],
            "status": desc["status"],
            "durations": durations,
            "failed_state": failed_state,
            "output": desc.get("output"),
        }

    def check_forecast(self) -> None:
        """The smoke forecast exists under smoke/ and its columns and types are the catalog's."""
        import pyarrow.parquet as pq

        s3 = self.emulator.client("s3")
        bucket = self.outputs["lake_bucket"]["value"]
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix="smoke/predictions/"
            )
            for o in page.get("Contents", [])
            if o["Key"].endswith(".parquet")
        ]
        if not keys:
            raise RehearsalFailed("the smoke run published no forecast under smoke/predictions/")
        rows, schemas = 0, set()
        for key in keys:
            table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
            rows += table.num_rows
            schemas.add(tuple((f.name, str(f.type)) for f in table.schema))
        self.report["prediction_rows"] = rows
        glue = self.emulator.client("glue")
        database = self.outputs["glue_database"]["value"]
        table = glue.get_table(DatabaseName=database, Name="predictions")["Table"]
        catalog = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
        partitions = {c["Name"] for c in table.get("PartitionKeys", [])}
        hive = {
            "string": "string",
            "double": "double",
            "int32": "int",
            "int64": "bigint",
            "date32[day]": "date",
            "bool": "boolean",
            "large_string": "string",
        }
        problems = []
        for schema in schemas:
            data = [(name, hive.get(t, t)) for name, t in schema if name not in partitions]
            if data != catalog:
                problems.append(f"Parquet {data} != catalog {catalog}")
        self.report["forecast_schema_matches_catalog"] = not problems
        if problems:
            raise RehearsalFailed(
                "the forecast's Parquet schema differs from the Glue table: " + "; ".join(problems)
            )

    def second_plan(self) -> None:
        proc = self.make("drift", check=False)
        self.report["second_plan_exit_code"] = proc.returncode
        changes = json.loads((self.work / ".tfbuild" / ENV / "plan.json").read_text())
        self.report["second_plan_changes"] = [
            {"address": c["address"], "actions": c["change"]["actions"]}
            for c in changes.get("resource_changes", [])
            if c["change"]["actions"] not in (["no-op"], ["read"])
        ]
        if proc.returncode != 0:
            raise RehearsalFailed(
                f"the second plan is not empty (exit {proc.returncode}): "
                f"{self.report['second_plan_changes']} (see {self.logs / 'make-drift.log'})"
            )

    def iam_dump(self) -> None:
        iam = self.emulator.client("iam")
        details: dict[str, list] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
        }
        for page in iam.get_paginator("get_account_authorization_details").paginate():
            for key in details:
                details[key] += page.get(key, [])
        # moto leaves PolicyName and PolicyId out of `Policies` (AWS returns both, and IAM
        # scanners read them): completed from ListPolicies, matched by ARN.
        listed = {
            p["Arn"]: p
            for page in iam.get_paginator("list_policies").paginate(Scope="Local")
            for p in page["Policies"]
        }
        for policy in details["Policies"]:
            known = listed.get(policy["Arn"], {})
            for key in ("PolicyName", "PolicyId"):
                if key not in policy and key in known:
                    policy[key] = known[key]
        text = json.dumps(details, indent=1, default=_json_default)
        (self.out / "iam-authorization-details.json").write_text(text)

    def export_stack(self) -> None:
        """Dev's state as Terraform holds it (stack.json), for the tests' fixtures."""
        state = json.loads(self.terraform_text(self.dev_root, "show", "-json"))
        (self.out / "stack.json").write_text(json.dumps(state, indent=1))

    # ------------------------------------------------------------------------------- faults

    def inject(self, fault: str):
        """Break one deployed artifact; returns the function that repairs it."""
        lam = self.emulator.client("lambda")
        function = self.outputs["lambda_function_name"]["value"]
        if fault == "glue":
            glue = self.emulator.client("glue")
            job = glue.get_job(JobName=self.outputs["glue_job_names"]["value"]["transform"])["Job"]
            bucket, key = job["Command"]["ScriptLocation"][5:].split("/", 1)
            s3 = self.emulator.client("s3")
            original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            broken = b'raise RuntimeError("rehearsed fault: the transform script is broken")\n'
            s3.put_object(Bucket=bucket, Key=key, Body=broken)
            return lambda: s3.put_object(Bucket=bucket, Key=key, Body=original)
        if fault == "lambda":
            original = (ROOT / "dist" / "lambda.zip").read_bytes()
            buf = io.BytesIO()
            with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(buf, "w") as dst:
                for item in src.infolist():
                    data = src.read(item)
                    if item.filename == "handler.py":
                        data += (
                            b"\n\ndef handler(event, context):\n    raise RuntimeError("
                            b'"rehearsed fault: the handler raises")\n'
                        )
                    dst.writestr(item, data)
            lam.update_function_code(FunctionName=function, ZipFile=buf.getvalue())
            return lambda: lam.update_function_code(FunctionName=function, ZipFile=original)
        if fault == "training":
            context = self.work / "broken-image"
            if context.exists():
                shutil.rmtree(context)
            context.mkdir()
            for name in ("Dockerfile", "pyproject.toml"):
                shutil.copy2(ROOT / name, context)
            shutil.copytree(ROOT / "src", context / "src")
            shutil.copytree(ROOT / "docker", context / "docker")
            (context / "src" / "ml" / "train.py").write_text(
                "import sys\nsys.exit('rehearsed fault: the training image is broken')\n"
            )
            repo = self.outputs["ecr_repository_url"]["value"]
            tag = f"{self.image_tag}-broken"
            env = self.tf_env
            docker = str(Path(__file__).resolve().parent / "bin" / "docker")
            self.sh([docker, "build", "--tag", f"{repo}:{tag}", str(context)], "fault-image", env)
            password = (
                base64.b64decode(
                    self.emulator.client("ecr").get_authorization_token()["authorizationData"][0][
                        "authorizationToken"
                    ]
                )
                .decode()
                .split(":", 1)[1]
            )
            subprocess.run(
                [docker, "login", "--username", "AWS", "--password-stdin", repo.split("/")[0]],
                input=password.encode(),
                env=env,
                check=True,
                capture_output=True,
            )
            self.sh([docker, "push", f"{repo}:{tag}"], "fault-image", env)
            config = lam.get_function_configuration(FunctionName=function)
            variables = config["Environment"]["Variables"]
            broken = {**variables, "TRAINING_IMAGE_URI": f"{repo}:{tag}"}
            lam.update_function_configuration(
                FunctionName=function, Environment={"Variables": broken}
            )
            return lambda: lam.update_function_configuration(
                FunctionName=function, Environment={"Variables": variables}
            )
        raise ValueError(f"unknown fault {fault!r} (glue, lambda, training)")

    def lake_outside_smoke(self) -> dict[str, str]:
        s3 = self.emulator.client("s3")
        bucket = self.outputs["lake_bucket"]["value"]
        return {
            o["Key"]: o["ETag"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
            if not o["Key"].startswith("smoke/")
        }

    def alerts_queue(self) -> str:
        sqs, sns = self.emulator.client("sqs"), self.emulator.client("sns")
        url = sqs.create_queue(QueueName="rehearsal-alerts")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        topic = next(
            t["TopicArn"]
            for t in sns.list_topics()["Topics"]
            if t["TopicArn"].endswith("-failures")
        )
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        return url

    def alerts(self, url: str) -> list[dict]:
        sqs = self.emulator.client("sqs")
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    def rehearse_fault(self, fault: str, queue: str) -> dict[str, Any]:
        repair = self.inject(fault)
        before = self.lake_outside_smoke()
        try:
            result = self.smoke(expect_state=FAULTS[fault])
            after = self.lake_outside_smoke()  # before the repair rewrites the broken artifact
        finally:
            repair()
        log = (self.logs / "make-smoke.log").read_text(errors="replace")
        named = re.findall(r"failed state: (\w+)", log)
        alerts = self.alerts(queue)
        outcome = {
            "smoke_exit": result["exit"],
            "failed_state": result["failed_state"],
            "named_in_smoke_output": named[-1] if named else None,
            "alerted": [
                a.get("execution") == result["execution"] and FAULTS[fault] in a.get("failed", {})
                for a in alerts
            ].count(True)
            == 1,
            "untouched_outside_smoke": after == before,
            "changed_outside_smoke": sorted(
                k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
            ),
        }
        outcome["ok"] = (
            result["exit"] != 0
            and outcome["failed_state"] == FAULTS[fault]
            and outcome["named_in_smoke_output"] == FAULTS[fault]
            and outcome["alerted"]
            and outcome["untouched_outside_smoke"]
        )
        return outcome

    # ------------------------------------------------------------------------------ destroy

    def destroy(self) -> None:
        if (self.dev_root / ".terraform").exists():
            self.terraform(
                self.dev_root,
                "destroy",
                "-input=false",
                "-auto-approve",
                f"-var=training_image_tag={self.image_tag}",
                log="destroy",
            )
        sqs = self.emulator.client("sqs")  # the rehearsal's own alert queue
        for url in sqs.list_queues().get("QueueUrls", []):
            sqs.delete_queue(QueueUrl=url)
        state_bucket = self.tf_env.get("TF_STATE_BUCKET")
        if state_bucket:
            s3 = self.emulator.client("s3")
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=state_bucket)
            for page in pages:
                objects = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if objects:
                    s3.delete_objects(Bucket=state_bucket, Delete={"Objects": objects})
        if (self.bootstrap_root / ".terraform").exists():
            self.terraform(
                self.bootstrap_root,
                "destroy",
                "-input=false",
                "-auto-approve",
                *self.bootstrap_vars,
                log="destroy",
            )
        leftovers = self.leftovers()
        self.report["leftovers"] = leftovers
        self.report["destroyed"] = not leftovers
        if leftovers:
            raise RehearsalFailed(f"resources left in the emulator after destroy: {leftovers}")

    def leftovers(self) -> list[str]:
        c = self.emulator.client
        found = [f"s3:{b['Name']}" for b in c("s3").list_buckets()["Buckets"]]
        found += [f"iam-role:{r['RoleName']}" for r in c("iam").list_roles()["Roles"]]
        found += [
            f"iam-policy:{p['PolicyName']}"
            for p in c("iam").list_policies(Scope="Local")["Policies"]
        ]
        found += [
            f"oidc:{p['Arn']}"
            for p in c("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
        ]
        found += [f"glue-job:{j}" for j in c("glue").list_jobs()["JobNames"]]
        found += [f"glue-db:{d['Name']}" for d in c("glue").get_databases()["DatabaseList"]]
        found += [f"lambda:{f['FunctionName']}" for f in c("lambda").list_functions()["Functions"]]
        found += [
            f"sfn:{m['name']}" for m in c("stepfunctions").list_state_machines()["stateMachines"]
        ]
        found += [f"sns:{t['TopicArn']}" for t in c("sns").list_topics()["Topics"]]
        found += [
            f"ecr:{r['repositoryName']}" for r in c("ecr").describe_repositories()["repositories"]
        ]
        found += [f"logs:{g['logGroupName']}" for g in c("logs").describe_log_groups()["logGroups"]]
        found += [f"schedule:{s['Name']}" for s in c("scheduler").list_schedules()["Schedules"]]
        kms = c("kms")
        for key in kms.list_keys()["Keys"]:
            meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] != "PendingDeletion":
                found.append(f"kms:{key['KeyId']}")
        s3control = boto3.client(  # through the emulator's account-host proxy
            "s3control",
            endpoint_url=self.emulator.endpoint,
            region_name=REGION,
            config=Config(proxies={"http": self.emulator.host_proxy.url}),
        )
        try:
            s3control.get_public_access_block(AccountId=ACCOUNT)
            found.append("s3-account-public-access-block")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchPublicAccessBlockConfiguration":
                raise
        return found

    # --------------------------------------------------------------------------------- run

    def run(self) -> int:
        started = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        failure: str | None = None
        verbs = workflow_steps()
        self.report["workflow_verbs"] = [verb for verb in verbs if verb != LOGIN]
        try:
            self.prepare()
            with self.emulator:
                try:
                    self.steps(verbs)
                except RehearsalFailed as exc:
                    failure = str(exc)
                except Exception as exc:  # a defect of the harness: still destroy and report
                    failure = f"the rehearsal crashed: {type(exc).__name__}: {exc}"
                    traceback.print_exc()
                finally:
                    try:
                        self.step("destroy", self.destroy)
                    except RehearsalFailed as exc:
                        failure = failure or str(exc)
                self.report["runs"] = self.emulator.runtime.runs
        except RehearsalFailed as exc:
            failure = str(exc)
        self.report["wall_seconds"] = round(time.monotonic() - started, 1)
        self.report["failure"] = failure
        (self.out / "report.json").write_text(json.dumps(self.report, indent=1, default=str))
        if failure:
            print(f"rehearse: FAILED: {failure}", file=sys.stderr)
            return 1
        print(f"rehearse: passed in {self.report['wall_seconds']}s; report {self.out}/report.json")
        return 0

    def steps(self, verbs: list[str]) -> None:
        self.step("package", self.make, "package")
        self.step("bootstrap", self.bootstrap)
        bootstrap_resources = self.resources(self.bootstrap_root)
        for verb in verbs:
            if verb == "package":
                continue  # done above, before bootstrap (the build job needs no account)
            if verb == LOGIN:
                # What the login action does in CI once the role is assumed: from here on no
                # make verb may install anything (the Makefile and tf.sh refuse to).
                self.tf_env["IPEACAST_NO_INSTALL"] = "1"
                self.report["no_install_after"] = [s["name"] for s in self.report["steps"]][-1]
                continue
            if verb == "smoke":
                self.outputs = self.terraform_outputs(self.dev_root)
                queue = self.alerts_queue()
                if self.fault:
                    repair = self.inject(self.fault)
                    result = self.step("smoke", self.smoke, FAULTS[self.fault])
                    repair()
                    self.report["execution_status"] = result["status"]
                    self.report["state_durations_seconds"] = result["durations"]
                    log = (self.logs / "make-smoke.log").read_text(errors="replace")
                    named = re.findall(r"failed state: .*", log)
                    alerts = [
                        a for a in self.alerts(queue) if a.get("execution") == result["execution"]
                    ]
                    raise RehearsalFailed(
                        f"smoke run failed as injected ({self.fault}) at state "
                        f"{result['failed_state']}; make smoke said: "
                        f"{named[-1][:300] if named else '(nothing)'}; "
                        f"{len(alerts)} alert(s) on the failure topic"
                    )
                result = self.step("smoke", self.smoke)
                self.report["execution_status"] = result["status"]
                self.report["state_durations_seconds"] = result["durations"]
                continue
            self.step(verb, self.make, verb)
            if verb == "apply":
                dev_resources = self.resources(self.dev_root)
                self.report["resources_created"] = len(bootstrap_resources) + len(dev_resources)
                self.report["resources"] = {
                    "bootstrap": len(bootstrap_resources),
                    ENV: len(dev_resources),
                }
        manifest = self.work / ".tfbuild" / ENV / "artifacts.json"
        if manifest.exists():
            self.report["artifacts_uploaded"] = sorted(
                a["key"] for a in json.loads(manifest.read_text())["artifacts"].values()
            )
        self.step("check-forecast", self.check_forecast)
        self.step("second-plan", self.second_plan)
        self.step("iam-dump", self.iam_dump)
        self.step("export-stack", self.export_stack)
        for fault in self.expect_faults:
            outcome = self.step(f"fault-{fault}", self.rehearse_fault, fault, queue)
            self.report["faults"][fault] = outcome
            if not outcome["ok"]:
                raise RehearsalFailed(f"fault {fault} was not handled as expected: {outcome}")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="rehearse", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / ".rehearsal"))
    p.add_argument("--fault", choices=sorted(FAULTS), help="inject this fault into the smoke run")
    p.add_argument(
        "--expect-faults",
        default="",
        help="comma-separated faults to rehearse after the smoke run (each must fail)",
    )
    args = p.parse_args(argv)
    expect = [f for f in args.expect_faults.split(",") if f]
    unknown = sorted(set(expect) - set(FAULTS))
    if unknown:
        p.error(f"unknown faults {unknown} (choose from {sorted(FAULTS)})")
    return Rehearsal(Path(args.out), args.fault, expect).run()


if __name__ == "__main__":
    sys.exit(main())
