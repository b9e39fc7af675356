"""`ipeacast show`: the latest published forecast of a series, its run, and how the forecasts
published so far did against what happened. Reads the lake's Parquet directly (a folder or
s3://), no Spark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from ipeacast.aws.publish import FORECAST_FILE
from ipeacast.core import lake, storage
from ipeacast.core.errors import StorageError
from ipeacast.ml import accuracy
from ipeacast.ml.frames import read_parquet


@dataclass(frozen=True)
class Published:
    """Every forecast published for a series (one per run date), and the latest final table."""

    forecasts: pd.DataFrame  # predictions rows of every run date, with `run_date`
    latest_run_date: str
    metrics: dict
    table: pd.DataFrame | None


def _run_dates(root: str, zone: str, series: str) -> list[str]:
    prefix = lake.join(root, zone, f"series={series}") + "/run_date="
    found = {
        u[len(prefix) :].split("/", 1)[0] for u in storage.list_files(prefix.rsplit("/", 1)[0])
    }
    return sorted(d for d in found if d and not d.startswith(("_", ".")))


def load(root: str, series: str) -> Published:
    """Read what the lake holds for `series`; StorageError when nothing is published yet."""
    dates = _run_dates(root, "predictions", series)
    if not dates:
        raise StorageError(
            f"no forecast of {series} published under {lake.join(root, 'predictions')}"
        )
    frames = []
    for day in dates:
        uri = lake.join(lake.partition(root, "predictions", series, day), FORECAST_FILE)
        if storage.exists(uri):
            frame = read_parquet(storage.read_bytes(uri))
            frames.append(frame.assign(series=series, run_date=day))
    forecasts = pd.concat(frames, ignore_index=True)
    latest = forecasts[forecasts["run_date"] == dates[-1]]
    run_id = str(latest["run_id"].iloc[0])
    model_run = lake.model_run(root, series, dates[-1], run_id)
    metrics = json.loads(storage.read_bytes(lake.join(model_run, "metrics.json")))
    finals = _run_dates(root, "final", series)
    table = None
    if finals:
        files = storage.list_files(lake.partition(root, "final", series, finals[-1]))
        data = [u for u in files if u.endswith(".parquet") and "/_" not in u and "/." not in u]
        table = pd.concat([read_parquet(storage.read_bytes(u)) for u in data], ignore_index=True)
    return Published(forecasts, dates[-1], metrics, table)


def render(published: Published, series: str) -> str:
    """The text `ipeacast show` prints."""
    latest = published.forecasts[published.forecasts["run_date"] == published.latest_run_date]
    run_id = latest["run_id"].iloc[0]
    origin = latest["origin_date"].iloc[0]
    lines = [
        f"{series}: latest forecast, run {run_id} (run date {published.latest_run_date}), "
        f"origin {origin}",
        latest[["target_month", "horizon", "point_forecast", "lower", "upper", "model"]].to_string(
            index=False, float_format=lambda v: f"{v:.2f}"
        ),
        "",
    ]
    if published.table is None:
        lines.append("Realised accuracy: no final table in the lake to score against.")
        return "\n".join(lines)
    scored = accuracy.score(published.forecasts, published.table)
    summary = accuracy.live_summary(scored)
    if not summary["resolved"]:
        lines.append("Realised accuracy: no published forecast has a complete target month yet.")
        return "\n".join(lines)
    lines.append(
        f"Realised accuracy of the {summary['resolved']} forecasts resolved so far "
        f"(one per origin and horizon):"
    )
    for horizon, row in summary["per_horizon"].items():
        lines.append(
            f"  {horizon:<4} resolved {row['resolved']:>3}  MAE {row['mae']:.2f}  "
            f"interval coverage {row['coverage']:.0%}"
        )
    if summary["mae_ratio"] is not None:
        lines.append(
            f"  MAE / last-price baseline over the latest {summary['window']} targets: "
            f"{summary['mae_ratio']:.3f}"
        )
    return "\n".join(lines)
