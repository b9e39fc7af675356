"""AWS Lambda entry point of the state machine: thin, all logic lives in `ipeacast`.

Actions (`event["action"]`):
- `prepare_training`: returns the SageMaker CreateTrainingJob request for the run
  (`ipeacast.training_job`); it touches no AWS API, so its role needs no data access.
- `publish`: reads the training job's `model.tar.gz` from S3 and publishes the forecast and
  metrics to the lake with `ipeacast.forecast.publish_forecast`, the same function the local run
  uses. It validates the CSV form and copies the files as bytes, so neither action needs pandas,
  pyarrow or numpy: the zip is pure Python and the runtime's boto3 is the only dependency.

Configuration comes from environment variables, read once per call: LAKE_BUCKET, LAKE_PREFIX,
TRAINING_IMAGE_URI, TRAINING_ROLE_ARN, TRAINING_INSTANCE_TYPE, ... (see docs/aws.md).
Errors are raised, not returned: Step Functions sees the error type and catches it.
"""

from __future__ import annotations

import io
import logging
import os
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from ipeacast import storage
from ipeacast.errors import ConfigError, StorageError
from ipeacast.training_job import (
    RunInput,
    TrainingConfig,
    build_training_job_request,
    lake_root_from_env,
)

log = logging.getLogger("ipeacast.lambda")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

MAX_ARTIFACT_BYTES = 256 * 1024 * 1024


def prepare_training(event: dict[str, Any]) -> dict[str, Any]:
    request = build_training_job_request(event, TrainingConfig.from_env(os.environ))
    log.info("training job %s prepared", request["TrainingJobName"])
    return request


def _extract_model(archive: bytes, target: Path) -> None:
    """Unpack model.tar.gz, refusing links and paths that leave the target folder."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            path = PurePosixPath(member.name)
            if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
                raise StorageError(f"model archive member {member.name!r} is not a plain file")
        tar.extractall(target, filter="data")


def publish(event: dict[str, Any]) -> dict[str, Any]:
    run = RunInput.from_event(event)
    artifacts = event.get("model_artifacts")
    if not isinstance(artifacts, str) or not artifacts.startswith("s3://"):
        raise ConfigError(
            f"publish input field 'model_artifacts' must be an s3:// URI: {artifacts!r}"
        )
    lake_root = lake_root_from_env(os.environ)
    archive = storage.read_bytes(artifacts)
    if len(archive) > MAX_ARTIFACT_BYTES:
        raise StorageError(f"{artifacts} is larger than {MAX_ARTIFACT_BYTES} bytes")

    from ipeacast.forecast import publish_forecast

    with tempfile.TemporaryDirectory(prefix="ipeacast-model-") as tmp:
        model_dir = Path(tmp)
        _extract_model(archive, model_dir)
        published = publish_forecast(str(model_dir), lake_root, run.series, run.run_date)
    result = {"series": run.series, "run_id": run.run_id, "run_date": run.run_date, **published}
    log.info("published %s", result.get("predictions"))
    return result


ACTIONS = {"prepare_training": prepare_training, "publish": publish}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    if action not in ACTIONS:
        raise ConfigError(f"event field 'action' must be one of {sorted(ACTIONS)}, got {action!r}")
    log.info("action %s for run %s", action, event.get("run_id"))
    return ACTIONS[action](event)
