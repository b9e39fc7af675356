"""A SageMaker `model.tar.gz` as the trainer leaves it, for the Lambda and state machine tests."""

from __future__ import annotations

import io
import json
import tarfile

import pandas as pd


def forecast_frame(series: str, run_date: str, run_id: str) -> pd.DataFrame:
    """Six forecast rows as the trainer writes them (predictions.json + series, run_date)."""
    months = pd.date_range("2026-12-01", periods=6, freq="MS")
    return pd.DataFrame(
        {
            "origin_date": pd.Timestamp("2026-10-31").date(),
            "target_month": months.date,
            "horizon": range(1, 7),
            "point_forecast": [70.0 + h for h in range(6)],
            "lower": [65.0 + h for h in range(6)],
            "upper": [75.0 + h for h in range(6)],
            "interval_level": 0.8,
            "model": "ridge",
            "run_id": run_id,
            "series": series,
            "run_date": run_date,
        }
    )


def tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def model_tarball(
    series: str, run_date: str, run_id: str, frame: pd.DataFrame | None = None
) -> bytes:
    frame = forecast_frame(series, run_date, run_id) if frame is None else frame
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    metrics = {"champion": "ridge", "mae": {"1": 1.0}}
    files = {
        "metrics.json": json.dumps(metrics).encode(),
        "forecast.parquet": buf.getvalue(),
        "forecast.csv": frame.to_csv(index=False).encode(),
    }
    return tarball(files)
