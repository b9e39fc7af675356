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
    series: str,
    run_date: str,
    run_id: str,
    frame: pd.DataFrame | None = None,
    live: dict | None = None,
) -> bytes:
    """A model.tar.gz as the trainer writes it; `live` becomes metrics.json's live section."""
    frame = forecast_frame(series, run_date, run_id) if frame is None else frame
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    metrics = {"champion": "ridge", "mae": {"1": 1.0}} | ({"live": live} if live else {})
    files = {
        "metrics.json": json.dumps(metrics).encode(),
        "forecast.parquet": buf.getvalue(),
        "forecast.csv": frame.to_csv(index=False).encode(),
    }
    return tarball(files)


def run_training_container(request: dict, work_dir) -> str | None:
    """Do what SageMaker does with a CreateTrainingJob request, with our real trainer.

    Downloads each channel (S3Prefix) as SageMaker does, keeping the keys' paths below the
    prefix (`train` into <work>/download, `forecasts` into <work>/forecasts), writes the
    hyperparameters, runs `ipeacast.ml.trainer.main` on that /opt/ml-style tree, then uploads
    model/ as `<S3OutputPath>/<job>/output/model.tar.gz`. Returns None on success, else the
    failure reason the trainer wrote (what DescribeTrainingJob reports as FailureReason).
    """
    from pathlib import Path

    from ipeacast.core import storage
    from ipeacast.core.hyperparameters import CHANNEL, FORECASTS_CHANNEL
    from ipeacast.ml.local_training import prepare_local_tree
    from ipeacast.ml.trainer import main

    work = Path(work_dir) / request["TrainingJobName"]
    folders = {CHANNEL: work / "download", FORECASTS_CHANNEL: work / "forecasts"}
    for channel in request["InputDataConfig"]:
        prefix = channel["DataSource"]["S3DataSource"]["S3Uri"]
        target = folders[channel["ChannelName"]]
        target.mkdir(parents=True)
        for uri in storage.list_files(prefix):
            path = target / uri[len(prefix) :].lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(storage.read_bytes(uri))
    forecasts = folders[FORECASTS_CHANNEL] if folders[FORECASTS_CHANNEL].is_dir() else None
    base = prepare_local_tree(work / "ml", folders[CHANNEL], request["HyperParameters"], forecasts)
    if main(["--base-dir", str(base), "--quiet"]) != 0:
        return (base / "output" / "failure").read_text().strip().splitlines()[0]
    files = {p.name: p.read_bytes() for p in sorted((base / "model").iterdir()) if p.is_file()}
    output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    storage.write_bytes(
        f"{output}/{request['TrainingJobName']}/output/model.tar.gz", tarball(files)
    )
    return None
