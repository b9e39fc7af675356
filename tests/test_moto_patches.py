"""Guards for `moto_patches`: fail loudly when a moto upgrade changes what we patch.

Two kinds of check: the patched internals still have the shape the patches expect, and the
problems the patches fix still exist in unpatched moto (when moto fixes one, the test says
which patch to drop).
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import boto3
import moto_patches
import pytest
from moto import mock_aws

REGION = "us-east-1"
CONFIG = {"stepfunctions": {"execute_state_machine": True}}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def test_every_patched_internal_is_still_what_the_patches_expect():
    problems = moto_patches.check_targets()
    assert problems == [], "moto changed under tests/moto_patches.py:\n" + "\n".join(problems)


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


def test_patched_lambda_runs_the_handler_in_process_with_its_environment():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "unused: the patch imports src/lambda/handler.py")
    with mock_aws(config=CONFIG), moto_patches.patched() as patched:
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="l", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        lam.create_function(
            FunctionName="probe",
            Runtime="python3.11",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": buf.getvalue()},
            Environment={"Variables": {"LAKE_BUCKET": "probe-bucket-1"}},
        )
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
