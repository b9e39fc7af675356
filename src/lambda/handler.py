"""AWS Lambda entry point of the state machine: thin, all logic lives in `ipeacast`.

Actions (`event["action"]`):
- `prepare_training`: returns the SageMaker CreateTrainingJob request for the execution
  (`ipeacast.aws.training_job.build_training_job_request`); it touches no AWS API.
- `publish`: publishes the training job's `model.tar.gz` to the lake with
  `ipeacast.aws.publish.publish_model_archive` (unpack safely, then `publish_forecast`, the
  function the local run uses), then puts the run's live accuracy (LiveMaeRatio) in CloudWatch
  (`ipeacast.aws.monitoring`).

The zip holds `ipeacast.core` and `ipeacast.aws` only (standard library code; the runtime's boto3
is the only dependency). Both actions read the run (series, run_id, run_date, lake_prefix) from
the event as an `ipeacast.core.run.Run` in the lake root `s3://LAKE_BUCKET`; the run's lake is
that root plus its `lake_prefix` (e.g. `smoke`). Configuration comes from environment variables,
read on each call (see docs/aws.md). Errors are raised, not returned: Step Functions sees the
error type and catches it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ipeacast.aws.monitoring import namespace_from_env, put_live_metrics
from ipeacast.aws.publish import publish_model_archive
from ipeacast.aws.training_job import (
    TrainingConfig,
    build_training_job_request,
    lake_root_from_env,
    run_from_event,
)
from ipeacast.core.errors import ConfigError

log = logging.getLogger("ipeacast.lambda")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def prepare_training(event: dict[str, Any]) -> dict[str, Any]:
    request = build_training_job_request(event, TrainingConfig.from_env(os.environ))
    log.info("training job %s prepared", request["TrainingJobName"])
    return request


def publish(event: dict[str, Any]) -> dict[str, Any]:
    run = run_from_event(event, lake_root_from_env(os.environ))
    namespace = namespace_from_env(os.environ)  # a bad configuration fails before publishing
    artifacts = event.get("model_artifacts")
    if not isinstance(artifacts, str) or not artifacts.startswith("s3://"):
        raise ConfigError(
            f"publish input field 'model_artifacts' must be an s3:// URI: {artifacts!r}"
        )
    published = publish_model_archive(artifacts, run.lake, run.series, run.run_date)
    log.info("published %s", published.get("predictions"))
    points = put_live_metrics(published.get("live"), run.series, namespace)
    log.info(
        "live accuracy: %s (%d metric point(s) in %s)", published.get("live"), points, namespace
    )
    fields = {"series": run.series, "run_id": run.run_id, "run_date": run.run_date.isoformat()}
    return {**fields, **published}


ACTIONS = {"prepare_training": prepare_training, "publish": publish}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    if action not in ACTIONS:
        raise ConfigError(f"event field 'action' must be one of {sorted(ACTIONS)}, got {action!r}")
    log.info("action %s for run %s", action, event.get("run_id"))
    return ACTIONS[action](event)
