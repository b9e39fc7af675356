"""The CreateTrainingJob request, checked against botocore's own SageMaker service model."""

from __future__ import annotations

import re

import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import ParamValidator

from ipeacast.aws.training_job import (
    JOB_NAME_MAX,
    REQUEST_KEYS,
    TrainingConfig,
    build_training_job_request,
    training_job_name,
)
from ipeacast.core.errors import ConfigError

ENV = {
    "LAKE_BUCKET": "ipeacast-dev-lake-123456789012",
    "TRAINING_IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ipeacast-train:3f9c2ab",
    "TRAINING_ROLE_ARN": "arn:aws:iam::123456789012:role/ipeacast-dev-training",
    "TRAINING_INSTANCE_TYPE": "ml.m5.large",
    "ENVIRONMENT": "dev",
}
EVENT = {"series": "EIA366_PBRENT366", "run_id": "20261126-100001", "run_date": "2026-11-26"}
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ipeacast-dev-pipeline:run-1"


@pytest.fixture(scope="module")
def sagemaker_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def _input_shape(model):
    return model.operation_model("CreateTrainingJob").input_shape


def _request(event=None, **env):
    event = {**EVENT, "execution": EXECUTION, **(event or {})}
    return build_training_job_request(event, TrainingConfig.from_env({**ENV, **env}))


def test_request_passes_botocore_parameter_validation(sagemaker_model):
    report = ParamValidator().validate(_request(), _input_shape(sagemaker_model))
    assert not report.has_errors(), report.generate_report()


def test_request_is_accepted_by_a_stubbed_sagemaker_client():
    client = botocore.session.get_session().create_client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    request = _request()
    with Stubber(client) as stub:
        stub.add_response("create_training_job", {"TrainingJobArn": "arn:x"}, request)
        assert client.create_training_job(**request)["TrainingJobArn"] == "arn:x"


def test_names_tags_and_instance_type_match_the_service_model_patterns(sagemaker_model):
    shape = _input_shape(sagemaker_model)
    request = _request()
    name_pattern = shape.members["TrainingJobName"].metadata["pattern"]
    assert re.fullmatch(name_pattern, request["TrainingJobName"])
    tag_value = shape.members["Tags"].member.members["Value"].metadata["pattern"]
    tag_value = tag_value.replace(r"\p{L}", "a-zA-Z").replace(r"\p{Z}", " ")
    tag_value = tag_value.replace(r"\p{N}", "0-9")
    for tag in request["Tags"]:
        assert re.fullmatch(tag_value, tag["Value"]), tag
    instance_types = shape.members["ResourceConfig"].members["InstanceType"].enum
    assert request["ResourceConfig"]["InstanceType"] in instance_types


def test_request_reads_the_final_partition_and_writes_under_models():
    request = _request()
    (channel,) = request["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://ipeacast-dev-lake-123456789012/final/series=EIA366_PBRENT366/run_date=2026-11-26/"
    )
    assert request["OutputDataConfig"]["S3OutputPath"].startswith(
        "s3://ipeacast-dev-lake-123456789012/models/"
    )
    assert request["AlgorithmSpecification"]["TrainingImage"] == ENV["TRAINING_IMAGE_URI"]
    assert request["RoleArn"] == ENV["TRAINING_ROLE_ARN"]
    assert tuple(request) == REQUEST_KEYS


def test_the_runs_lake_prefix_puts_channel_and_output_under_it():
    request = _request({"lake_prefix": "smoke"})
    uri = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    root = "s3://ipeacast-dev-lake-123456789012/smoke"
    assert uri == f"{root}/final/series=EIA366_PBRENT366/run_date=2026-11-26/"
    assert request["OutputDataConfig"]["S3OutputPath"] == (
        f"{root}/models/_sagemaker/series=EIA366_PBRENT366/run_date=2026-11-26/"
    )
    assert request["HyperParameters"] == EVENT  # the run id and the rest are unchanged
    assert request["TrainingJobName"] == _request()["TrainingJobName"]


@pytest.mark.parametrize("lake_prefix", ["", "smoke"])
def test_published_forecasts_add_the_forecasts_channel(sagemaker_model, lake_prefix):
    request = _request({"published_forecasts": 1, "lake_prefix": lake_prefix})
    train, forecasts = request["InputDataConfig"]
    root = "s3://ipeacast-dev-lake-123456789012" + (f"/{lake_prefix}" if lake_prefix else "")
    assert train["ChannelName"] == "train"
    assert train["DataSource"]["S3DataSource"]["S3Uri"].startswith(f"{root}/final/")
    assert forecasts["ChannelName"] == "forecasts"
    source = forecasts["DataSource"]["S3DataSource"]
    assert source["S3Uri"] == f"{root}/predictions/series=EIA366_PBRENT366/"
    assert source["S3DataType"] == "S3Prefix"
    report = ParamValidator().validate(request, _input_shape(sagemaker_model))
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("count", [0, None])
def test_no_published_forecasts_means_the_train_channel_only(count):
    event = {} if count is None else {"published_forecasts": count}
    (channel,) = _request(event)["InputDataConfig"]
    assert channel["ChannelName"] == "train"


@pytest.mark.parametrize("count", [-1, "1", True, 1.5, [1]])
def test_a_bad_published_forecasts_count_is_named(count):
    with pytest.raises(ConfigError, match="'published_forecasts'"):
        _request({"published_forecasts": count})


def test_managed_spot_waits_at_least_as_long_as_it_runs():
    request = _request(TRAINING_MAX_RUNTIME_SECONDS="1800", TRAINING_MAX_WAIT_SECONDS="3600")
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 1800,
        "MaxWaitTimeInSeconds": 3600,
    }
    on_demand = _request(TRAINING_USE_SPOT="false")
    assert on_demand["EnableManagedSpotTraining"] is False
    assert "MaxWaitTimeInSeconds" not in on_demand["StoppingCondition"]


def test_hyperparameters_are_all_strings_and_carry_the_run():
    request = _request(TRAINING_HYPERPARAMETERS='{"horizons": "6", "alpha": "0.5"}')
    hp = request["HyperParameters"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in hp.items())
    assert hp == {"horizons": "6", "alpha": "0.5", **EVENT}


def test_hyperparameters_are_ones_the_trainer_accepts():
    from ipeacast.ml.trainer import parse_hyperparameters

    request = _request(TRAINING_HYPERPARAMETERS='{"horizons": "6"}')
    run, cfg = parse_hyperparameters(request["HyperParameters"])
    assert run.to_hyperparameters() == EVENT
    assert cfg.horizons == 6


def test_kms_key_encrypts_output_and_volume():
    key = "arn:aws:kms:us-east-1:123456789012:key/abcd"
    request = _request(TRAINING_KMS_KEY_ARN=key)
    assert request["OutputDataConfig"]["KmsKeyId"] == key
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == key


def test_job_name_is_stable_per_execution_and_differs_between_executions_and_runs():
    first = _request()["TrainingJobName"]
    assert first == _request()["TrainingJobName"]
    assert re.fullmatch(r"ipeacast-EIA366-PBRENT366-20261126-100001-[0-9a-f]{8}", first)
    # a re-run of the same run id is a new execution: a new job (SageMaker never reuses a name)
    rerun = _request({"execution": EXECUTION + "-again"})["TrainingJobName"]
    assert rerun != first and rerun.startswith("ipeacast-EIA366-PBRENT366-20261126-100001-")
    assert _request({"run_id": "20261126-100002"})["TrainingJobName"] != first


def test_long_job_names_are_cut_to_63_characters_and_stay_unique(sagemaker_model):
    pattern = _input_shape(sagemaker_model).members["TrainingJobName"].metadata["pattern"]
    series = "S" * 64
    names = {
        training_job_name("ipeacast", series, "a" * 48, EXECUTION),
        training_job_name("ipeacast", series, "a" * 47 + "b", EXECUTION),
        training_job_name("ipeacast", series, "a" * 48, EXECUTION + "-again"),
        training_job_name("ipeacast-" + "p" * 11, "EIA366_PBRENT366", "r" * 48, EXECUTION),
    }
    assert len(names) == 4
    for name in names:
        assert len(name) <= JOB_NAME_MAX
        assert re.fullmatch(pattern, name), name


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**EVENT, "series": "bad/series"}, "series"),
        ({k: v for k, v in EVENT.items() if k != "series"}, "series"),
        ({**EVENT, "run_id": "has_underscore"}, "run_id"),
        ({**EVENT, "run_id": 7}, "run_id"),
        ({**EVENT, "run_date": "26/11/2026"}, "run_date"),
        ({**EVENT, "lake_prefix": "Smoke"}, "lake_prefix"),
        ({**EVENT, "lake_prefix": "../prod"}, "lake_prefix"),
        ({**EVENT, "lake_prefix": "s" * 33}, "lake_prefix"),
        ({**EVENT, "lake_prefix": None}, "lake_prefix"),
        ({**EVENT, "execution": None}, "execution"),
        ({**EVENT, "execution": ""}, "execution"),
    ],
)
def test_bad_input_names_the_field(event, field):
    event = {"execution": EXECUTION, **event}
    with pytest.raises(ConfigError, match=field):
        build_training_job_request(event, TrainingConfig.from_env(ENV))


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"LAKE_BUCKET": ""}, "LAKE_BUCKET"),
        ({"LAKE_BUCKET": "Not_A_Bucket"}, "LAKE_BUCKET"),
        ({"TRAINING_IMAGE_URI": ENV["TRAINING_IMAGE_URI"].rsplit(":", 1)[0]}, "TRAINING_IMAGE"),
        ({"TRAINING_IMAGE_URI": ENV["TRAINING_IMAGE_URI"].rsplit(":", 1)[0] + ":latest"}, "moving"),
        ({"TRAINING_ROLE_ARN": "ipeacast-role"}, "TRAINING_ROLE_ARN"),
        ({"TRAINING_INSTANCE_TYPE": "m5.large"}, "TRAINING_INSTANCE_TYPE"),
        ({"TRAINING_MAX_RUNTIME_SECONDS": "ten"}, "TRAINING_MAX_RUNTIME_SECONDS"),
        ({"TRAINING_MAX_WAIT_SECONDS": "60"}, "TRAINING_MAX_WAIT_SECONDS"),
        ({"TRAINING_USE_SPOT": "maybe"}, "TRAINING_USE_SPOT"),
        ({"TRAINING_HYPERPARAMETERS": '{"horizons": 6}'}, "TRAINING_HYPERPARAMETERS"),
        ({"TRAINING_HYPERPARAMETERS": '{"horizon": "6"}'}, "unknown hyperparameter 'horizon'"),
        ({"TRAINING_HYPERPARAMETERS": '{"run_id": "x"}'}, "must not set 'run_id'"),
        ({"TRAINING_HYPERPARAMETERS": "[1]"}, "TRAINING_HYPERPARAMETERS"),
    ],
)
def test_bad_configuration_names_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        TrainingConfig.from_env({**ENV, **env})


def test_image_pinned_by_digest_is_accepted():
    digest = "sha256:" + "a" * 64
    uri = ENV["TRAINING_IMAGE_URI"].rsplit(":", 1)[0] + "@" + digest
    request = _request(TRAINING_IMAGE_URI=uri)
    assert request["AlgorithmSpecification"]["TrainingImage"] == uri


def _config(**overrides) -> TrainingConfig:
    fields = {
        "lake_bucket": ENV["LAKE_BUCKET"],
        "image_uri": ENV["TRAINING_IMAGE_URI"],
        "role_arn": ENV["TRAINING_ROLE_ARN"],
        "instance_type": ENV["TRAINING_INSTANCE_TYPE"],
        "environment": ENV["ENVIRONMENT"],
    }
    return TrainingConfig(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("lake_bucket", ENV["LAKE_BUCKET"], "LAKE_BUCKET"),
        ("image_uri", ENV["TRAINING_IMAGE_URI"], "TRAINING_IMAGE_URI"),
        ("image_uri", ENV["TRAINING_IMAGE_URI"].rsplit(":", 1)[0] + "@sha256:" + "a" * 64, "IMAGE"),
        ("role_arn", ENV["TRAINING_ROLE_ARN"], "TRAINING_ROLE_ARN"),
        ("instance_type", ENV["TRAINING_INSTANCE_TYPE"], "TRAINING_INSTANCE_TYPE"),
        ("job_name_prefix", "ipeacast", "TRAINING_JOB_PREFIX"),
        ("environment", "dev", "ENVIRONMENT"),
    ],
)
def test_a_value_with_a_trailing_newline_is_rejected(field, value, name):
    # `re.match` with `$` accepts "value\n"; the validators match the whole string.
    _config(**{field: value})  # the value itself is fine

    with pytest.raises(ConfigError, match=name):
        _config(**{field: value + "\n"})


def test_an_environment_tag_value_may_hold_spaces_but_no_tabs_or_newlines():
    assert _config(environment="dev 2").environment == "dev 2"
    for bad in ("dev\tx", "dev\nx"):
        with pytest.raises(ConfigError, match="ENVIRONMENT"):
            _config(environment=bad)
