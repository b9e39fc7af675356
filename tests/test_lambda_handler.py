"""The Lambda handler: both actions called directly, publish against (moto) S3."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.validate import ParamValidator
from model_artifacts import forecast_frame, model_tarball, tarball
from moto import mock_aws

from ipeacast.errors import ConfigError, StorageError, TrainingError

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "ipeacast-test-lake"
SERIES = "EIA366_PBRENT366"
RUN = {"series": SERIES, "run_id": "20261126-093000", "run_date": "2026-11-26"}
ARTIFACTS = f"s3://{BUCKET}/models/_sagemaker/job/output/model.tar.gz"


def _load_handler():
    spec = importlib.util.spec_from_file_location("lambda_handler", ROOT / "src/lambda/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handler = _load_handler()


@pytest.fixture
def env(monkeypatch):
    values = {
        "LAKE_BUCKET": BUCKET,
        "TRAINING_IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ipeacast-train:0a1b2c3",
        "TRAINING_ROLE_ARN": "arn:aws:iam::123456789012:role/ipeacast-test-training",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def s3(env):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _keys(s3, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def _put_artifacts(s3, data: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=ARTIFACTS.split("/", 3)[3], Body=data)


def test_prepare_training_returns_a_request_sagemaker_accepts(env):
    request = handler.handler({"action": "prepare_training", **RUN}, None)
    shape = (
        boto3.session.Session()
        .client("sagemaker", region_name="us-east-1")
        .meta.service_model.operation_model("CreateTrainingJob")
        .input_shape
    )
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert request["TrainingJobName"] == "ipeacast-EIA366-PBRENT366-20261126-093000"


def test_unknown_action_is_named(env):
    with pytest.raises(ConfigError, match="'action'"):
        handler.handler({"action": "train", **RUN}, None)


def test_missing_configuration_names_the_variable(env, monkeypatch):
    monkeypatch.delenv("TRAINING_ROLE_ARN")
    with pytest.raises(ConfigError, match="TRAINING_ROLE_ARN"):
        handler.handler({"action": "prepare_training", **RUN}, None)


def test_publish_copies_forecast_and_metrics_into_the_lake(s3):
    _put_artifacts(s3, model_tarball(**RUN))
    result = handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)

    part = f"series={SERIES}/run_date=2026-11-26/"
    assert result["rows"] == 6 and result["run_id"] == RUN["run_id"]
    assert sorted(_keys(s3, "predictions/")) == [
        f"predictions/{part}_csv/forecast.csv",
        f"predictions/{part}forecast.parquet",
    ]
    assert _keys(s3, "models/" + part) == [f"models/{part}metrics.json"]
    body = s3.get_object(Bucket=BUCKET, Key=f"predictions/{part}forecast.parquet")["Body"].read()
    table = pd.read_parquet(io.BytesIO(body))
    assert list(table["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert set(table["run_id"]) == {RUN["run_id"]}


def test_publish_refuses_an_archive_that_escapes_its_folder(s3):
    _put_artifacts(s3, tarball({"../evil.txt": b"x", "metrics.json": b"{}"}))
    with pytest.raises(StorageError, match="evil"):
        handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)
    assert _keys(s3, "predictions/") == []


def test_publish_of_a_bad_forecast_keeps_the_previous_predictions(s3):
    _put_artifacts(s3, model_tarball(**RUN))
    handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)
    before = _keys(s3, "predictions/")

    broken = forecast_frame(**RUN).assign(horizon=[1, 2, 3, 4, 5, 7])
    _put_artifacts(s3, model_tarball(**RUN, frame=broken))
    with pytest.raises(TrainingError, match="horizons"):
        handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)
    assert _keys(s3, "predictions/") == before


@pytest.mark.parametrize(
    "artifacts", [None, "/tmp/model.tar.gz", "https://example.com/model.tar.gz"]
)
def test_publish_needs_an_s3_model_artifact(env, artifacts):
    with pytest.raises(ConfigError, match="model_artifacts"):
        handler.handler({"action": "publish", "model_artifacts": artifacts, **RUN}, None)


def test_publish_of_a_missing_artifact_names_it(s3):
    with pytest.raises(StorageError, match=r"model\.tar\.gz"):
        handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)
