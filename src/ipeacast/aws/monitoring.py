"""The live record as a CloudWatch metric: what the publish Lambda puts after each run.

`LiveMaeRatio` (dimension `Series`) is the realised MAE of the series' latest resolved forecasts
divided by the last-price baseline's on the same targets (`ipeacast.ml.accuracy.live_summary`,
carried by the trainer's metrics.json). Above 1 the published forecasts did worse than "no
change" lately; Terraform's live-accuracy alarm watches it (docs/aws.md, "Monitoring"). A run
with nothing resolved yet puts no data point, and the alarm keeps its state.

Standard library only, with the runtime's boto3 imported on use (the Lambda zip is core + aws).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ipeacast.core.errors import ConfigError

METRIC = "LiveMaeRatio"
NAMESPACE_ENV = "METRICS_NAMESPACE"


def live_metric_data(live: Mapping[str, Any] | None, series: str) -> list[dict[str, Any]]:
    """The PutMetricData entries for a run's live summary: one LiveMaeRatio point, or none when
    no ratio is known (nothing resolved yet, or a zero baseline error)."""
    ratio = (live or {}).get("mae_ratio")
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not math.isfinite(ratio):
        return []
    return [
        {
            "MetricName": METRIC,
            "Dimensions": [{"Name": "Series", "Value": series}],
            "Value": float(ratio),
            "Unit": "None",
        }
    ]


def namespace_from_env(environ: Mapping[str, str]) -> str:
    namespace = environ.get(NAMESPACE_ENV, "").strip()
    if not namespace or namespace.startswith("AWS/"):
        raise ConfigError(
            f"environment variable {NAMESPACE_ENV} must name the pipeline's CloudWatch "
            f"namespace (e.g. ipeacast/dev), got {namespace!r}"
        )
    return namespace


def put_live_metrics(
    live: Mapping[str, Any] | None, series: str, namespace: str, client: Any = None
) -> int:
    """Put the run's live metric in `namespace`; returns the number of data points put."""
    data = live_metric_data(live, series)
    if data:
        if client is None:
            import boto3

            client = boto3.client("cloudwatch")
        client.put_metric_data(Namespace=namespace, MetricData=data)
    return len(data)
