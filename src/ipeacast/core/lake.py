"""The data lake layout: one place that builds every prefix, for local folders and S3 alike."""

from __future__ import annotations

import uuid
from datetime import date

from ipeacast.core.run import check_series
from ipeacast.core.uri import join

__all__ = ["STAGING", "ZONES", "join", "partition", "staging"]

ZONES = ("raw", "interim", "final", "models", "predictions", "artifacts", "reports")
# Staged writes live under `<zone>/_staging/`: the "_" makes Hive, Spark and Athena skip them.
STAGING = "_staging"


def partition(root: str, zone: str, series: str, run_date: date | str) -> str:
    """`<root>/<zone>/series=<code>/run_date=<YYYY-MM-DD>` — the unit we publish and replace."""
    if zone not in ZONES:
        raise ValueError(f"unknown lake zone {zone!r}")
    return join(root, zone, f"series={check_series(series)}", f"run_date={run_date}")


def staging(root: str, zone: str, run_date: date | str) -> str:
    """A new staging prefix for one write into `zone`: `<root>/<zone>/_staging/<date>-<token>`.

    Every staged write (load's Spark output, publish's forecast and model files) stages here and
    then replaces its partitions; the staging prefix is removed after, whether or not it worked.
    """
    if zone not in ZONES:
        raise ValueError(f"unknown lake zone {zone!r}")
    return join(root, zone, STAGING, f"{run_date}-{uuid.uuid4().hex[:12]}")
