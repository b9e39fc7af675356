"""AWS Lambda entry point of the state machine: thin, all logic lives in `ipeacast`.

Actions (`event["action"]`):
- `prepare_training`: returns the SageMaker CreateTrainingJob request for the execution
  (`ipeacast.training_job.build_training_job_request`); it touches no AWS API.
- `publish`: publishes the training job's `model.tar.gz` to the lake with
  `ipeacast.forecast.publish_model_archive` (unpack safely, then `publish_forecast`, the function
  the local run uses). Standard library only, so the zip is pure Python and the runtime's boto3
  is the only dependency.

Both actions read the run fields (series, run_id, run_date, lake_prefix) with
`ipeacast.training_job.RunInput`; the run's lake root is `s3://LAKE_BUCKET[/LAKE_PREFIX]` plus the
execution input's `lake_prefix` (e.g. `smoke`). Configuration comes from environment variables,
read on each call (see docs/aws.md). Errors are raised, not returned: Step Functions sees the
error type and catches it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ipeacast.errors import ConfigError
from ipeacast.forecast import publish_model_archive
from ipeacast.training_job import (
    RunInput,
    TrainingConfig,
    build_training_job_request,
    lake_root_from_env,
)

log = logging.getLogger("ipeacast.lambda")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def prepare_training(event: dict[str, Any]) -> dict[str, Any]:
    request = build_training_job_request(event, TrainingConfig.from_env(os.environ))
    log.info("training job %s prepared", request["TrainingJobName"])
    return request


def publish(event: dict[str, Any]) -> dict[str, Any]:
    run = RunInput.from_event(event)
    artifacts = event.get("model_artifacts")
    if not isinstance(artifacts, str) or not artifacts.startswith("s3://"):
        raise ConfigError(
            f"publish input field 'model_artifacts' must be an s3:// URI: {artifacts!r}"
        )
    lake_root = run.lake_root(lake_root_from_env(os.environ))
    published = publish_model_archive(artifacts, lake_root, run.series, run.run_date)
    log.info("published %s", published.get("predictions"))
    return {"series": run.series, "run_id": run.run_id, "run_date": run.run_date, **published}


ACTIONS = {"prepare_training": prepare_training, "publish": publish}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    if action not in ACTIONS:
        raise ConfigError(f"event field 'action' must be one of {sorted(ACTIONS)}, got {action!r}")
    log.info("action %s for run %s", action, event.get("run_id"))
    return ACTIONS[action](event)
