"""The data lake layout: one place that builds every prefix, for local folders and S3 alike."""

from __future__ import annotations

import uuid
from datetime import date

from ipeacast.core.run import check_run_id, check_series
from ipeacast.core.uri import join

__all__ = ["STAGING", "ZONES", "join", "model_run", "partition", "staging", "staging_scope"]

ZONES = ("raw", "interim", "final", "models", "predictions", "accuracy", "artifacts", "reports")
# Staged writes live under `<zone>/_staging/`: the "_" makes Hive, Spark and Athena skip them.
STAGING = "_staging"


def partition(root: str, zone: str, series: str, run_date: date | str) -> str:
    """`<root>/<zone>/series=<code>/run_date=<YYYY-MM-DD>` — the unit we publish and replace."""
    if zone not in ZONES:
        raise ValueError(f"unknown lake zone {zone!r}")
    return join(root, zone, f"series={check_series(series)}", f"run_date={run_date}")


def staging_scope(root: str, zone: str, run_date: date | str, series: str | None = None) -> str:
    """Where the staged writes for one partition stage: `<zone>/_staging/series=X/run_date=D`
    (without a series, for a write of many series at once: `<zone>/_staging/run_date=D`).

    The "_" makes Hive, Spark and Athena skip it. The next write of the same partition removes
    what an earlier, crashed one left there (`storage.clear_staging`); two writes of the same
    partition at once are a conflict the run lock rules out.
    """
    if zone not in ZONES:
        raise ValueError(f"unknown lake zone {zone!r}")
    scope = [f"series={check_series(series)}"] if series is not None else []
    return join(root, zone, STAGING, *scope, f"run_date={run_date}")


def staging(root: str, zone: str, run_date: date | str, series: str | None = None) -> str:
    """A new staging prefix for one write, inside its `staging_scope`.

    Every staged write (load's Spark output, publish's forecast and model files) stages here and
    then replaces its partition; the staging prefix is removed after, whether or not it worked.
    """
    return join(staging_scope(root, zone, run_date, series), uuid.uuid4().hex[:12])


def model_run(root: str, series: str, run_date: date | str, run_id: str) -> str:
    """`<root>/models/series=X/run_date=D/run_id=R`: one run's model files, written once.

    The forecast in `predictions/` names its run (`run_id` column), so a reader goes from the
    forecast to the model that made it; a run's folder is complete before its forecast is
    published (ipeacast.aws.publish).
    """
    return join(partition(root, "models", series, run_date), f"run_id={check_run_id(run_id)}")
