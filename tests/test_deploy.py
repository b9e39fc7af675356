"""Deploy helpers against a moto server on 127.0.0.1 (the same HTTP path boto3 takes on AWS)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import requests
from moto.server import ThreadedMotoServer

from ipeacast import cli
from ipeacast.core.errors import ConfigError
from ipeacast.deploy import artifacts, clients, executions, image, verbs

ROOT = Path(__file__).resolve().parents[1]
# The console script make runs (`$(BIN)/ipeacast deploy <verb> $(ENV)`).
IPEACAST = str(Path(sys.executable).parent / "ipeacast")
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/ipeacast-test-sfn"


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    yield url
    server.stop()


@pytest.fixture
def aws(moto_url, monkeypatch, tmp_path):
    """Fresh moto state and an environment that points boto3 at it (and nowhere else)."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    requests.post(
        f"{moto_url}/moto-api/config",
        json={"stepfunctions": {"execute_state_machine": True}},
        timeout=10,
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_url


@pytest.fixture
def bucket(aws):
    clients.client("s3").create_bucket(Bucket="ipeacast-dev-lake")
    return "ipeacast-dev-lake"


@pytest.fixture
def dist(tmp_path) -> Path:
    root = tmp_path / "dist"
    (root / "glue").mkdir(parents=True)
    (root / "ipeacast-0.1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 wheel bytes")
    (root / "lambda.zip").write_bytes(b"PK\x03\x04 lambda bytes")
    (root / "glue" / "extract.py").write_text("print('extract')\n")
    (root / ".DS_Store").write_bytes(b"junk")
    return root


# --------------------------------------------------------------------------- artifacts


def test_artifact_keys_are_content_addressed_and_keep_the_file_name(dist):
    arts = {a.name: a for a in artifacts.collect_artifacts(dist)}

    assert sorted(arts) == ["extract.py", "ipeacast-0.1.0-py3-none-any.whl", "lambda.zip"]
    wheel = arts["ipeacast-0.1.0-py3-none-any.whl"]
    assert wheel.sha256 == artifacts.sha256_file(dist / wheel.name)
    assert wheel.key == f"artifacts/{wheel.sha256}/ipeacast-0.1.0-py3-none-any.whl"


def test_an_artifact_key_refuses_a_digest_with_a_trailing_newline():
    digest = "a" * 64
    assert artifacts.artifact_key("x.whl", digest) == f"artifacts/{digest}/x.whl"

    with pytest.raises(ConfigError, match="not a sha256 hex digest"):
        artifacts.artifact_key("x.whl", digest + "\n")


def test_upload_puts_every_artifact_under_its_sha256_key(bucket, dist):
    report = artifacts.upload_artifacts(dist, bucket)

    s3 = clients.client("s3")
    assert [a.status for a in report.artifacts] == ["uploaded"] * 3
    for art in report.artifacts:
        body = s3.get_object(Bucket=bucket, Key=art.key)["Body"].read()
        assert body == Path(art.path).read_bytes()
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert all(obj["Key"].startswith("artifacts/") for obj in listed)
    assert len(listed) == 3


def test_second_upload_changes_nothing(bucket, dist):
    artifacts.upload_artifacts(dist, bucket)
    s3 = clients.client("s3")
    before = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}

    report = artifacts.upload_artifacts(dist, bucket)

    assert report.uploaded == []
    assert len(report.unchanged) == 3
    after = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert after == before


def _record_s3_requests(s3) -> list[tuple[str, dict[str, str]]]:
    """(operation, headers) of every request the client sends, as it goes on the wire."""
    sent: list[tuple[str, dict[str, str]]] = []

    def record(request, event_name, **_):
        headers = {
            k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
        }
        sent.append((event_name.rsplit(".", 1)[1], headers))

    s3.meta.events.register("before-send.s3", record)
    return sent


def test_every_s3_call_names_the_callers_account_as_the_bucket_owner(bucket, dist):
    s3 = clients.client("s3")
    sent = _record_s3_requests(s3)

    artifacts.upload_artifacts(dist, bucket, s3=s3)
    artifacts.upload_artifacts(dist, bucket, s3=s3)

    assert {op for op, _ in sent} == {"HeadBucket", "HeadObject", "PutObject"}
    owners = {headers.get("x-amz-expected-bucket-owner") for _, headers in sent}
    assert owners == {"123456789012"}  # moto's account, from sts:GetCallerIdentity


def test_upload_sends_the_local_sha256_so_s3_verifies_and_keeps_it(bucket, dist):
    s3 = clients.client("s3")
    sent = _record_s3_requests(s3)

    report = artifacts.upload_artifacts(dist, bucket, s3=s3)

    puts = {h["x-amz-checksum-sha256"] for op, h in sent if op == "PutObject"}
    assert puts == {a.checksum_b64 for a in report.artifacts}
    assert all(h.get("x-amz-checksum-mode") == "ENABLED" for op, h in sent if op == "HeadObject")
    for art in report.artifacts:
        head = s3.head_object(Bucket=bucket, Key=art.key, ChecksumMode="ENABLED")
        local = base64.b64encode(hashlib.sha256(Path(art.path).read_bytes()).digest()).decode()
        assert head["ChecksumSHA256"] == local == art.checksum_b64
        assert "sha256" not in head.get("Metadata", {})  # S3's checksum is the record


def test_a_second_upload_writes_nothing(bucket, dist):
    s3 = clients.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    artifacts.upload_artifacts(dist, bucket, s3=s3)
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    sent = _record_s3_requests(s3)

    report = artifacts.upload_artifacts(dist, bucket, s3=s3)

    assert [op for op, _ in sent if op != "HeadObject" and op != "HeadBucket"] == []
    assert len(report.unchanged) == 3
    assert s3.list_object_versions(Bucket=bucket)["Versions"] == versions


def test_an_object_altered_under_its_key_is_an_error_and_stays_as_it_is(bucket, dist):
    s3 = clients.client("s3")
    wheel = next(
        a for a in artifacts.upload_artifacts(dist, bucket).artifacts if a.name.endswith("whl")
    )
    # Same key, other bytes, with the user metadata the previous version trusted.
    s3.put_object(
        Bucket=bucket,
        Key=wheel.key,
        Body=b"PK\x03\x04 not the wheel",
        ChecksumAlgorithm="SHA256",
        Metadata={"sha256": wheel.sha256},
    )

    with pytest.raises(clients.DeployError) as failure:
        artifacts.upload_artifacts(dist, bucket)

    assert f"s3://{bucket}/{wheel.key}" in str(failure.value)
    assert "not overwritten" in str(failure.value)
    assert s3.get_object(Bucket=bucket, Key=wheel.key)["Body"].read() == b"PK\x03\x04 not the wheel"


def test_an_object_without_a_sha256_checksum_is_an_error_naming_the_key(bucket, dist):
    art = next(a for a in artifacts.collect_artifacts(dist) if a.name == "lambda.zip")
    # The right bytes, written without a SHA-256 checksum: nothing proves what they are.
    clients.client("s3").put_object(
        Bucket=bucket, Key=art.key, Body=Path(art.path).read_bytes(), ChecksumAlgorithm="CRC32"
    )

    with pytest.raises(clients.DeployError, match=rf"s3://{bucket}/{art.key} .*checksum \(none\)"):
        artifacts.upload_artifacts(dist, bucket)


def test_the_cli_reports_an_altered_artifact_in_one_line(bucket, dist, capsys):
    art = next(a for a in artifacts.collect_artifacts(dist) if a.name == "extract.py")
    clients.client("s3").put_object(Bucket=bucket, Key=art.key, Body=b"print('other')\n")

    code = cli.main(["deploy", "upload-artifacts", "--bucket", bucket, "--dist", str(dist)])

    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and art.key in err


def test_changed_file_gets_a_new_key_and_the_old_one_stays_for_rollback(bucket, dist):
    first = {a.name: a.key for a in artifacts.upload_artifacts(dist, bucket).artifacts}
    (dist / "lambda.zip").write_bytes(b"PK\x03\x04 new lambda bytes")

    report = artifacts.upload_artifacts(dist, bucket)

    assert [a.name for a in report.uploaded] == ["lambda.zip"]
    assert {a.name for a in report.unchanged} == {"extract.py", "ipeacast-0.1.0-py3-none-any.whl"}
    new_key = next(a.key for a in report.artifacts if a.name == "lambda.zip")
    assert new_key != first["lambda.zip"]
    keys = {o["Key"] for o in clients.client("s3").list_objects_v2(Bucket=bucket)["Contents"]}
    assert {first["lambda.zip"], new_key} <= keys


def test_dry_run_reports_and_uploads_nothing(bucket, dist):
    report = artifacts.upload_artifacts(dist, bucket, dry_run=True)

    assert [a.status for a in report.artifacts] == ["planned"] * 3
    assert "Contents" not in clients.client("s3").list_objects_v2(Bucket=bucket)


def test_cli_upload_reports_changes_and_writes_a_manifest(bucket, dist, tmp_path, capsys):
    manifest = tmp_path / "out" / "artifacts.json"
    argv = ["deploy", "upload-artifacts", "--bucket", bucket, "--dist", str(dist)]

    assert cli.main([*argv, "--manifest", str(manifest)]) == 0
    first = capsys.readouterr().out
    assert cli.main(argv) == 0
    second = capsys.readouterr().out

    assert "3 uploaded, 0 unchanged" in first
    assert "0 uploaded, 3 unchanged" in second
    data = json.loads(manifest.read_text())
    wheel = data["artifacts"]["ipeacast-0.1.0-py3-none-any.whl"]
    assert wheel["uri"] == f"s3://{bucket}/{wheel['key']}"
    assert wheel["key"] == f"artifacts/{wheel['sha256']}/ipeacast-0.1.0-py3-none-any.whl"


def test_missing_bucket_is_a_config_error_naming_it(aws, dist, capsys):
    with pytest.raises(ConfigError, match="bucket 'no-such-bucket' does not exist"):
        artifacts.upload_artifacts(dist, "no-such-bucket")

    code = cli.main(
        ["deploy", "upload-artifacts", "--bucket", "no-such-bucket", "--dist", str(dist)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "no-such-bucket" in err


def test_bucket_in_another_region_names_both_regions(aws, dist):
    clients.client("s3", "eu-west-1").create_bucket(
        Bucket="lake-in-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )

    with pytest.raises(ConfigError, match="is in region eu-west-1, not us-east-1"):
        artifacts.upload_artifacts(dist, "lake-in-eu")


def test_no_credentials_is_a_config_error(aws, dist, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    with pytest.raises(ConfigError, match="no AWS credentials"):
        artifacts.upload_artifacts(dist, "ipeacast-dev-lake")


def test_no_region_is_a_config_error(aws, monkeypatch):
    monkeypatch.delenv("AWS_REGION")

    with pytest.raises(ConfigError, match="no AWS region configured for stepfunctions"):
        clients.client("stepfunctions")


def test_missing_or_empty_dist_tells_to_package(tmp_path):
    with pytest.raises(ConfigError, match="make package"):
        artifacts.collect_artifacts(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="is empty"):
        artifacts.collect_artifacts(tmp_path / "empty")


def test_bucket_given_as_uri_is_rejected(dist):
    with pytest.raises(ConfigError, match="bare bucket name"):
        artifacts.upload_artifacts(dist, "s3://ipeacast-dev-lake")


# --------------------------------------------------------------------------- image


def _push_image(repository: str, tag: str) -> str:
    ecr = clients.client("ecr")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7,
            "digest": "sha256:" + "c" * 64,
        },
        "layers": [],
    }
    pushed = ecr.put_image(
        repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag
    )
    return pushed["image"]["imageId"]["imageDigest"]


def test_image_uri_for_an_existing_tag(aws, capsys):
    repo = clients.client("ecr").create_repository(repositoryName="ipeacast-dev-training")
    uri = repo["repository"]["repositoryUri"]
    sha = "0123456789abcdef0123456789abcdef01234567"
    digest = _push_image("ipeacast-dev-training", sha)

    assert image.image_uri("ipeacast-dev-training", sha) == f"{uri}:{sha}"
    assert image.image_uri(uri, sha, by_digest=True) == f"{uri}@{digest}"
    assert cli.main(["deploy", "image-uri", "--repository", uri, "--tag", sha]) == 0
    assert capsys.readouterr().out.strip() == f"{uri}:{sha}"


def test_missing_image_tag_fails_clearly(aws, capsys):
    clients.client("ecr").create_repository(repositoryName="ipeacast-dev-training")
    _push_image("ipeacast-dev-training", "a" * 40)

    with pytest.raises(clients.DeployError, match=r"image tag 'b+' not found in ECR repository"):
        image.image_uri("ipeacast-dev-training", "b" * 40)
    assert (
        cli.main(["deploy", "image-uri", "--repository", "ipeacast-dev-training", "--tag", "x1"])
        == 1
    )
    assert "image tag 'x1' not found" in capsys.readouterr().err


def test_missing_repository_and_wrong_region_are_config_errors(aws):
    with pytest.raises(ConfigError, match="ECR repository 'nope' does not exist"):
        image.image_uri("nope", "a" * 40)
    with pytest.raises(ConfigError, match="is in region eu-west-1, not us-east-1"):
        image.image_uri("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ipeacast", "a" * 40)


# --------------------------------------------------------------------------- executions


def _machine(definition: dict, name: str = "ipeacast-test-pipeline") -> str:
    sfn = clients.client("stepfunctions")
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def test_failure_from_history_names_the_state_that_failed_after_retries(aws):
    # A real moto execution: the Lambda task fails (no such function), is caught, then Fail.
    arn = _machine(
        {
            "StartAt": "Prepare",
            "States": {
                "Prepare": {"Type": "Pass", "Next": "Invoke"},
                "Invoke": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "missing-function", "Payload.$": "$"},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                    "End": True,
                },
                "Failed": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "see the alert"},
            },
        }
    )
    sfn = clients.client("stepfunctions")
    execution = executions.start_execution(
        arn, executions.smoke_input(run_id="smoke-history"), sfn=sfn
    )

    result = executions.wait_for_execution(sfn, execution, timeout=30, poll=0.1)

    assert result.status == "FAILED"
    assert result.failure.state == "Invoke"
    assert result.failure.error == "States.Runtime"
    assert "missing-function" in result.failure.cause


def test_failure_from_history_without_a_task_failure_uses_the_execution_error():
    events = [
        {"id": 1, "type": "ExecutionStarted"},
        {"id": 2, "type": "ChoiceStateEntered", "stateEnteredEventDetails": {"name": "Check"}},
        {"id": 3, "type": "FailStateEntered", "stateEnteredEventDetails": {"name": "NoData"}},
        {
            "id": 4,
            "type": "ExecutionFailed",
            "executionFailedEventDetails": {"error": "NoData", "cause": "empty series"},
        },
    ]

    assert executions.failure_from_history(events) == executions.Failure(
        "NoData", "NoData", "empty series"
    )


def test_wait_times_out_on_a_running_execution(aws):
    arn = _machine(
        {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}
    )
    sfn = clients.client("stepfunctions")
    execution = executions.start_execution(arn, {"series": "X", "run_id": "long"}, sfn=sfn)

    started = time.monotonic()
    with pytest.raises(clients.DeployError, match="still RUNNING after 1s"):
        executions.wait_for_execution(sfn, execution, timeout=1, poll=0.2)
    assert time.monotonic() - started < 10
    sfn.stop_execution(executionArn=execution)


def test_unknown_state_machine_name_is_a_config_error(aws):
    with pytest.raises(ConfigError, match="state machine 'ipeacast-nope-pipeline' not found"):
        executions.start_execution("ipeacast-nope-pipeline", {"run_id": "x"})


def test_execution_name_is_valid_for_step_functions():
    assert executions.execution_name("smoke-20260101-120000") == "smoke-20260101-120000"
    assert executions.execution_name("a b:c" + "x" * 100) == ("a-b-c" + "x" * 100)[:80]
    # started executions get a unique suffix, so the same run id can be run again
    first, again = (executions.execution_name("r" * 100, unique=True) for _ in range(2))
    assert first != again and len(first) <= 80 and first.startswith("r" * 50)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", first)


def test_smoke_input_writes_under_smoke_with_a_smoke_run_id():
    payload = executions.smoke_input("S1", date(2026, 11, 26), "0a1b2c3-20261126")
    assert payload == {
        "series": "S1",
        "run_id": "smoke-0a1b2c3-20261126",
        "run_date": "2026-11-26",
        "lake_prefix": "smoke",
    }
    assert executions.smoke_input(run_id="smoke-x")["run_id"] == "smoke-x"
    assert executions.smoke_input()["run_id"].startswith("smoke-")
    with pytest.raises(ConfigError, match="lake_prefix"):
        executions.smoke_input(extra={"lake_prefix": ""})
    # a normal run writes the real partitions: the run's lake prefix is "" (the lake itself)
    assert executions.run_input("S1")["lake_prefix"] == ""
    with pytest.raises(ConfigError, match="lake_prefix"):
        executions.run_input("S1", extra={"lake_prefix": "../prod"})


# --------------------------------------------------------------------------- smoke, real definition
# The stack Terraform applied in the deploy rehearsal (support.stack), recreated in the moto
# server of this module: the definition as Terraform rendered it, the Lambda from dist/lambda.zip
# run in-process; support/moto_patches.py holds the integration patches. The server runs in a
# thread of this process, so the patches apply to it; MOTO_PORT points the interpreter's own
# service clients (Glue, Lambda, SageMaker, SNS) at this server.


@pytest.fixture
def pipeline(aws, monkeypatch, terraform_stack):
    from support import moto_patches

    monkeypatch.setenv("MOTO_PORT", aws.rsplit(":", 1)[1])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)  # as Lambda sets it for the handler
    root = Path(__file__).resolve().parents[1]
    with moto_patches.patched() as patched:
        terraform_stack.create(clients.client, (root / "dist" / "lambda.zip").read_bytes())
        patched.stack = terraform_stack
        yield patched


def _cli_args(stack, verb: str, run_id: str, *extra: str) -> list[str]:
    name = stack.machine["name"]
    common = ["--run-date", "2026-11-26", "--timeout", "120", "--poll", "0.2"]
    return ["deploy", verb, "--state-machine", name, "--run-id", run_id, *common, *extra]


def test_smoke_command_passes_on_a_successful_execution(pipeline, capsys):
    from test_state_machine import _write_model_artifact

    pipeline.on_training = _write_model_artifact

    code = cli.main(_cli_args(pipeline.stack, "smoke", "smoke-0a1b2c3-20261126"))

    out = capsys.readouterr().out
    assert code == 0, out
    assert "status:    SUCCEEDED" in out
    assert "smoke test passed" in out
    assert '"run_id": "smoke-0a1b2c3-20261126"' in out
    assert '"lake_prefix": "smoke"' in out
    assert [e["action"] for e in pipeline.lambda_events] == ["prepare_training", "publish"]
    assert {e["lake_prefix"] for e in pipeline.lambda_events} == {"smoke"}
    glue = clients.client("glue")
    for job in pipeline.stack.glue_jobs.values():
        (run,) = glue.get_job_runs(JobName=job)["JobRuns"]
        assert run["Arguments"]["--lake_prefix"] == "smoke"
        assert run["Arguments"]["--run_id"] == "smoke-0a1b2c3-20261126"
    (request,) = pipeline.training_requests
    assert "-smoke-0a1b2c3-20261126-" in request["TrainingJobName"]
    channel = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel.startswith(f"s3://{pipeline.stack.bucket}/smoke/final/")
    listed = clients.client("s3").list_objects_v2(Bucket=pipeline.stack.bucket)["Contents"]
    keys = [o["Key"] for o in listed]
    assert keys and all(k.startswith("smoke/") for k in keys), keys


def test_smoke_command_fails_with_the_failed_state_and_cause(pipeline, capsys):
    pipeline.on_training = lambda request: "AlgorithmError: champion lost to the baseline"

    code = cli.main(_cli_args(pipeline.stack, "smoke", "smoke-0a1b2c3-20261126"))

    captured = capsys.readouterr()
    assert code == 1
    assert "status:    FAILED" in captured.out
    assert "failed state: Train; error: States.TaskFailed" in captured.err
    assert "champion lost to the baseline" in captured.err
    assert "smoke test FAILED" in captured.err
    assert [e["action"] for e in pipeline.lambda_events] == ["prepare_training"]


def test_run_wait_reports_the_execution_on_the_real_lake(pipeline, capsys):
    from test_state_machine import _write_model_artifact

    pipeline.on_training = _write_model_artifact

    code = cli.main(_cli_args(pipeline.stack, "run", "20261126-101500", "--wait"))

    out = capsys.readouterr().out
    assert code == 0, out
    assert "status:    SUCCEEDED" in out and "smoke test" not in out
    assert {e["lake_prefix"] for e in pipeline.lambda_events} == {""}  # not a smoke run


def test_run_wait_fails_with_the_failed_state_and_no_smoke_wording(pipeline, capsys):
    pipeline.on_training = lambda request: "AlgorithmError: champion lost to the baseline"

    code = cli.main(_cli_args(pipeline.stack, "run", "20261126-101500", "--wait"))

    captured = capsys.readouterr()
    assert code == 1
    assert "failed state: Train; error: States.TaskFailed" in captured.err
    assert "smoke test" not in captured.err


def test_the_upload_artifacts_verb_uploads_to_the_bucket_it_is_given(bucket, dist, tmp_path):
    # `ipeacast deploy upload-artifacts ENV` is what `make upload-artifacts ENV=...` runs.
    env = {
        **os.environ,
        "LAKE_BUCKET": bucket,
        "DIST": str(dist),
        "TF_BUILD_DIR": str(tmp_path / "build"),
    }

    first = subprocess.run(
        [IPEACAST, "deploy", "upload-artifacts", "dev"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    again = subprocess.run(
        [IPEACAST, "deploy", "upload-artifacts", "dev"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert first.returncode == 0, first.stderr
    assert "3 uploaded, 0 unchanged" in first.stdout
    assert "0 uploaded, 3 unchanged" in again.stdout
    manifest = json.loads((tmp_path / "build" / "dev" / "artifacts.json").read_text())
    assert manifest["bucket"] == bucket
    assert set(manifest["artifacts"]) == {
        "extract.py",
        "ipeacast-0.1.0-py3-none-any.whl",
        "lambda.zip",
    }


def test_stage_reads_the_outputs_once_and_ensure_staged_redoes_only_what_stage_could_not(
    bucket, dist, tmp_path
):
    # The deploy jobs run `make stage`, `make apply`, `make ensure-staged` (deploy.yml): against
    # a real Terraform root whose outputs name a moto bucket and ECR repository.
    if shutil.which("terraform") is None:
        pytest.fail("terraform is required for the stage tests")
    repo = clients.client("ecr").create_repository(repositoryName="ipeacast-dev-training")
    repo_url = repo["repository"]["repositoryUri"]
    tag = "0123456789abcdef0123456789abcdef01234567"
    _push_image("ipeacast-dev-training", tag)
    tf_root = tmp_path / "environments" / "dev"
    tf_root.mkdir(parents=True)
    (tf_root / "main.tf").write_text(
        f'output "lake_bucket" {{\n  value = "{bucket}"\n}}\n'
        f'output "ecr_repository_url" {{\n  value = "{repo_url}"\n}}\n'
    )
    # A terraform on PATH that logs each call before running the real one.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "terraform.log"
    shim = bindir / "terraform"
    shim.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{shutil.which("terraform")}" "$@"\n')
    shim.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "TF_ENVIRONMENTS_DIR": str(tmp_path / "environments"),
        "TF_BUILD_DIR": str(tmp_path / "build"),
        "TF_DATA_DIR": str(tmp_path / "tfdata"),
        "IMAGE_TAG": tag,
        "DIST": str(dist),
    }
    for name in ("LAKE_BUCKET", "ECR_REPOSITORY", "STATE_MACHINE"):
        env.pop(name, None)

    def run(*argv: str) -> subprocess.CompletedProcess:
        log.write_text("")
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    def deploy(verb: str) -> subprocess.CompletedProcess:
        return run(IPEACAST, "deploy", verb, "dev")

    def tf(verb: str) -> subprocess.CompletedProcess:
        return run("bash", "scripts/tf.sh", verb, "dev")

    def output_reads() -> int:
        return sum(line.startswith("-chdir=") and " output " in line for line in log.open())

    # First deployment: nothing to stage before apply; after apply ensure-staged does it all.
    skipped = deploy("stage")
    assert skipped.returncode == 0, skipped.stderr
    assert "no Terraform outputs yet (first deployment)" in skipped.stdout
    assert tf("plan").returncode == 0
    assert tf("apply").returncode == 0
    first = deploy("ensure-staged")
    assert first.returncode == 0, first.stderr
    assert f"already pushed: {repo_url}:{tag}" in first.stdout
    assert "3 uploaded, 0 unchanged" in first.stdout
    assert output_reads() == 1  # one read for push-image and upload-artifacts together

    # Next deployment: stage does the work before apply, reading the outputs once ...
    (dist / "lambda.zip").write_bytes(b"PK\x03\x04 changed lambda")
    staged = deploy("stage")
    assert staged.returncode == 0, staged.stderr
    assert "1 uploaded, 2 unchanged" in staged.stdout
    assert output_reads() == 1
    # ... so ensure-staged after apply has nothing to do and does not even read the outputs.
    again = deploy("ensure-staged")
    assert again.returncode == 0, again.stderr
    assert "staged for 'dev' before apply: nothing to do" in again.stdout
    assert "uploaded" not in again.stdout
    assert output_reads() == 0
    # Another image tag (or other dist/ bytes) than the one staged is pushed/uploaded again.
    env["IMAGE_TAG"] = "f" * 40
    other = deploy("ensure-staged")
    assert other.returncode != 0
    assert f"local image ipeacast-training:{'f' * 40} not found" in other.stderr


# --------------------------------------------------------------------------- verbs (pure parts)


def test_settings_read_the_environment_once_with_the_documented_defaults():
    settings = verbs.Settings.from_environ({}, head=lambda: "a" * 40)
    assert settings.image_tag == "a" * 40  # git HEAD
    assert settings.image_name == "ipeacast-training"
    assert settings.image_tar == Path("build/training-image.tar")
    assert settings.dist == Path("dist")
    assert settings.series == "EIA366_PBRENT366"
    assert settings.smoke_timeout == 2700
    assert settings.staged_marker("dev") == Path(".tfbuild/dev/staged")
    assert settings.manifest("prod") == Path(".tfbuild/prod/artifacts.json")
    given = verbs.Settings.from_environ(
        {"IMAGE_TAG": "dev-me", "SMOKE_TIMEOUT": "900", "TF_BUILD_DIR": "/b", "SERIES": "S1"},
        head=lambda: pytest.fail("IMAGE_TAG is set: git is not asked"),
    )
    assert (given.image_tag, given.smoke_timeout, given.series) == ("dev-me", 900, "S1")
    assert given.staged_marker("dev") == Path("/b/dev/staged")


@pytest.mark.parametrize("tag", ["", "a/b", "x" * 129, "tag with space"])
def test_an_invalid_image_tag_is_a_config_error_naming_it(tag):
    with pytest.raises(ConfigError, match=r"IMAGE_TAG .* is not a valid image tag"):
        verbs.Settings.from_environ({"IMAGE_TAG": tag}, head=lambda: "")


def test_a_smoke_timeout_that_is_not_a_number_is_a_config_error():
    with pytest.raises(ConfigError, match="SMOKE_TIMEOUT 'soon'"):
        verbs.Settings.from_environ({"IMAGE_TAG": "t", "SMOKE_TIMEOUT": "soon"})


def test_output_value_names_the_missing_output_and_the_environment():
    outputs = {"lake_bucket": {"value": "b", "type": "string"}}
    assert verbs.output_value(outputs, "lake_bucket", "dev") == "b"
    with pytest.raises(ConfigError, match="output 'ecr_repository_url' not found in 'dev'"):
        verbs.output_value(outputs, "ecr_repository_url", "dev")


def test_the_fingerprint_changes_with_the_tag_or_any_file_and_not_with_their_order():
    files = [("b.zip", "2" * 64), ("a.whl", "1" * 64)]
    fingerprint = verbs.fingerprint("t1", files)
    assert fingerprint == f"image_tag=t1\n{'1' * 64} a.whl\n{'2' * 64} b.zip\n"
    assert verbs.fingerprint("t1", reversed(files)) == fingerprint
    assert verbs.fingerprint("t2", files) != fingerprint
    assert verbs.fingerprint("t1", [files[0], ("a.whl", "3" * 64)]) != fingerprint


def test_dist_digests_skip_hidden_files(dist):
    digests = dict(verbs.dist_digests(dist))
    assert set(digests) == {"glue/extract.py", "ipeacast-0.1.0-py3-none-any.whl", "lambda.zip"}
    assert digests["lambda.zip"] == hashlib.sha256(b"PK\x03\x04 lambda bytes").hexdigest()


def test_the_smoke_run_id_names_the_build_and_the_utc_time():
    from datetime import UTC, datetime, timedelta, timezone

    now = datetime(2026, 11, 26, 9, 15, 0, tzinfo=timezone(timedelta(hours=-3)))
    assert verbs.smoke_run_id("0a1b2c3d4e", now) == "smoke-0a1b2c3-20261126121500"
    assert verbs.smoke_run_id("dev", datetime(2026, 1, 2, tzinfo=UTC)) == "smoke-dev-20260102000000"


def test_the_registry_and_region_come_from_the_repository_url():
    url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ipeacast-dev-training"
    assert image.registry_of(url) == ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "eu-west-1")
    with pytest.raises(ConfigError, match="must be a repository URL"):
        image.registry_of("ipeacast-dev-training")


def _deployment(tmp_path, outputs, **settings) -> tuple[verbs.Deployment, list[str], list[str]]:
    reads: list[str] = []
    said: list[str] = []

    def read(env: str) -> dict:
        reads.append(env)
        return outputs

    base = {"image_tag": "t1", "tf_build_dir": tmp_path / "build", "dist": tmp_path / "dist"}
    deployment = verbs.Deployment(
        verbs.Settings(**{**base, **settings}), "dev", say=said.append, read_outputs=read
    )
    return deployment, reads, said


def test_stage_skips_an_environment_without_outputs_and_forgets_an_earlier_stage(tmp_path):
    deployment, reads, said = _deployment(tmp_path, {})
    marker = deployment.settings.staged_marker("dev")
    marker.parent.mkdir(parents=True)
    marker.write_text("image_tag=t0\n")

    deployment.stage()

    assert reads == ["dev"]
    assert said == [
        "stage: 'dev' has no Terraform outputs yet (first deployment): nothing to stage "
        "before apply"
    ]
    assert not marker.exists()


def test_the_outputs_are_read_at_most_once_per_verb(tmp_path):
    outputs = {
        "lake_bucket": {"value": "b"},
        "ecr_repository_url": {"value": "r"},
        "state_machine_arn": {"value": "arn:sm"},
    }
    deployment, reads, _ = _deployment(tmp_path, outputs)
    assert (deployment.lake_bucket(), deployment.ecr_repository()) == ("b", "r")
    assert deployment.state_machine() == "arn:sm"
    assert reads == ["dev"]
    given, reads, _ = _deployment(tmp_path, outputs, lake_bucket="given", state_machine="sm")
    assert (given.lake_bucket(), given.state_machine()) == ("given", "sm")
    assert reads == []


def test_ensure_staged_does_nothing_for_what_stage_staged(tmp_path):
    deployment, reads, said = _deployment(tmp_path, {})
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "lambda.zip").write_bytes(b"zip")
    marker = deployment.settings.staged_marker("dev")
    marker.parent.mkdir(parents=True)
    marker.write_text(deployment.fingerprint())

    deployment.ensure_staged()

    assert reads == []
    assert said == [
        f"ensure-staged: image t1 and {tmp_path / 'dist'}/ were staged for 'dev' before apply: "
        "nothing to do"
    ]


def test_verbs_that_need_an_environment_say_so(capsys):
    with pytest.raises(SystemExit):
        cli.main(["deploy", "stage"])
    assert "ENV" in capsys.readouterr().err
    assert cli.main(["deploy", "smoke"]) == 1
    assert capsys.readouterr().err == (
        "ipeacast: error: 'smoke' needs an environment (ENV) or --state-machine\n"
    )
