"""The state machine template: rendered like Terraform, validated, and executed in moto.

Executions run moto's ASL interpreter on the stack Terraform created: the deploy rehearsal
applies environments/dev to an emulated account and exports its state, and `support.stack`
recreates those resources (the definition exactly as Terraform rendered it, the Glue jobs with
their DefaultArguments, the Lambda from dist/lambda.zip with its configured environment) in an
in-process moto, where `support/moto_patches.py` makes the integrations run. Each scenario
asserts the states visited, the failure topic message and the final status.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import boto3
import pandas as pd
import pytest
from model_artifacts import model_tarball, run_training_container
from moto import mock_aws
from moto.glue.models import glue_backends
from moto.moto_api import state_manager
from support import moto_patches
from support.state_machine import (
    RUN_STATES,
    TEMPLATE_VARIABLES,
    default_template_path,
    render,
    render_definition,
    render_text,
)

from ipeacast.aws.training_job import REQUEST_KEYS, TrainingConfig, build_training_job_request
from ipeacast.core import storage
from ipeacast.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT = "123456789012"
SERIES = "EIA366_PBRENT366"
VARIABLES = {
    "glue_job_extract": "ipeacast-test-extract",
    "glue_job_transform": "ipeacast-test-transform",
    "glue_job_load": "ipeacast-test-load",
    "prepare_training_lambda_arn": "arn:aws:lambda:us-east-1:123456789012:function:prep",
    "publish_lambda_arn": "arn:aws:lambda:us-east-1:123456789012:function:pub",
    "failure_topic_arn": "arn:aws:sns:us-east-1:123456789012:ipeacast-test-failures",
    "lake_bucket": "ipeacast-test-lake",
}
HAPPY_PATH = [
    *RUN_STATES,
    "Extract",
    "Transform",
    "Load",
    "LakeKeys",
    "LakeRootKeys",
    "FindPublishedForecasts",
    "PrepareTraining",
    "Train",
    "Publish",
    "Succeeded",
]
PREAMBLE = HAPPY_PATH[:6]  # input checked, up to Extract
TYPE_CHECK = HAPPY_PATH[:5]  # up to CheckInput (field types)


# --- the template -------------------------------------------------------------------------------


def test_template_uses_exactly_the_contract_variables():
    text = default_template_path().read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(TEMPLATE_VARIABLES)


def test_rendered_definition_passes_asl_validator(tmp_path):
    validator = ROOT / "node_modules" / ".bin" / "asl-validator"
    assert validator.exists(), "run `make node-setup` to install asl-validator"
    path = tmp_path / "definition.json"
    path.write_text(render(VARIABLES))
    result = subprocess.run(
        [str(validator), "--json-path", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(tmp_path):
    broken = render_definition(VARIABLES)
    broken["States"]["Load"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    validator = ROOT / "node_modules" / ".bin" / "asl-validator"
    result = subprocess.run(
        [str(validator), "--json-path", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


def test_python_renderer_matches_terraform_templatefile(tmp_path):
    terraform = shutil.which("terraform")
    assert terraform, "the terraform CLI is required (README prerequisites)"
    args = ", ".join(f'{k} = "{v}"' for k, v in VARIABLES.items())
    expr = f'jsonencode(templatefile("{default_template_path()}", {{ {args} }}))\n'
    result = subprocess.run(
        [terraform, "console"],
        input=expr,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "TF_CLI_CONFIG_FILE": "/dev/null"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    terraform_text = json.loads(json.loads(result.stdout))
    assert terraform_text == render(VARIABLES)


def test_renderer_follows_templatefile_escapes_and_errors():
    values = dict.fromkeys(TEMPLATE_VARIABLES, "v")
    assert render_text("$${x} %%{y} ${glue_job_load}", values) == "${x} %{y} v"
    with pytest.raises(ConfigError, match="failure_topic_arn"):
        render_text("x", {k: "v" for k in TEMPLATE_VARIABLES if k != "failure_topic_arn"})
    with pytest.raises(ConfigError, match="nope"):
        render_text("${nope}", values)
    with pytest.raises(ConfigError, match="plain variable"):
        render_text("${upper(glue_job_load)}", values)
    with pytest.raises(ConfigError, match="directive"):
        render_text("%{ if true }x%{ endif }", values)


def test_train_state_passes_every_field_the_request_builder_produces():
    train = render_definition(VARIABLES)["States"]["Train"]
    assert tuple(k.removesuffix(".$") for k in train["Parameters"]) == REQUEST_KEYS
    assert train["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync"


def test_every_task_catches_everything_and_alerts():
    states = render_definition(VARIABLES)["States"]
    tasks = [n for n, s in states.items() if s["Type"] == "Task" and n != "NotifyFailure"]
    assert tasks == [
        "Extract",
        "Transform",
        "Load",
        "FindPublishedForecasts",
        "PrepareTraining",
        "Train",
        "Publish",
    ]
    for name in tasks:
        (catch,) = states[name]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "NotifyFailure", name
        assert states[name]["Retry"], name
        assert "ResultSelector" in states[name] and "ResultPath" in states[name], name
    assert states["NotifyFailure"]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


# --- executions in moto -------------------------------------------------------------------------


def _write_model_artifact(request: dict) -> None:
    """Act as the training container: write model.tar.gz where SageMaker would."""
    uri = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    uri = f"{uri}/{request['TrainingJobName']}/output/model.tar.gz"
    hp = request["HyperParameters"]
    storage.write_bytes(uri, model_tarball(SERIES, hp["run_date"], hp["run_id"]))


@pytest.fixture
def aws(monkeypatch, terraform_stack):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    config = {"stepfunctions": {"execute_state_machine": True}}
    stack = terraform_stack
    with mock_aws(config=config), moto_patches.patched(on_training=None) as patched:
        ns = SimpleNamespace(patched=patched, stack=stack)
        ns.sfn = boto3.client("stepfunctions", region_name=REGION)
        ns.glue = boto3.client("glue", region_name=REGION)
        ns.sqs = boto3.client("sqs", region_name=REGION)
        ns.s3 = boto3.client("s3", region_name=REGION)
        ns.lam = boto3.client("lambda", region_name=REGION)
        lambda_zip = (ROOT / "dist" / "lambda.zip").read_bytes()
        ns.machine = stack.create(
            lambda service: boto3.client(service, region_name=REGION), lambda_zip
        )
        ns.bucket, ns.jobs, ns.lambda_env = stack.bucket, stack.glue_jobs, stack.lambda_env
        ns.function = stack.function["function_name"]
        sns = boto3.client("sns", region_name=REGION)
        queue_url = ns.sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = ns.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        sns.subscribe(
            TopicArn=stack.topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        ns.queue_url = queue_url
        yield ns


def _configure_lambda(aws, **env: str) -> None:
    """Change the function's environment, as a Terraform variable change would."""
    variables = {**aws.lambda_env, **env}
    aws.lam.update_function_configuration(
        FunctionName=aws.function, Environment={"Variables": variables}
    )


def _start(aws, name: str, execution_input: dict) -> str:
    return aws.sfn.start_execution(
        stateMachineArn=aws.machine, name=name, input=json.dumps(execution_input)
    )["executionArn"]


def _wait(aws, arn: str, on_poll=None):
    deadline = time.monotonic() + 60
    while (desc := aws.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"execution {arn} did not finish"
        if on_poll:
            on_poll()
        time.sleep(0.05)
    events = aws.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    visited = [
        e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")
    ]
    return SimpleNamespace(desc=desc, events=events, visited=visited)


def _execute(aws, name: str, execution_input: dict):
    return _wait(aws, _start(aws, name, execution_input))


def _alerts(aws) -> list[dict]:
    messages = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    )
    return [json.loads(m["Body"]) for m in messages]


RUN_ARGUMENTS = ("--series", "--run_date", "--run_id", "--lake_prefix")


def _glue_arguments(aws, step: str) -> list[dict]:
    """The per-run arguments of each run of a step's job (the job's defaults left out)."""
    runs = aws.glue.get_job_runs(JobName=aws.jobs[step])["JobRuns"]
    return [{k: v for k, v in run["Arguments"].items() if k in RUN_ARGUMENTS} for run in runs]


def test_happy_path_runs_every_step_once_and_publishes(aws):
    aws.patched.on_training = lambda request: _write_model_artifact(request)
    run = {"series": SERIES, "run_id": "20261126-093000", "run_date": "2026-11-26"}
    result = _execute(aws, "happy-path", run)

    assert result.visited == HAPPY_PATH, _alerts(aws)
    assert result.desc["status"] == "SUCCEEDED", result.desc
    for step in ("extract", "transform", "load"):
        assert _glue_arguments(aws, step) == [
            {
                "--series": SERIES,
                "--run_date": "2026-11-26",
                "--run_id": "20261126-093000",
                "--lake_prefix": "",
            }
        ]
    (request,) = aws.patched.training_requests
    prefix = aws.lambda_env["TRAINING_JOB_PREFIX"]
    assert re.fullmatch(
        rf"{prefix}-EIA366-PBRENT366-20261126-093000-[0-9a-f]{{8}}", request["TrainingJobName"]
    )
    assert [e["action"] for e in aws.patched.lambda_events] == ["prepare_training", "publish"]
    prefix = f"predictions/series={SERIES}/run_date=2026-11-26/"
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix=prefix)["Contents"]]
    assert keys == [f"{prefix}forecast.parquet"]
    run_folder = f"models/series={SERIES}/run_date=2026-11-26/run_id=20261126-093000/"
    aws.s3.head_object(Bucket=aws.bucket, Key=f"{run_folder}metrics.json")
    output = json.loads(result.desc["output"])
    assert output["run"] == {
        "series": SERIES,
        "run_id": "20261126-093000",
        "run_date": "2026-11-26",
        "lake_prefix": "",
    }
    assert output["training"]["status"] == "Completed"
    assert "request" not in output["training"]  # the request was replaced by a small result
    assert len(result.desc["output"]) < 4096
    assert _alerts(aws) == []
    assert aws.patched.retry_sleeps == []


def test_the_real_trainer_runs_on_the_request_and_its_forecast_is_published(aws, tmp_path):
    from forecast_helpers import SMALL, monthly_fixture

    # the final partition as the load step leaves it
    table = monthly_fixture()
    part = f"final/series={SERIES}/run_date=2026-11-26"
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    aws.s3.put_object(
        Bucket=aws.bucket, Key=f"{part}/part-00000.snappy.parquet", Body=buf.getvalue()
    )
    aws.s3.put_object(Bucket=aws.bucket, Key=f"{part}/_SUCCESS", Body=b"")
    # extra hyperparameters through the Lambda's configuration, as Terraform would set them
    hyperparameters = json.dumps({k: str(v) for k, v in SMALL.items()})
    _configure_lambda(aws, TRAINING_HYPERPARAMETERS=hyperparameters)
    aws.patched.on_training = lambda request: run_training_container(request, tmp_path)
    run = {"series": SERIES, "run_id": "20261126-093005", "run_date": "2026-11-26"}
    result = _execute(aws, "real-trainer", run)

    assert result.visited == HAPPY_PATH, _alerts(aws)
    run_folder = f"models/series={SERIES}/run_date=2026-11-26/run_id=20261126-093005"
    key = f"{run_folder}/forecast.csv"
    forecast = aws.s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read().decode()
    rows = forecast.strip().splitlines()[1:]
    assert len(rows) == 6
    assert all(f"{SERIES},2026-11-26," in row and "20261126-093005" in row for row in rows)
    metrics_key = f"{run_folder}/metrics.json"
    assert json.loads(aws.s3.get_object(Bucket=aws.bucket, Key=metrics_key)["Body"].read())


def test_a_run_scores_the_forecasts_published_before_and_reports_live_accuracy(aws, tmp_path):
    from forecast_helpers import SMALL, monthly_fixture
    from model_artifacts import forecast_frame

    table = monthly_fixture()
    part = f"final/series={SERIES}/run_date=2026-11-26"
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    aws.s3.put_object(Bucket=aws.bucket, Key=f"{part}/part-00000.parquet", Body=buf.getvalue())
    # a forecast an earlier run published, whose six target months are now complete
    months = pd.to_datetime(table.loc[table["complete"].astype(bool), "month"])
    origin = months.iloc[-10]
    earlier = forecast_frame(SERIES, "2026-01-15", "20260115-100000")
    earlier["origin_date"] = (origin + pd.offsets.MonthEnd(0)).date()
    earlier["target_month"] = [(origin + pd.DateOffset(months=h)).date() for h in range(1, 7)]
    buf = io.BytesIO()
    earlier.to_parquet(buf, index=False)
    earlier_key = f"predictions/series={SERIES}/run_date=2026-01-15/forecast.parquet"
    aws.s3.put_object(Bucket=aws.bucket, Key=earlier_key, Body=buf.getvalue())
    _configure_lambda(
        aws, TRAINING_HYPERPARAMETERS=json.dumps({k: str(v) for k, v in SMALL.items()})
    )
    aws.patched.on_training = lambda request: run_training_container(request, tmp_path)
    run = {"series": SERIES, "run_id": "20261126-093007", "run_date": "2026-11-26"}
    result = _execute(aws, "scores-earlier", run)

    assert result.visited == HAPPY_PATH, _alerts(aws)
    (request,) = aws.patched.training_requests
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    assert channels["forecasts"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{aws.bucket}/predictions/series={SERIES}/"
    )
    key = f"accuracy/series={SERIES}/run_date=2026-11-26/accuracy.parquet"
    scored = pd.read_parquet(
        io.BytesIO(aws.s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read())
    )
    assert list(scored["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert set(scored["forecast_run_id"]) == {"20260115-100000"}
    live = json.loads(result.desc["output"])["publish"]["published"]["live"]
    assert live["resolved"] == 6 and live["mae_ratio"] > 0
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    (metric,) = cloudwatch.list_metrics(Namespace=aws.lambda_env["METRICS_NAMESPACE"])["Metrics"]
    assert metric["MetricName"] == "LiveMaeRatio"
    assert metric["Dimensions"] == [{"Name": "Series", "Value": SERIES}]


def test_a_first_run_trains_without_the_forecasts_channel(aws):
    aws.patched.on_training = lambda request: _write_model_artifact(request)
    # a forecast of another series, and staging debris, are not this series' forecasts
    for key in (
        "predictions/series=OTHER/run_date=2026-01-15/forecast.parquet",
        f"predictions/_staging/series={SERIES}/run_date=2026-11-26/x/forecast.parquet",
    ):
        aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=b"PAR1")
    run = {"series": SERIES, "run_id": "20261126-093008", "run_date": "2026-11-26"}
    result = _execute(aws, "first-run", run)

    assert result.visited == HAPPY_PATH, _alerts(aws)
    (request,) = aws.patched.training_requests
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train"]


def test_run_id_and_date_are_derived_once_from_the_start_time(aws):
    aws.patched.on_training = lambda request: _write_model_artifact(request)
    result = _execute(aws, "derived-run-id", {"series": SERIES})

    assert result.desc["status"] == "SUCCEEDED", _alerts(aws)
    start = result.desc["startDate"]
    run = json.loads(result.desc["output"])["run"]
    assert run["run_date"] == f"{start:%Y-%m-%d}"
    assert run["run_id"] == f"{start:%Y%m%d-%H%M%S}"
    ids = {
        args["--run_id"]
        for step in ("extract", "transform", "load")
        for args in _glue_arguments(aws, step)
    }
    ids |= {event["run_id"] for event in aws.patched.lambda_events}
    assert ids == {run["run_id"]}


def test_glue_concurrency_is_retried_with_backoff_then_alerts_and_fails(aws):
    # Runs of the extract job that never finish, as many as allowed: every new start is refused.
    state_manager.set_transition(
        model_name="glue::job_run", transition={"progression": "manual", "times": 10**6}
    )
    try:
        job = aws.glue.get_job(JobName=aws.jobs["extract"])["Job"]
        for _ in range(job["ExecutionProperty"]["MaxConcurrentRuns"]):  # as Terraform set it
            aws.glue.start_job_run(JobName=aws.jobs["extract"])
        run = {"series": SERIES, "run_id": "20261126-093001", "run_date": "2026-11-26"}
        result = _execute(aws, "glue-busy", run)
    finally:
        state_manager.unset_transition("glue::job_run")

    assert result.visited == [*PREAMBLE, "Extract", "NotifyFailure", "Failed"]
    assert result.desc["status"] == "FAILED"
    assert result.desc["error"] == "ipeacast.RunFailed"
    assert aws.patched.retry_sleeps == [60, 120, 240]  # 3 retries, back-off rate 2
    started = [e for e in result.events if e["type"] == "TaskStarted"]
    assert len(started) == 4 + 1  # 4 extract attempts, then the SNS publish
    (alert,) = _alerts(aws)
    assert alert["run_id"] == "20261126-093001" and alert["series"] == SERIES
    assert alert["failed"]["Extract"]["Error"] == "Glue.ConcurrentRunsExceededException"
    assert "already running" in alert["failed"]["Extract"]["Cause"]
    assert alert["execution"].endswith(":glue-busy")
    assert aws.patched.lambda_events == []  # nothing after the failed step ran


def test_failed_glue_job_run_is_not_retried_and_alerts(aws):
    # Job runs stay STARTING until this test decides: extract succeeds, transform's script fails.
    backend = glue_backends[ACCOUNT][REGION]
    outcome = {aws.jobs["extract"]: "SUCCEEDED", aws.jobs["transform"]: "FAILED"}

    def finish_runs() -> None:
        for job_name, state in outcome.items():
            for job_run in backend.jobs[job_name].job_runs:
                job_run.status = state

    state_manager.set_transition(
        model_name="glue::job_run", transition={"progression": "manual", "times": 10**6}
    )
    try:
        run = {"series": SERIES, "run_id": "20261126-093004", "run_date": "2026-11-26"}
        result = _wait(aws, _start(aws, "glue-run-failed", run), on_poll=finish_runs)
    finally:
        state_manager.unset_transition("glue::job_run")

    assert result.visited == [*PREAMBLE, "Extract", "Transform", "NotifyFailure", "Failed"]
    assert result.desc["status"] == "FAILED"
    assert aws.patched.retry_sleeps == []  # a failed job run is not a transient error
    (alert,) = _alerts(aws)
    failure = alert["failed"]["Transform"]
    assert failure["Error"] == "States.TaskFailed"
    assert json.loads(failure["Cause"])["JobRunState"] == "FAILED"
    assert aws.glue.get_job_runs(JobName=aws.jobs["load"])["JobRuns"] == []


def test_lambda_exception_is_not_retried_and_alerts_with_its_cause(aws):
    image = aws.lambda_env["TRAINING_IMAGE_URI"]
    _configure_lambda(aws, TRAINING_IMAGE_URI=image.rsplit(":", 1)[0] + ":latest")
    run = {"series": SERIES, "run_id": "20261126-093002", "run_date": "2026-11-26"}
    result = _execute(aws, "lambda-error", run)

    assert result.visited == [
        *PREAMBLE,
        "Extract",
        "Transform",
        *HAPPY_PATH[HAPPY_PATH.index("Load") : HAPPY_PATH.index("PrepareTraining") + 1],
        "NotifyFailure",
        "Failed",
    ]
    assert result.desc["status"] == "FAILED"
    assert aws.patched.retry_sleeps == []  # a configuration error is not transient
    (alert,) = _alerts(aws)
    assert alert["run_id"] == "20261126-093002"
    failure = alert["failed"]["PrepareTraining"]
    assert failure["Error"] == "ConfigError"
    assert "TRAINING_IMAGE_URI" in json.loads(failure["Cause"])["errorMessage"]
    assert aws.patched.training_requests == []


def test_training_failure_alerts_and_does_not_publish(aws):
    aws.patched.on_training = lambda request: "AlgorithmError: champion lost to the baseline"
    run = {"series": SERIES, "run_id": "20261126-093003", "run_date": "2026-11-26"}
    result = _execute(aws, "training-failed", run)

    assert result.visited == [
        *HAPPY_PATH[: HAPPY_PATH.index("Train") + 1],
        "NotifyFailure",
        "Failed",
    ]
    assert result.desc["status"] == "FAILED"
    (alert,) = _alerts(aws)
    failure = alert["failed"]["Train"]
    assert failure["Error"] == "States.TaskFailed"
    cause = json.loads(failure["Cause"])
    assert cause["TrainingJobStatus"] == "Failed"
    assert cause["FailureReason"] == "AlgorithmError: champion lost to the baseline"
    assert [e["action"] for e in aws.patched.lambda_events] == ["prepare_training"]
    listed = aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix="predictions/")
    assert listed["KeyCount"] == 0


def test_input_without_series_is_rejected_with_an_alert(aws):
    result = _execute(aws, "no-series", {"run_date": "2026-11-26"})

    assert result.visited == [*TYPE_CHECK, "RejectInput", "NotifyFailure", "Failed"]
    assert result.desc["status"] == "FAILED"
    (alert,) = _alerts(aws)
    assert alert["series"] == "" and alert["run_date"] == "2026-11-26"
    assert alert["failed"]["Input"]["Error"] == "ipeacast.InvalidInput"
    assert aws.glue.get_job_runs(JobName=aws.jobs["extract"])["JobRuns"] == []


@pytest.mark.parametrize(
    ("lake_prefix", "visited"),
    [
        ("../prod", [*PREAMBLE, "RejectInput", "NotifyFailure", "Failed"]),
        ("Smoke", [*PREAMBLE, "RejectInput", "NotifyFailure", "Failed"]),
        ("smoke/x", [*PREAMBLE, "RejectInput", "NotifyFailure", "Failed"]),
        ("other", [*PREAMBLE, "RejectInput", "NotifyFailure", "Failed"]),
        (7, [*TYPE_CHECK, "RejectInput", "NotifyFailure", "Failed"]),
        (None, [*TYPE_CHECK, "RejectInput", "NotifyFailure", "Failed"]),
    ],
)
def test_bad_lake_prefix_is_rejected_with_an_alert(aws, lake_prefix, visited):
    run = {"series": SERIES, "run_id": "r1", "run_date": "2026-11-26", "lake_prefix": lake_prefix}
    result = _execute(aws, "bad-prefix", run)

    assert result.visited == visited
    assert result.desc["status"] == "FAILED"
    (alert,) = _alerts(aws)
    assert alert["lake_prefix"] == lake_prefix and alert["run_id"] == "r1"
    assert alert["failed"]["Input"]["Error"] == "ipeacast.InvalidInput"
    assert "lake_prefix" in alert["failed"]["Input"]["Cause"]
    assert aws.glue.get_job_runs(JobName=aws.jobs["extract"])["JobRuns"] == []


def _all_keys(aws) -> list[str]:
    listed = aws.s3.list_objects_v2(Bucket=aws.bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_run_with_lake_prefix_smoke_reads_and_writes_only_under_smoke(aws, tmp_path):
    from forecast_helpers import SMALL, monthly_fixture

    # the real partitions of the same run date, which a smoke run must leave alone
    real = {
        f"final/series={SERIES}/run_date=2026-11-26/part-0.parquet": b"real final",
        f"predictions/series={SERIES}/run_date=2026-11-26/forecast.parquet": b"real forecast",
        f"models/series={SERIES}/run_date=2026-11-26/metrics.json": b"{}",
        "artifacts/extract.py": b"print('job')",
    }
    for key, body in real.items():
        aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=body)
    # the smoke final partition, as the load step (run with --lake_prefix smoke) leaves it
    buf = io.BytesIO()
    monthly_fixture().to_parquet(buf, index=False)
    smoke_final = f"smoke/final/series={SERIES}/run_date=2026-11-26"
    aws.s3.put_object(Bucket=aws.bucket, Key=f"{smoke_final}/part-0.parquet", Body=buf.getvalue())
    hyperparameters = json.dumps({k: str(v) for k, v in SMALL.items()})
    _configure_lambda(aws, TRAINING_HYPERPARAMETERS=hyperparameters)
    aws.patched.on_training = lambda request: run_training_container(request, tmp_path)
    run = {
        "series": SERIES,
        "run_id": "smoke-0a1b2c3-20261126",
        "run_date": "2026-11-26",
        "lake_prefix": "smoke",
    }
    result = _execute(aws, "smoke-prefix", run)

    smoke_path = [("LakePrefixKeys" if s == "LakeRootKeys" else s) for s in HAPPY_PATH]
    assert result.visited == smoke_path, _alerts(aws)
    for step in ("extract", "transform", "load"):
        (args,) = _glue_arguments(aws, step)
        assert args["--lake_prefix"] == "smoke"
    (request,) = aws.patched.training_requests
    channel = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel == f"s3://{aws.bucket}/{smoke_final}/"
    output = request["OutputDataConfig"]["S3OutputPath"]
    assert (
        output == f"s3://{aws.bucket}/smoke/models/_sagemaker/series={SERIES}/run_date=2026-11-26/"
    )
    assert [e["lake_prefix"] for e in aws.patched.lambda_events] == ["smoke", "smoke"]
    # the real partitions are untouched; everything the run wrote is under smoke/
    for key, body in real.items():
        assert aws.s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read() == body, key
    written = [k for k in _all_keys(aws) if k not in real]
    assert written and all(k.startswith("smoke/") for k in written), written
    part = f"series={SERIES}/run_date=2026-11-26"
    assert f"smoke/predictions/{part}/forecast.parquet" in written
    assert f"smoke/models/{part}/run_id=smoke-0a1b2c3-20261126/forecast.csv" in written
    assert f"smoke/models/{part}/run_id=smoke-0a1b2c3-20261126/metrics.json" in written
    published = json.loads(result.desc["output"])["publish"]["published"]
    assert published["predictions"] == f"s3://{aws.bucket}/smoke/predictions/{part}"


def test_each_execution_gets_its_own_training_job_even_with_the_same_run_id(aws):
    import botocore.session
    from botocore.validate import ParamValidator

    aws.patched.on_training = lambda request: _write_model_artifact(request)
    run = {"series": SERIES, "run_id": "20261126-093006", "run_date": "2026-11-26"}
    machine = aws.machine
    first, again = (
        _wait(
            aws,
            aws.sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(run))[
                "executionArn"
            ],
        )
        for name in ("same-run-id-1", "same-run-id-2")
    )

    assert first.desc["status"] == again.desc["status"] == "SUCCEEDED", _alerts(aws)
    names = [request["TrainingJobName"] for request in aws.patched.training_requests]
    assert len(names) == 2 and names[0] != names[1]
    shape = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .operation_model("CreateTrainingJob")
        .input_shape
    )
    pattern = shape.members["TrainingJobName"].metadata["pattern"]
    prepared = [e for e in aws.patched.lambda_events if e["action"] == "prepare_training"]
    assert {e["execution"] for e in prepared} == {
        first.desc["executionArn"],
        again.desc["executionArn"],
    }
    for event, name in zip(prepared, names, strict=True):
        # the request the Lambda returned (the same pure function) is what SageMaker received
        request = build_training_job_request(event, TrainingConfig.from_env(aws.lambda_env))
        assert request["TrainingJobName"] == name
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), report.generate_report()
        assert re.fullmatch(pattern, name) and len(name) <= 63
        assert request["HyperParameters"]["run_id"] == "20261126-093006"  # the run id is kept
    for result in (first, again):
        assert json.loads(result.desc["output"])["run"]["run_id"] == "20261126-093006"


def test_string_matches_is_evaluated_as_the_asl_specification_says(aws):
    # moto uses fnmatch ('?' = any character); AWS knows only '*'. The patched moto follows AWS.
    assert moto_patches.spec_string_matches("?x", "?*")
    assert not moto_patches.spec_string_matches("EIA", "?*")
    assert moto_patches.spec_string_matches("a*b", "a\\*b")
    assert not moto_patches.spec_string_matches("axb", "a\\*b")
    assert moto_patches.spec_string_matches("smoke-1", "smoke-*")
    # and it is what moto's Choice state evaluates while patched
    assert not moto_patches.string_operators.StringMatches._compare("EIA", "?*")
    text = default_template_path().read_text()
    for pattern in re.findall(r'"StringMatches":\s*"([^"]*)"', text):
        assert "?" not in pattern and "[" not in pattern, pattern
