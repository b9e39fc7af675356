"""The Lambda handler (both actions, publish against moto S3) and the library's archive publish."""

from __future__ import annotations

import importlib.util
import io
import re
import tarfile
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.validate import ParamValidator
from model_artifacts import forecast_frame, model_tarball, tarball
from moto import mock_aws

from ipeacast.aws import publish
from ipeacast.core.errors import ConfigError, StorageError, TrainingError

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "ipeacast-test-lake"
SERIES = "EIA366_PBRENT366"
RUN = {"series": SERIES, "run_id": "20261126-093000", "run_date": "2026-11-26"}
ARTIFACTS = f"s3://{BUCKET}/models/_sagemaker/job/output/model.tar.gz"
NAMESPACE = "ipeacast/test"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ipeacast-test-pipeline:run-1"


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
        "METRICS_NAMESPACE": NAMESPACE,
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
    event = {"action": "prepare_training", "execution": EXECUTION, **RUN}
    request = handler.handler(event, None)
    shape = (
        boto3.session.Session()
        .client("sagemaker", region_name="us-east-1")
        .meta.service_model.operation_model("CreateTrainingJob")
        .input_shape
    )
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert re.fullmatch(
        r"ipeacast-EIA366-PBRENT366-20261126-093000-[0-9a-f]{8}", request["TrainingJobName"]
    )


def test_prepare_training_without_the_execution_id_names_the_field(env):
    with pytest.raises(ConfigError, match="'execution'"):
        handler.handler({"action": "prepare_training", **RUN}, None)


def test_unknown_action_is_named(env):
    with pytest.raises(ConfigError, match="'action'"):
        handler.handler({"action": "train", **RUN}, None)


def test_missing_configuration_names_the_variable(env, monkeypatch):
    monkeypatch.delenv("TRAINING_ROLE_ARN")
    with pytest.raises(ConfigError, match="TRAINING_ROLE_ARN"):
        handler.handler({"action": "prepare_training", "execution": EXECUTION, **RUN}, None)


def test_publish_copies_forecast_and_metrics_into_the_lake(s3):
    _put_artifacts(s3, model_tarball(**RUN))
    result = handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)

    part = f"series={SERIES}/run_date=2026-11-26/"
    assert result["rows"] == 6 and result["run_id"] == RUN["run_id"]
    assert _keys(s3, "predictions/") == [f"predictions/{part}forecast.parquet"]
    run = f"models/{part}run_id={RUN['run_id']}/"
    assert _keys(s3, "models/" + part) == [f"{run}forecast.csv", f"{run}metrics.json"]
    assert not [k for k in _keys(s3, "") if "_staging" in k]  # no staging left behind
    body = s3.get_object(Bucket=BUCKET, Key=f"predictions/{part}forecast.parquet")["Body"].read()
    table = pd.read_parquet(io.BytesIO(body))
    assert list(table["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert set(table["run_id"]) == {RUN["run_id"]}


def _live_points(series: str = SERIES) -> list[float]:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    stats = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="LiveMaeRatio",
        Dimensions=[{"Name": "Series", "Value": series}],
        StartTime=pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=1),
        EndTime=pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=1),
        Period=60,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in stats["Datapoints"]]


def test_publish_puts_the_live_accuracy_metric(s3):
    live = {"resolved": 14, "window": 12, "mae_ratio": 1.25, "per_horizon": {}}
    _put_artifacts(s3, model_tarball(**RUN, live=live))
    result = handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)

    assert result["live"] == {"resolved": 14, "window": 12, "mae_ratio": 1.25}
    assert _live_points() == [1.25]
    assert _live_points("OTHER_SERIES") == []


@pytest.mark.parametrize("live", [None, {"resolved": 0, "window": 12, "mae_ratio": None}])
def test_publish_without_a_live_ratio_puts_no_metric(s3, live):
    _put_artifacts(s3, model_tarball(**RUN, live=live))
    handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)

    assert _keys(s3, "predictions/")  # published all the same
    assert _live_points() == []


@pytest.mark.parametrize("namespace", ["", "AWS/States"])
def test_publish_without_a_metrics_namespace_stops_before_writing(s3, monkeypatch, namespace):
    monkeypatch.setenv("METRICS_NAMESPACE", namespace)
    _put_artifacts(s3, model_tarball(**RUN))
    with pytest.raises(ConfigError, match="METRICS_NAMESPACE"):
        handler.handler({"action": "publish", "model_artifacts": ARTIFACTS, **RUN}, None)
    assert _keys(s3, "predictions/") == []


def test_publish_with_a_lake_prefix_writes_only_under_it(s3):
    _put_artifacts(s3, model_tarball(**RUN))
    event = {"action": "publish", "model_artifacts": ARTIFACTS, "lake_prefix": "smoke", **RUN}
    result = handler.handler(event, None)

    part = f"series={SERIES}/run_date=2026-11-26"
    assert result["predictions"] == f"s3://{BUCKET}/smoke/predictions/{part}"
    run = f"smoke/models/{part}/run_id={RUN['run_id']}"
    assert result["models"] == f"s3://{BUCKET}/{run}"
    assert _keys(s3, "predictions/") == [] and _keys(s3, "models/" + part) == []
    assert sorted(_keys(s3, "smoke/")) == [
        f"{run}/forecast.csv",
        f"{run}/metrics.json",
        f"smoke/predictions/{part}/forecast.parquet",
    ]


def test_publish_refuses_a_bad_lake_prefix_before_reading_anything(s3):
    _put_artifacts(s3, model_tarball(**RUN))
    event = {"action": "publish", "model_artifacts": ARTIFACTS, "lake_prefix": "../x", **RUN}
    with pytest.raises(ConfigError, match="lake_prefix"):
        handler.handler(event, None)
    assert _keys(s3, "") == [ARTIFACTS.split("/", 3)[3]]


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


# --- ipeacast.aws.publish.publish_model_archive: the function behind the publish action ---


def _archive_with(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(data)
    return str(path)


def _link_archive(kind: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in {"metrics.json": b"{}", "forecast.csv": b"x"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("forecast.parquet")
        link.type = kind
        link.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else "metrics.json"
        tar.addfile(link)
    return buf.getvalue()


def test_publish_model_archive_publishes_a_local_archive(tmp_path):
    archive = _archive_with(tmp_path, model_tarball(**RUN))
    lake = tmp_path / "lake"

    result = publish.publish_model_archive(archive, str(lake), SERIES, "2026-11-26")

    part = lake / "predictions" / f"series={SERIES}" / "run_date=2026-11-26"
    assert result["rows"] == 6 and result["predictions"] == str(part)
    assert (part / "forecast.parquet").read_bytes()[:4] == b"PAR1"
    models = lake / "models" / f"series={SERIES}" / "run_date=2026-11-26"
    assert (models / f"run_id={RUN['run_id']}" / "metrics.json").exists()


@pytest.mark.parametrize(
    ("members", "named"),
    [
        ({"../evil.txt": b"x", "metrics.json": b"{}"}, "evil"),
        ({"/abs/evil.txt": b"x", "metrics.json": b"{}"}, "evil"),
        ({"sub/../../evil.txt": b"x"}, "evil"),
    ],
)
def test_publish_model_archive_refuses_paths_that_leave_the_folder(tmp_path, members, named):
    archive = _archive_with(tmp_path, tarball(members))
    with pytest.raises(StorageError, match=named):
        publish.publish_model_archive(archive, str(tmp_path / "lake"), SERIES, "2026-11-26")
    assert not (tmp_path / "lake").exists()
    assert not (tmp_path.parent / "evil.txt").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_publish_model_archive_refuses_links(tmp_path, kind):
    archive = _archive_with(tmp_path, _link_archive(kind))
    with pytest.raises(StorageError, match=r"forecast\.parquet"):
        publish.publish_model_archive(archive, str(tmp_path / "lake"), SERIES, "2026-11-26")
    assert not (tmp_path / "lake").exists()


def test_publish_model_archive_refuses_an_oversized_archive(tmp_path, monkeypatch):
    data = model_tarball(**RUN)
    archive = _archive_with(tmp_path, data)
    monkeypatch.setattr(publish, "MAX_ARCHIVE_BYTES", len(data) - 1)
    with pytest.raises(StorageError, match="larger than"):
        publish.publish_model_archive(archive, str(tmp_path / "lake"), SERIES, "2026-11-26")
    assert not (tmp_path / "lake").exists()


def test_publish_model_archive_names_an_unreadable_archive(tmp_path):
    archive = _archive_with(tmp_path, b"not a tarball")
    with pytest.raises(StorageError, match=r"tar\.gz"):
        publish.publish_model_archive(archive, str(tmp_path / "lake"), SERIES, "2026-11-26")


@pytest.mark.parametrize(
    ("live", "points"),
    [
        ({"mae_ratio": 0.9}, [0.9]),
        ({"mae_ratio": 2}, [2.0]),
        ({"mae_ratio": None}, []),
        ({"mae_ratio": float("nan")}, []),
        ({"mae_ratio": float("inf")}, []),
        ({"mae_ratio": True}, []),
        ({}, []),
        (None, []),
    ],
)
def test_live_metric_data_is_one_finite_ratio_or_nothing(live, points):
    from ipeacast.aws.monitoring import live_metric_data

    data = live_metric_data(live, SERIES)
    assert [d["Value"] for d in data] == points
    assert all(d["Dimensions"] == [{"Name": "Series", "Value": SERIES}] for d in data)
