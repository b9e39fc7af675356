"""The SageMaker `CreateTrainingJob` request for one pipeline run, built by a pure function.

The Lambda `prepare_training` action calls `build_training_job_request` with the state machine
input and a frozen `TrainingConfig` read once from its environment; the state machine passes the
result, field by field, to `sagemaker:createTrainingJob.sync`. Nothing here talks to AWS, so the
request is tested against botocore's own service model without credentials.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.core.hyperparameters import (
    CHANNEL,
    FORECASTS_CHANNEL,
    HYPERPARAMETERS,
    RUN_HYPERPARAMETERS,
)
from ipeacast.core.lake import join, partition
from ipeacast.core.run import RUN_FIELDS, Run, input_field

# The keys of the request, in the order the state machine's Train state lists them. The
# template test checks that both sides agree.
REQUEST_KEYS = (
    "TrainingJobName",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableManagedSpotTraining",
    "EnableNetworkIsolation",
    "HyperParameters",
    "Tags",
)

JOB_NAME_MAX = 63
# Patterns are used with fullmatch: `re.match` with `$` also accepts a trailing "\n".
_JOB_NAME_RE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
EXECUTION_MAX = 2048  # an execution ARN (state machine ARN + execution name) fits easily
_ROLE_RE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_INSTANCE_RE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")
# An image pinned by digest, or by a tag that is not a moving one.
_IMAGE_RE = re.compile(
    r"(?P<repo>[a-z0-9][a-z0-9.-]*(:\d+)?/[a-z0-9._/-]+)"
    r"(@sha256:[0-9a-f]{64}|:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))"
)
_MOVING_TAGS = {"latest", "main", "master", "dev", "prod", "stable"}
# An AWS tag value: letters, digits, spaces and _.:/=+-@ (not tabs or newlines, as \s was).
_TAG_VALUE_RE = re.compile(r"[\w .:/=+\-@]*")


@dataclass(frozen=True)
class TrainingConfig:
    """Deployment settings for training jobs; built once from the Lambda environment."""

    lake_bucket: str
    image_uri: str
    role_arn: str
    instance_type: str = "ml.m5.large"
    volume_gb: int = 10
    max_runtime_seconds: int = 3600
    max_wait_seconds: int = 7200
    use_spot: bool = True
    kms_key_arn: str = ""
    environment: str = "dev"
    job_name_prefix: str = "ipeacast"
    hyperparameters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s3_lake_root(self.lake_bucket)  # raises on a bad bucket name
        match = _IMAGE_RE.fullmatch(self.image_uri or "")
        if not match:
            raise ConfigError(
                f"TRAINING_IMAGE_URI {self.image_uri!r} must be <registry>/<repo>:<tag> or "
                "<registry>/<repo>@sha256:<digest>"
            )
        if match.group("tag") in _MOVING_TAGS:
            raise ConfigError(
                f"TRAINING_IMAGE_URI {self.image_uri!r} uses the moving tag "
                f"{match.group('tag')!r}; use an immutable tag (e.g. the git commit) or a digest"
            )
        if not _ROLE_RE.fullmatch(self.role_arn or ""):
            raise ConfigError(f"TRAINING_ROLE_ARN {self.role_arn!r} is not an IAM role ARN")
        if not _INSTANCE_RE.fullmatch(self.instance_type or ""):
            raise ConfigError(
                f"TRAINING_INSTANCE_TYPE {self.instance_type!r} is not a SageMaker instance type "
                "(e.g. ml.m5.large)"
            )
        if not 1 <= self.volume_gb <= 16384:
            raise ConfigError(f"TRAINING_VOLUME_GB must be 1-16384, got {self.volume_gb}")
        if not 60 <= self.max_runtime_seconds <= 28 * 24 * 3600:
            raise ConfigError(
                f"TRAINING_MAX_RUNTIME_SECONDS must be 60-2419200, got {self.max_runtime_seconds}"
            )
        if self.use_spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ConfigError(
                f"TRAINING_MAX_WAIT_SECONDS ({self.max_wait_seconds}) must be >= "
                f"TRAINING_MAX_RUNTIME_SECONDS ({self.max_runtime_seconds}) for managed spot"
            )
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,19}", self.job_name_prefix):
            raise ConfigError(
                f"TRAINING_JOB_PREFIX {self.job_name_prefix!r} must be 1-20 letters, digits or '-'"
            )
        if not _TAG_VALUE_RE.fullmatch(self.environment) or not self.environment:
            raise ConfigError(f"ENVIRONMENT {self.environment!r} is not a valid tag value")
        for key, value in self.hyperparameters.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ConfigError(
                    f"TRAINING_HYPERPARAMETERS entry {key!r} must map a string to a string"
                )
            if key in RUN_HYPERPARAMETERS:
                raise ConfigError(
                    f"TRAINING_HYPERPARAMETERS must not set {key!r}: it comes from the run"
                )
            # fail here, before a training job is started, rather than in the container
            if key not in HYPERPARAMETERS:
                raise ConfigError(
                    f"TRAINING_HYPERPARAMETERS has unknown hyperparameter {key!r}; the trainer "
                    f"knows {', '.join(sorted(set(HYPERPARAMETERS) - RUN_HYPERPARAMETERS))}"
                )

    @property
    def lake_root(self) -> str:
        return s3_lake_root(self.lake_bucket)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TrainingConfig:
        """Read the configuration from environment variables, naming any that is wrong."""

        def required(name: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise ConfigError(f"environment variable {name} is required")
            return value

        defaults = {f.name: f.default for f in fields(cls)}

        def text(name: str, attr: str) -> str:
            return environ.get(name, "").strip() or defaults[attr]

        def integer(name: str, attr: str) -> int:
            raw = environ.get(name, "").strip()
            if not raw:
                return defaults[attr]
            try:
                return int(raw)
            except ValueError as exc:
                raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc

        def boolean(name: str, attr: str) -> bool:
            raw = environ.get(name, "").strip().lower()
            if not raw:
                return defaults[attr]
            if raw in {"true", "1", "yes"}:
                return True
            if raw in {"false", "0", "no"}:
                return False
            raise ConfigError(f"{name} must be true or false, got {raw!r}")

        raw_hp = environ.get("TRAINING_HYPERPARAMETERS", "").strip()
        try:
            hyperparameters = json.loads(raw_hp) if raw_hp else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(f"TRAINING_HYPERPARAMETERS is not JSON: {exc}") from exc
        if not isinstance(hyperparameters, dict):
            raise ConfigError("TRAINING_HYPERPARAMETERS must be a JSON object of strings")

        return cls(
            lake_bucket=required("LAKE_BUCKET"),
            image_uri=required("TRAINING_IMAGE_URI"),
            role_arn=required("TRAINING_ROLE_ARN"),
            instance_type=text("TRAINING_INSTANCE_TYPE", "instance_type"),
            volume_gb=integer("TRAINING_VOLUME_GB", "volume_gb"),
            max_runtime_seconds=integer("TRAINING_MAX_RUNTIME_SECONDS", "max_runtime_seconds"),
            max_wait_seconds=integer("TRAINING_MAX_WAIT_SECONDS", "max_wait_seconds"),
            use_spot=boolean("TRAINING_USE_SPOT", "use_spot"),
            kms_key_arn=text("TRAINING_KMS_KEY_ARN", "kms_key_arn"),
            environment=text("ENVIRONMENT", "environment"),
            job_name_prefix=text("TRAINING_JOB_PREFIX", "job_name_prefix"),
            hyperparameters=hyperparameters,
        )


def s3_lake_root(bucket: str) -> str:
    """`s3://<bucket>`, the deployment's lake root, after checking the bucket name."""
    if not _BUCKET_RE.fullmatch(bucket or ""):
        raise ConfigError(f"LAKE_BUCKET {bucket!r} is not a valid S3 bucket name")
    return f"s3://{bucket}"


def lake_root_from_env(environ: Mapping[str, str]) -> str:
    """`s3://<LAKE_BUCKET>`, the lake root the Lambda actions work in."""
    bucket = environ.get("LAKE_BUCKET", "").strip()
    if not bucket:
        raise ConfigError("environment variable LAKE_BUCKET is required")
    return s3_lake_root(bucket)


def run_from_event(event: Mapping[str, Any], lake_root: str) -> Run:
    """The run a Lambda action receives from the state machine (series, run_id, run_date and
    lake_prefix, all set by then), in the deployment's lake root."""
    return Run.from_fields(
        event, name=input_field, lake_root=lake_root, required=RUN_FIELDS, none_is_absent=False
    )


def training_job_name(prefix: str, series: str, run_id: str, execution: str) -> str:
    """`<prefix>-<series>-<run_id>-<hash of the execution>`, SageMaker-safe, <= 63 characters.

    SageMaker never reuses a training job name, so the name carries 8 hex digits of the
    execution's id: a new execution of the same run id (a re-run after a failure) gets a new job,
    while the run id itself stays unchanged everywhere else. A name that would be too long keeps
    its head and ends with a hash of all four parts.
    """
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", f"{prefix}-{series}-{run_id}").strip("-")
    tag = hashlib.sha256(execution.encode()).hexdigest()[:8]
    if len(slug) + 1 + len(tag) <= JOB_NAME_MAX:
        return f"{slug}-{tag}"
    digest = hashlib.sha256(f"{prefix}\0{series}\0{run_id}\0{execution}".encode()).hexdigest()
    head = slug[: JOB_NAME_MAX - 11].rstrip("-")
    return f"{head}-{digest[:10]}"


def published_forecasts(event: Mapping[str, Any]) -> bool:
    """Whether the series has published forecasts: the `published_forecasts` field is the
    KeyCount of the state machine's FindPublishedForecasts listing (MaxKeys 1) of
    `predictions/series=<code>/`, so 0 or 1; absent means none."""
    count = event.get("published_forecasts", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ConfigError(
            "input field 'published_forecasts' (the KeyCount of the predictions/ listing) must "
            f"be a non-negative integer, got {count!r:.80}"
        )
    return count > 0


def _s3_channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "application/x-parquet",
        "InputMode": "File",
    }


def build_training_job_request(event: Mapping[str, Any], cfg: TrainingConfig) -> dict[str, Any]:
    """The CreateTrainingJob request for one execution: input = its run's final partition, and
    the series' published forecasts when it has any (the optional `forecasts` channel, which the
    trainer scores against the realised months).

    `event` carries the run fields (series, run_id, run_date, lake_prefix), `execution`, the
    Step Functions execution id (`$$.Execution.Id`) that makes the job name unique, and
    `published_forecasts` (see `published_forecasts`). SageMaker fails a job whose channel
    prefix holds no object, so the channel is added only when the listing found one.
    """
    run = run_from_event(event, cfg.lake_root)
    execution = event.get("execution")
    if not isinstance(execution, str) or not 0 < len(execution) <= EXECUTION_MAX:
        raise ConfigError(
            "execution input field 'execution' (the execution id, $$.Execution.Id) is missing "
            f"or not a string of 1-{EXECUTION_MAX} characters: {execution!r:.80}"
        )
    name = training_job_name(cfg.job_name_prefix, run.series, run.run_id, execution)
    if not _JOB_NAME_RE.fullmatch(name):  # defensive: the construction above guarantees it
        raise ConfigError(f"training job name {name!r} is not valid for SageMaker")
    channels = [_s3_channel(CHANNEL, partition(run.lake, "final", run.series, run.run_date) + "/")]
    if published_forecasts(event):
        forecasts_uri = join(run.lake, "predictions", f"series={run.series}") + "/"
        channels.append(_s3_channel(FORECASTS_CHANNEL, forecasts_uri))
    output_uri = join(
        run.lake, "models", "_sagemaker", f"series={run.series}", f"run_date={run.run_date}"
    )
    hyperparameters = {
        **{str(k): str(v) for k, v in cfg.hyperparameters.items()},
        **run.to_hyperparameters(),
    }
    output_config: dict[str, Any] = {"S3OutputPath": output_uri + "/"}
    resource_config: dict[str, Any] = {
        "InstanceType": cfg.instance_type,
        "InstanceCount": 1,
        "VolumeSizeInGB": cfg.volume_gb,
    }
    if cfg.kms_key_arn:
        output_config["KmsKeyId"] = cfg.kms_key_arn
        resource_config["VolumeKmsKeyId"] = cfg.kms_key_arn
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": cfg.max_runtime_seconds}
    if cfg.use_spot:
        stopping["MaxWaitTimeInSeconds"] = cfg.max_wait_seconds
    tags = {
        "project": "ipeacast",
        "environment": cfg.environment,
        "series": run.series,
        "run_id": run.run_id,
        "run_date": run.run_date.isoformat(),
    }
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": cfg.image_uri, "TrainingInputMode": "File"},
        "RoleArn": cfg.role_arn,
        "InputDataConfig": channels,
        "OutputDataConfig": output_config,
        "ResourceConfig": resource_config,
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": cfg.use_spot,
        # The trainer only reads its channel and writes /opt/ml/model: it needs no network.
        "EnableNetworkIsolation": True,
        "HyperParameters": hyperparameters,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    assert tuple(request) == REQUEST_KEYS
    return request
