"""Publish a trained model directory to the lake: what the publish Lambda and the local run call.

`publish_model_archive` unpacks the SageMaker `model.tar.gz` safely and calls `publish_forecast`,
the function the local run calls on its model directory. Standard library only (the Lambda zip
holds `ipeacast.core` and this subpackage, and the runtime's boto3): the trainer's files are
validated and copied as bytes.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import tarfile
import tempfile
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from ipeacast.core import lake, schema, storage
from ipeacast.core.errors import StorageError, TrainingError

log = logging.getLogger(__name__)

# The CSV copy of a forecast sits in a "_" folder inside the partition: readable by people, skipped
# by Athena/Hive/Spark, which read the Parquet files of predictions/.
CSV_FOLDER = "_csv"

# Declared once in schemas/predictions.json (also read by Terraform for the Glue table).
PREDICTION_COLUMNS = tuple(schema.columns(schema.PREDICTIONS))
PARTITION_COLUMNS = tuple(k["name"] for k in schema.load(schema.PREDICTIONS)["partition_keys"])
# Sidecars copied into models/series=X/run_date=D/ by publish_forecast (metrics.json required).
PUBLISHED_MODEL_FILES = ("metrics.json", "model.skops", "features.json", "versions.json")
# A model.tar.gz larger than this is refused before unpacking (the trainer's is well under 1 MB).
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024


def _number(row: dict[str, str], column: str, line: int) -> float:
    text = (row.get(column) or "").strip()
    if not text:
        raise TrainingError(f"forecast.csv line {line}: {column} is missing")
    try:
        value = float(text)
    except ValueError:
        raise TrainingError(f"forecast.csv line {line}: {column} is not a number") from None
    if not math.isfinite(value):
        raise TrainingError(f"forecast.csv line {line}: {column} is not finite")
    return value


def validate_forecast_csv(
    data: bytes, series: str | None = None, run_date: str | None = None
) -> list[dict[str, str]]:
    """Check the forecast (CSV form) before publication; raise TrainingError naming the fault."""
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TrainingError(f"forecast.csv is not readable CSV: {exc}") from exc
    if not rows:
        raise TrainingError("forecast.csv has no rows")
    missing = [c for c in (*PARTITION_COLUMNS, *PREDICTION_COLUMNS) if c not in rows[0]]
    if missing:
        raise TrainingError(f"forecast.csv lacks column(s) {missing}")
    horizons = []
    for line, row in enumerate(rows, start=2):
        point = _number(row, "point_forecast", line)
        lower = _number(row, "lower", line)
        upper = _number(row, "upper", line)
        if not lower <= point <= upper:
            raise TrainingError(
                f"forecast.csv line {line}: point_forecast {point} outside [{lower}, {upper}]"
            )
        try:
            horizons.append(int(row["horizon"]))
        except (TypeError, ValueError):
            raise TrainingError(f"forecast.csv line {line}: horizon is not an integer") from None
        if series is not None and row["series"] != series:
            raise TrainingError(f"forecast is for series {row['series']!r}, not {series!r}")
        if run_date is not None and row["run_date"] != run_date:
            raise TrainingError(f"forecast is for run_date {row['run_date']!r}, not {run_date!r}")
    if sorted(horizons) != list(range(1, len(rows) + 1)):
        raise TrainingError(f"forecast horizons must be 1..{len(rows)}, got {horizons}")
    return rows


def publish_forecast(
    model_dir: str | os.PathLike, lake_root: str, series: str, run_date: date | str
) -> dict[str, Any]:
    """Publish a trained model directory to the lake, replacing each partition whole.

    forecast.parquet is copied as bytes to `predictions/series=X/run_date=D/` (the Athena table)
    and forecast.csv to `predictions/series=X/run_date=D/_csv/` (a folder starting with "_", which
    Athena, Hive and Spark skip, so the Parquet table never tries to read the CSV). Their rows
    carry series and run_date too, equal to the partition's. metrics.json (required)
    and model.skops, features.json, versions.json (when present) go to
    `models/series=X/run_date=D/`. Everything is staged and validated first (the CSV's rows, the
    Parquet's magic bytes, the JSON), so bad outputs never replace anything. Then models/ is
    replaced, then predictions/: each partition is replaced whole, but not the two together, so a
    failure between the two replacements leaves the new model next to the previous forecast.
    Staging follows the lake's one convention (`ipeacast.core.lake.staging`).
    `model_dir` is a local path or a URI. Standard library only (runs in the publish Lambda).
    """
    model_dir = os.fspath(model_dir)
    run_date = str(run_date)
    pred_target = lake.partition(lake_root, "predictions", series, run_date)
    model_target = lake.partition(lake_root, "models", series, run_date)
    pred_stage = lake.staging(lake_root, "predictions", run_date)
    model_stage = lake.staging(lake_root, "models", run_date)
    try:
        csv_bytes = storage.read_bytes(lake.join(model_dir, "forecast.csv"))
        rows = validate_forecast_csv(csv_bytes, series, run_date)
        parquet = storage.read_bytes(lake.join(model_dir, "forecast.parquet"))
        if len(parquet) < 12 or parquet[:4] != b"PAR1" or parquet[-4:] != b"PAR1":
            raise TrainingError(f"{model_dir}/forecast.parquet is not a Parquet file")
        metrics_bytes = storage.read_bytes(lake.join(model_dir, "metrics.json"))
        try:
            json.loads(metrics_bytes)
        except ValueError as exc:
            raise TrainingError(f"{model_dir}/metrics.json is not valid JSON: {exc}") from exc
        storage.write_bytes(lake.join(pred_stage, "forecast.parquet"), parquet)
        storage.write_bytes(lake.join(pred_stage, CSV_FOLDER, "forecast.csv"), csv_bytes)
        storage.write_bytes(lake.join(model_stage, "metrics.json"), metrics_bytes)
        for name in PUBLISHED_MODEL_FILES[1:]:
            src = lake.join(model_dir, name)
            if storage.exists(src):
                storage.write_bytes(lake.join(model_stage, name), storage.read_bytes(src))
    except Exception:
        _remove_staging(lake_root, pred_stage, model_stage)
        raise
    try:
        storage.replace_prefix(model_stage, model_target)
        storage.replace_prefix(pred_stage, pred_target)
    except Exception as exc:
        raise StorageError(f"publishing the forecast to {pred_target} failed: {exc}") from exc
    finally:
        _remove_staging(lake_root, pred_stage, model_stage)
    log.info("published %d forecast rows to %s", len(rows), pred_target)
    return {"predictions": pred_target, "models": model_target, "rows": len(rows)}


def _remove_staging(lake_root: str, *stages: str) -> None:
    for stage in stages:
        storage.delete_prefix(stage)
    for zone in ("predictions", "models"):
        storage.remove_empty_folder(lake.join(lake_root, zone, lake.STAGING))


def extract_model_archive(archive: bytes, target: str | os.PathLike) -> None:
    """Unpack a SageMaker model.tar.gz into `target`, refusing anything but plain files/folders.

    A member with an absolute path, a `..` component, or that is a link, device or FIFO raises
    StorageError before anything is written; the `data` extraction filter is kept as a second
    guard.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                path = PurePosixPath(member.name)
                plain = member.isfile() or member.isdir()
                if path.is_absolute() or ".." in path.parts or not plain:
                    raise StorageError(f"model archive member {member.name!r} is not a plain file")
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise StorageError(f"model archive is not a readable tar.gz: {exc}") from exc


def publish_model_archive(
    archive_uri: str, lake_root: str, series: str, run_date: date | str
) -> dict[str, Any]:
    """Publish a SageMaker `model.tar.gz` (a URI or local path) with `publish_forecast`.

    The archive is read (at most MAX_ARCHIVE_BYTES), unpacked into a temporary folder by
    `extract_model_archive`, and published to `lake_root` exactly as a local run publishes its
    model directory. Standard library only: the publish Lambda calls this.
    """
    archive = storage.read_bytes(archive_uri)
    if len(archive) > MAX_ARCHIVE_BYTES:
        raise StorageError(
            f"{archive_uri} is {len(archive)} bytes, larger than the {MAX_ARCHIVE_BYTES} allowed"
        )
    with tempfile.TemporaryDirectory(prefix="ipeacast-model-") as tmp:
        extract_model_archive(archive, tmp)
        return publish_forecast(tmp, lake_root, series, run_date)
