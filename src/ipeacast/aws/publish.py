"""Publish a trained model directory to the lake: what the publish Lambda and the local run call.

`publish_model_archive` unpacks the SageMaker `model.tar.gz` safely and calls `publish_forecast`,
the function the local run calls on its model directory. Standard library only (the Lambda zip
holds `ipeacast.core` and this subpackage, and the runtime's boto3): the trainer's files are
validated and copied as bytes.

What readers see (docs/reliability.md, "Publication"): a run's model files go to a folder of
their own, `models/series=X/run_date=D/run_id=R/`, complete before anything points at them; then
the forecast, one object (`predictions/series=X/run_date=D/forecast.parquet`, the Athena table's
partition), replaces the previous one in one step (a rename locally, one CopyObject on S3, which
readers see whole or not at all). That switch publishes the run: the forecast's `run_id` column
names the model folder, so model and forecast always belong to the same run.
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

FORECAST_FILE = "forecast.parquet"  # the one object of a predictions/ partition
ACCURACY_FILE = "accuracy.parquet"  # the one object of an accuracy/ partition (when scored)
# Declared once in schemas/predictions.json (also read by Terraform for the Glue table).
PREDICTION_COLUMNS = tuple(schema.columns(schema.PREDICTIONS))
PARTITION_COLUMNS = tuple(k["name"] for k in schema.load(schema.PREDICTIONS)["partition_keys"])
# Copied into the run's model folder by publish_forecast (metrics.json and forecast.csv, the
# forecast's readable copy, required).
PUBLISHED_MODEL_FILES = (
    "metrics.json",
    "forecast.csv",
    "model.skops",
    "features.json",
    "versions.json",
)
REQUIRED_MODEL_FILES = PUBLISHED_MODEL_FILES[:2]
# Run folders kept per partition besides the one just published: the previous run's (readers that
# read the forecast just before the switch still find its model) and one left by a crash.
KEEP_OTHER_RUNS = 2
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
        if row["run_id"] != rows[0]["run_id"]:
            raise TrainingError(f"forecast.csv line {line}: a second run_id {row['run_id']!r}")
    if sorted(horizons) != list(range(1, len(rows) + 1)):
        raise TrainingError(f"forecast horizons must be 1..{len(rows)}, got {horizons}")
    return rows


def publish_forecast(
    model_dir: str | os.PathLike, lake_root: str, series: str, run_date: date | str
) -> dict[str, Any]:
    """Publish a trained model directory to the lake as one unit, as readers see it.

    1. Validate: forecast.csv's rows (one run, this series and run date, horizons 1..H, finite
       numbers with lower <= point <= upper), forecast.parquet's magic bytes, metrics.json.
       Bad outputs never replace anything.
    2. The run's model files (PUBLISHED_MODEL_FILES present in `model_dir`) are staged, then
       become `models/series=X/run_date=D/run_id=R/`, which nothing points at yet.
    3. accuracy.parquet (earlier forecasts scored, when the trainer had any) replaces the
       partition `accuracy/series=X/run_date=D/` (one object).
    4. forecast.parquet is staged, then replaces the partition `predictions/series=X/run_date=D/`
       (one object): the switch. Before it readers see the previous forecast and its run's model,
       after it the new ones; never a mix, never nothing.
    5. Run folders other than this one and the KEEP_OTHER_RUNS newest others are deleted.
    Staging follows `ipeacast.core.lake.staging`; what a crashed publish of this partition left
    there is removed first. `model_dir` is a local path or a URI.
    """
    model_dir = os.fspath(model_dir)
    run_date = str(run_date)
    csv_bytes = storage.read_bytes(lake.join(model_dir, "forecast.csv"))
    rows = validate_forecast_csv(csv_bytes, series, run_date)
    run_id = rows[0]["run_id"]
    parquet = storage.read_bytes(lake.join(model_dir, FORECAST_FILE))
    if len(parquet) < 12 or parquet[:4] != b"PAR1" or parquet[-4:] != b"PAR1":
        raise TrainingError(f"{model_dir}/{FORECAST_FILE} is not a Parquet file")
    metrics = storage.read_bytes(lake.join(model_dir, "metrics.json"))
    try:
        live = json.loads(metrics).get("live")
    except (ValueError, AttributeError) as exc:
        raise TrainingError(f"{model_dir}/metrics.json is not a JSON object: {exc}") from exc
    scored = None
    if storage.exists(lake.join(model_dir, ACCURACY_FILE)):
        scored = storage.read_bytes(lake.join(model_dir, ACCURACY_FILE))
        if len(scored) < 12 or scored[:4] != b"PAR1" or scored[-4:] != b"PAR1":
            raise TrainingError(f"{model_dir}/{ACCURACY_FILE} is not a Parquet file")

    pred_target = lake.partition(lake_root, "predictions", series, run_date)
    accuracy_target = lake.partition(lake_root, "accuracy", series, run_date)
    run_target = lake.model_run(lake_root, series, run_date, run_id)
    stages = {zone: lake.staging(lake_root, zone, run_date, series) for zone in _ZONES}
    for zone, stage in stages.items():  # a crashed publish's leftovers in this partition's scope
        storage.clear_staging(lake.staging_scope(lake_root, zone, run_date, series), keep=stage)
    try:
        for name in PUBLISHED_MODEL_FILES:
            src = lake.join(model_dir, name)
            if name in REQUIRED_MODEL_FILES or storage.exists(src):
                data = metrics if name == "metrics.json" else storage.read_bytes(src)
                storage.write_bytes(lake.join(stages["models"], name), data)
        storage.replace_prefix(stages["models"], run_target)
        if scored is not None:
            storage.write_bytes(lake.join(stages["accuracy"], ACCURACY_FILE), scored)
            storage.replace_prefix(stages["accuracy"], accuracy_target)
        storage.write_bytes(lake.join(stages["predictions"], FORECAST_FILE), parquet)
        storage.replace_prefix(stages["predictions"], pred_target)  # the switch
    except Exception as exc:
        raise StorageError(f"publishing the forecast to {pred_target} failed: {exc}") from exc
    finally:
        for zone, stage in stages.items():
            _remove_stage(lake_root, zone, stage)
    _prune_runs(lake.partition(lake_root, "models", series, run_date), run_target)
    log.info("published %d forecast rows of run %s to %s", len(rows), run_id, pred_target)
    out = {"predictions": pred_target, "models": run_target, "run_id": run_id, "rows": len(rows)}
    if scored is not None:
        out["accuracy"] = accuracy_target
    if isinstance(live, dict):  # the live record's summary (ipeacast.ml.accuracy.live_summary)
        out["live"] = {k: live.get(k) for k in ("resolved", "window", "mae_ratio")}
    return out


_ZONES = ("models", "accuracy", "predictions")


def _remove_stage(lake_root: str, zone: str, stage: str) -> None:
    try:
        storage.delete_prefix(stage)
        storage.remove_empty_folder(stage, up_to=lake.join(lake_root, zone, lake.STAGING))
    except Exception as exc:  # cleanup must not hide the real error
        log.warning("could not remove staging %s: %s", stage, exc)


def _prune_runs(models_partition: str, current: str) -> None:
    """Delete the partition's run folders but `current` and the KEEP_OTHER_RUNS newest others
    (newest by their metrics.json, then by name; a folder without one is a crash's leftover,
    oldest of all)."""
    base = models_partition.rstrip("/") + "/"
    folders: dict[str, float] = {}
    for uri in storage.list_files(models_partition):
        name = uri[len(base) :].split("/", 1)[0]
        if not name.startswith("run_id="):
            continue
        folder = lake.join(models_partition, name)
        folders.setdefault(folder, 0.0)
        if uri == lake.join(folder, "metrics.json"):
            folders[folder] = storage.last_modified(uri)
    # ties (S3 times are whole seconds) go to the later name: default run ids are start times
    others = sorted((f for f in folders if f != current), key=lambda f: (folders[f], f))[::-1]
    for folder in others[KEEP_OTHER_RUNS:]:
        storage.delete_prefix(folder)
        log.info("removed the model files of an earlier run, %s", folder)


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
