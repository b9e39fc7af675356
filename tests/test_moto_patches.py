"""Guards for `moto_patches`: fail loudly when a moto upgrade changes what we patch.

Two kinds of check: the patched internals still have the shape the patches expect, and the
problems the patches fix still exist in unpatched moto (when moto fixes one, the test says
which patch to drop).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer
from support import moto_patches

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"stepfunctions": {"execute_state_machine": True}}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def test_every_patched_internal_is_still_what_the_patches_expect():
    problems = moto_patches.check_targets()
    assert problems == [], "moto changed under tests/support/moto_patches.py:\n" + "\n".join(
        problems
    )


def _run_one_task(task: dict) -> dict:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {"StartAt": "T", "States": {"T": {**task, "End": True}}}
    arn = sfn.create_state_machine(
        name="one-task",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="probe", input="{}")["executionArn"]
    deadline = time.monotonic() + 30
    while (desc := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return desc


def _glue_job() -> dict:
    glue = boto3.client("glue", region_name=REGION)
    glue.create_job(
        Name="probe-job",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://b/probe.py"},
    )
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::glue:startJobRun.sync",
        "Parameters": {"JobName": "probe-job"},
        # moto keeps the job run's datetimes as Python objects; select JSON-safe fields.
        "ResultSelector": {"JobRunState.$": "$.JobRunState"},
    }


def _training_job() -> dict:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
        "Parameters": {
            "TrainingJobName": "probe",
            "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/sm",
            "OutputDataConfig": {"S3OutputPath": "s3://b/models/"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    }


def test_unpatched_moto_still_crashes_on_glue_sync():
    with mock_aws(config=CONFIG):
        desc = _run_one_task(_glue_job())
    assert desc["status"] == "FAILED", "moto runs Glue .sync now: drop patch 1"
    assert "interrupt_all" in desc.get("cause", ""), desc


def test_patched_moto_runs_glue_sync():
    with mock_aws(config=CONFIG), moto_patches.patched():
        desc = _run_one_task(_glue_job())
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"])["JobRunState"] == "SUCCEEDED"


def test_unpatched_moto_still_refuses_sagemaker_sync():
    with mock_aws(config=CONFIG):
        desc = _run_one_task(_training_job())
    assert desc["status"] == "FAILED", "moto runs SageMaker .sync now: drop patch 2"


def test_patched_moto_runs_sagemaker_sync_to_the_outcome_the_test_chooses():
    with mock_aws(config=CONFIG), moto_patches.patched() as patched:
        desc = _run_one_task(_training_job())
        assert desc["status"] == "SUCCEEDED", desc
        assert json.loads(desc["output"])["TrainingJobStatus"] == "Completed"
        assert patched.training_requests[0]["TrainingJobName"] == "probe"
    with mock_aws(config=CONFIG), moto_patches.patched(on_training=lambda r: "boom") as patched:
        desc = _run_one_task(_training_job())
        assert desc["status"] == "FAILED"
        assert desc["error"] == "States.TaskFailed"
        assert json.loads(desc["cause"])["FailureReason"] == "boom"


def _create_function(name: str, files: dict[str, bytes | Path], **extra) -> object:
    """A function whose zip holds `files` (name -> bytes or a path), with its role; the client."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for member, content in files.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            zf.writestr(member, data)
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": buf.getvalue()},
        **extra,
    )
    return lam


def test_patched_lambda_runs_the_handler_from_its_zip_in_process_with_its_environment():
    handler = {"handler.py": ROOT / "src" / "lambda" / "handler.py"}
    with mock_aws(config=CONFIG), moto_patches.patched() as patched:
        env = {"Variables": {"LAKE_BUCKET": "probe-bucket-1"}}
        lam = _create_function("probe", handler, Environment=env)
        bad = lam.invoke(FunctionName="probe", Payload=json.dumps({"action": "nope"}))
        assert bad["FunctionError"] == "Unhandled"
        payload = json.loads(bad["Payload"].read())
        assert payload["errorType"] == "ConfigError"
        assert "action" in payload["errorMessage"]
        assert patched.lambda_events == [{"action": "nope"}]
    assert "LAKE_BUCKET" not in os.environ or os.environ["LAKE_BUCKET"] != "probe-bucket-1"


def test_patched_retries_are_recorded_not_slept():
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::glue:startJobRun.sync",
        "Parameters": {"JobName": "no-such-job"},
        "Retry": [
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": 30,
                "MaxAttempts": 2,
                "BackoffRate": 3,
            }
        ],
    }
    with mock_aws(config=CONFIG), moto_patches.patched() as patched:
        started = time.monotonic()
        desc = _run_one_task(task)
    assert desc["status"] == "FAILED"
    assert patched.retry_sleeps == [30, 90]
    assert time.monotonic() - started < 20


def test_a_handler_missing_from_the_zip_is_named():
    with mock_aws(config=CONFIG), moto_patches.patched():
        lam = _create_function("probe", {"other.py": b""})
        bad = lam.invoke(FunctionName="probe", Payload="{}")
        payload = json.loads(bad["Payload"].read())
    assert "handler.py is not in the function's zip" in payload["errorMessage"]


def _definition() -> str:
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def test_unpatched_moto_still_lacks_validate_and_list_versions():
    with mock_aws(config=CONFIG):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        with pytest.raises(Exception):
            sfn.validate_state_machine_definition(definition=_definition())


def test_patched_validate_state_machine_definition_uses_motos_parser():
    with mock_aws(config=CONFIG), moto_patches.patched():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        ok = sfn.validate_state_machine_definition(definition=_definition())
        bad = sfn.validate_state_machine_definition(definition='{"StartAt": "X", "States": {}}')
    assert ok["result"] == "OK" and ok["diagnostics"] == []
    assert bad["result"] == "FAIL" and bad["diagnostics"][0]["severity"] == "ERROR"


def test_patched_list_state_machine_versions_lists_published_versions():
    with mock_aws(config=CONFIG), moto_patches.patched():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        role = "arn:aws:iam::123456789012:role/sfn"
        plain = sfn.create_state_machine(name="a", definition=_definition(), roleArn=role)
        published = sfn.create_state_machine(
            name="b", definition=_definition(), roleArn=role, publish=True
        )
        none = sfn.list_state_machine_versions(stateMachineArn=plain["stateMachineArn"])
        one = sfn.list_state_machine_versions(stateMachineArn=published["stateMachineArn"])
    assert none["stateMachineVersions"] == []
    (version,) = one["stateMachineVersions"]
    assert version["stateMachineVersionArn"] == published["stateMachineVersionArn"]


TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::logs-b", "arn:aws:s3:::logs-b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
LOG_DELIVERY = {
    "Sid": "S3ServerAccessLogs",
    "Effect": "Allow",
    "Principal": {"Service": "logging.s3.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::logs-b/s3-access/*",
}


def _logs_bucket() -> object:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="logs-b")
    s3.create_bucket(Bucket="data-b")
    policy = {"Version": "2012-10-17", "Statement": [TLS_ONLY, LOG_DELIVERY]}
    s3.put_bucket_policy(Bucket="logs-b", Policy=json.dumps(policy))
    return s3


def test_unpatched_moto_still_crashes_on_a_star_principal_and_denies_tls_only_buckets():
    logging_config = {"LoggingEnabled": {"TargetBucket": "logs-b", "TargetPrefix": "x/"}}
    with mock_aws(config=CONFIG):
        s3 = _logs_bucket()
        with pytest.raises(AttributeError, match="'str' object has no attribute 'get'"):
            s3.put_bucket_logging(Bucket="data-b", BucketLoggingStatus=logging_config)
        with pytest.raises(ClientError, match="403"):
            s3.head_object(Bucket="logs-b", Key="missing")


def test_patched_moto_takes_logging_and_requests_as_over_tls():
    logging_config = {"LoggingEnabled": {"TargetBucket": "logs-b", "TargetPrefix": "s3-access/d/"}}
    elsewhere = {"LoggingEnabled": {"TargetBucket": "logs-b", "TargetPrefix": "other/"}}
    with mock_aws(config=CONFIG), moto_patches.patched():
        s3 = _logs_bucket()
        s3.put_bucket_logging(Bucket="data-b", BucketLoggingStatus=logging_config)
        with pytest.raises(ClientError, match="InvalidTargetBucketForLogging"):
            s3.put_bucket_logging(Bucket="data-b", BucketLoggingStatus=elsewhere)
        s3.put_object(Bucket="logs-b", Key="k", Body=b"v")
        assert s3.get_object(Bucket="logs-b", Key="k")["Body"].read() == b"v"
        # a Deny without the transport condition still denies
        deny = {**TLS_ONLY, "Sid": "DenyAll"}
        deny.pop("Condition")
        s3.put_bucket_policy(Bucket="logs-b", Policy=json.dumps({"Statement": [deny]}))
        with pytest.raises(ClientError, match="403"):
            s3.head_object(Bucket="logs-b", Key="k")


def test_patched_glue_runs_are_executed_by_the_runner_and_end_with_its_outcome():
    seen = []

    def runner(job, run):
        seen.append((job.name, dict(run.arguments)))
        return "boom: the script failed" if run.arguments.get("--fail") else None

    with mock_aws(config=CONFIG), moto_patches.patched() as patched:
        patched.glue_runner = runner
        _glue_job()
        glue = boto3.client("glue", region_name=REGION)
        ok = glue.start_job_run(JobName="probe-job", Arguments={"--x": "1"})["JobRunId"]
        deadline = time.monotonic() + 10
        while glue.get_job_run(JobName="probe-job", RunId=ok)["JobRun"]["JobRunState"] != (
            "SUCCEEDED"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        bad = glue.start_job_run(JobName="probe-job", Arguments={"--fail": "1"})["JobRunId"]
        while (run := glue.get_job_run(JobName="probe-job", RunId=bad)["JobRun"])[
            "JobRunState"
        ] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "boom: the script failed"
    assert seen == [("probe-job", {"--x": "1"}), ("probe-job", {"--fail": "1"})]


def _suspended_bucket_with_a_delete_marker():
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="versions-b")
    s3.put_bucket_versioning(Bucket="versions-b", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="versions-b", Key="k", Body=b"v")
    s3.delete_object(Bucket="versions-b", Key="k")  # a delete marker
    s3.put_bucket_versioning(Bucket="versions-b", VersioningConfiguration={"Status": "Suspended"})
    return s3


def test_unpatched_moto_still_crashes_deleting_a_key_with_a_delete_marker():
    with mock_aws(config=CONFIG):
        s3 = _suspended_bucket_with_a_delete_marker()
        with pytest.raises(AttributeError, match="dispose"):
            s3.delete_objects(Bucket="versions-b", Delete={"Objects": [{"Key": "k"}]})


def test_patched_moto_empties_a_suspended_bucket_with_delete_markers():
    with mock_aws(config=CONFIG), moto_patches.patched():
        s3 = _suspended_bucket_with_a_delete_marker()
        s3.delete_objects(Bucket="versions-b", Delete={"Objects": [{"Key": "k"}]})


def _function_with_kms_and_logging() -> tuple[object, dict]:
    lam = _create_function(
        "kms-logging",
        {"handler.py": b"def handler(event, context):\n    return 1\n"},
        KMSKeyArn="arn:aws:kms:us-east-1:123456789012:key/k1",
        LoggingConfig={"LogFormat": "Text", "LogGroup": "/custom/group"},
    )
    return lam, lam.get_function(FunctionName="kms-logging")["Configuration"]


def test_unpatched_moto_still_drops_a_functions_kms_key_and_logging_config():
    with mock_aws(config=CONFIG):
        _, config = _function_with_kms_and_logging()
    assert "KMSKeyArn" not in config and "LoggingConfig" not in config


def test_patched_moto_returns_a_functions_kms_key_and_logging_config():
    with mock_aws(config=CONFIG), moto_patches.patched():
        lam, config = _function_with_kms_and_logging()
        assert config["KMSKeyArn"] == "arn:aws:kms:us-east-1:123456789012:key/k1"
        assert config["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/custom/group"}
        lam.update_function_configuration(
            FunctionName="kms-logging", LoggingConfig={"LogFormat": "JSON"}
        )
        updated = lam.get_function_configuration(FunctionName="kms-logging")
    assert updated["LoggingConfig"]["LogFormat"] == "JSON"


@contextlib.contextmanager
def _server() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _access_analyzer(endpoint: str) -> object:
    once = Config(retries={"total_max_attempts": 1})
    return boto3.client("accessanalyzer", region_name=REGION, endpoint_url=endpoint, config=once)


def test_unpatched_moto_server_still_lacks_access_analyzer():
    # The server finds no backend for the access-analyzer signing name and fails (500).
    with _server() as endpoint:
        analyzer = _access_analyzer(endpoint)
        with pytest.raises(ClientError, match=r"\(500\) when calling the CreateAnalyzer"):
            analyzer.create_analyzer(analyzerName="probe", type="ACCOUNT")


def test_patched_moto_server_serves_access_analyzers_as_terraform_calls_them():
    with moto_patches.patched() as patched, _server() as endpoint:
        analyzer = _access_analyzer(endpoint)
        arn = analyzer.create_analyzer(
            analyzerName="ipeacast-account", type="ACCOUNT", tags={"Project": "ipeacast"}
        )["arn"]
        got = analyzer.get_analyzer(analyzerName="ipeacast-account")["analyzer"]
        listed = analyzer.list_analyzers(type="ACCOUNT")["analyzers"]
        analyzer.tag_resource(resourceArn=arn, tags={"Owner": "data"})
        analyzer.untag_resource(resourceArn=arn, tagKeys=["Project"])
        tags = analyzer.list_tags_for_resource(resourceArn=arn)["tags"]
        with pytest.raises(ClientError, match="ConflictException"):
            analyzer.create_analyzer(analyzerName="ipeacast-account", type="ACCOUNT")
        analyzer.delete_analyzer(analyzerName="ipeacast-account")
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            analyzer.get_analyzer(analyzerName="ipeacast-account")
        assert patched.analyzers == {}
    assert arn == "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/ipeacast-account"
    assert (got["name"], got["type"], got["status"]) == ("ipeacast-account", "ACCOUNT", "ACTIVE")
    assert got["tags"] == {"Project": "ipeacast"}
    assert [a["arn"] for a in listed] == [arn]
    assert tags == {"Owner": "data"}
