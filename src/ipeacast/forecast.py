"""Train, backtest and forecast M+1..M+H from the final monthly table; write and publish the output.

The forecast origin is the last day of the last complete month of the table. Horizon h targets
the h-th calendar month after the origin month: M+1 is the month right after the origin.

Importing this module is cheap (standard library only): the publish Lambda, packaged without
pandas or pyarrow, calls `publish_forecast`, which copies the trainer's files as bytes.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import logging
import math
import os
import platform
import tarfile
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ipeacast import lake, schema, storage
from ipeacast.errors import StorageError, TrainingError

if TYPE_CHECKING:  # pandas, numpy and scikit-learn load lazily: the Lambda imports this module
    import pandas as pd

    from ipeacast.model import ModelConfig

log = logging.getLogger(__name__)

# The CSV copy of a forecast sits in a "_" folder inside the partition: readable by people, skipped
# by Athena/Hive/Spark, which read the Parquet files of predictions/.
CSV_FOLDER = "_csv"

# Declared once in schemas/predictions.json (also read by Terraform for the Glue table).
PREDICTION_COLUMNS = tuple(schema.columns(schema.PREDICTIONS))
PARTITION_COLUMNS = tuple(k["name"] for k in schema.load(schema.PREDICTIONS)["partition_keys"])
MODEL_FILES = (
    "model.skops",
    "metrics.json",
    "forecast.parquet",
    "forecast.csv",
    "backtest.parquet",
    "features.json",
    "versions.json",
)
# Sidecars copied into models/series=X/run_date=D/ by publish_forecast (metrics.json required).
PUBLISHED_MODEL_FILES = ("metrics.json", "model.skops", "features.json", "versions.json")
# A model.tar.gz larger than this is refused before unpacking (the trainer's is well under 1 MB).
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024


@dataclass
class TrainingResult:
    """Everything one training run produces (written to the model directory by write_outputs)."""

    forecast: pd.DataFrame
    backtest: pd.DataFrame
    metrics: dict[str, Any]
    bundle: dict[str, Any]
    features: dict[str, Any]
    versions: dict[str, str]


def origin_date(month: date | datetime) -> date:
    """The forecast origin for an origin month: its last calendar day."""
    return date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


def target_month(month: date | datetime, horizon: int) -> date:
    """First day of the month `horizon` months after the origin month (horizon 1 = M+1)."""
    index = month.year * 12 + month.month - 1 + horizon
    return date(index // 12, index % 12 + 1, 1)


def train_and_forecast(
    table: pd.DataFrame,
    cfg: ModelConfig,
    series: str,
    run_id: str,
    run_date: date | str,
) -> TrainingResult:
    """Backtest every candidate, pick the champion per horizon, and forecast from the last month."""
    import numpy as np
    import pandas as pd

    from ipeacast.backtest import (
        CHAMPION,
        comparison_table,
        horizon_metrics,
        select_champion,
        walk_forward,
    )
    from ipeacast.model import (
        FEATURE_REFERENCES,
        MODEL_NAME,
        REQUIRED_COLUMNS,
        SCALE_MIN_PERIODS,
        SCALE_WINDOW,
        make_candidates,
        prepare,
    )

    t0 = time.perf_counter()
    data = prepare(table, cfg.features)
    origin = len(data) - 1
    if not np.isfinite(data.scale[origin]):
        raise TrainingError(
            f"no volatility scale at the origin {data.months[origin]:%Y-%m}: need at least "
            f"{SCALE_MIN_PERIODS + 1} complete months"
        )
    bt = walk_forward(data, cfg)
    t1 = time.perf_counter()
    selection = select_champion(bt, cfg)

    fitted = {}
    for name, cand in make_candidates(cfg).items():
        try:
            if name == MODEL_NAME:
                cand.fit(data, origin, sklearn=True)
            else:
                cand.fit(data, origin)
            fitted[name] = cand
        except TrainingError as exc:
            log.info("candidate %s not fitted at the origin: %s", name, exc)
    preds = {}
    for name, cand in fitted.items():
        try:
            preds[name] = cand.predict(data, origin, cfg.horizons)
        except TrainingError as exc:
            log.info("candidate %s cannot forecast from the origin: %s", name, exc)

    month = data.months[origin]
    rows = []
    for h in range(1, cfg.horizons + 1):
        sel = selection[h]
        name = sel["candidate"]
        if name not in preds:
            raise TrainingError(f"champion {name} for horizon {h} cannot forecast from the origin")
        if not np.isfinite(sel["q"]):
            raise TrainingError(
                f"only {sel['n_calibration']} backtest residuals for horizon {h}: intervals need "
                f"min_calibration={cfg.min_calibration} (use a longer series or lower it)"
            )
        point = float(preds[name][h - 1])
        half = float(sel["q"] * data.scale[origin])
        rows.append(
            {
                "series": series,
                "run_date": str(run_date),
                "origin_date": origin_date(month),
                "target_month": target_month(month, h),
                "horizon": h,
                "point_forecast": point,
                "lower": point - half,
                "upper": point + half,
                "interval_level": cfg.interval_level,
                "model": name,
                "run_id": run_id,
            }
        )
    forecast = pd.DataFrame(rows)
    t2 = time.perf_counter()

    all_metrics = horizon_metrics(bt)
    comparison = comparison_table(all_metrics)
    bt_origins = bt["origin"].drop_duplicates()
    metrics = {
        "series": series,
        "run_id": run_id,
        "run_date": str(run_date),
        "origin_date": origin_date(month).isoformat(),
        "complete_months": int(np.isfinite(data.avg).sum()),
        "first_month": f"{data.months[0]:%Y-%m}",
        "last_month": f"{month:%Y-%m}",
        "config": _config_dict(cfg),
        "selection_metric": "mae",
        "champion_rule": (
            "per horizon, the model ships only if its backtest MAE is strictly lower than the best "
            "baseline's on the same origins and it has at least min_calibration backtest errors; "
            "otherwise the best baseline ships"
        ),
        "champion": {
            str(h): {
                "candidate": s["candidate"],
                "reason": s["reason"],
                "backtest_mae": s["mae"],
                "interval_q": s["q"],
                "interval_quantile_level": s["level"],
                "n_calibration": s["n_calibration"],
            }
            for h, s in selection.items()
        },
        "backtest": {
            "first_origin": f"{bt_origins.min():%Y-%m}",
            "last_origin": f"{bt_origins.max():%Y-%m}",
            "n_origins": int(bt_origins.size),
            "refit_every": cfg.refit_every,
            "online_champion": f"candidate '{CHAMPION}' = rule applied at each origin with the "
            "errors resolved by then",
        },
        "metrics": all_metrics.to_dict(orient="records"),
        "comparison": comparison.to_dict(orient="records"),
    }
    coefs = fitted[MODEL_NAME].coefficients() if MODEL_NAME in fitted else []
    bundle = {
        "format": 1,
        "series": series,
        "run_id": run_id,
        "origin_month": f"{month:%Y-%m}",
        "features": list(cfg.features),
        "config": _config_dict(cfg),
        "champion": {str(h): s["candidate"] for h, s in selection.items()},
        "interval_q": {str(h): float(s["q"]) for h, s in selection.items()},
        "origin_scale": float(data.scale[origin]),
        "estimators": list(fitted[MODEL_NAME].estimators_) if MODEL_NAME in fitted else [],
    }
    features = {
        "table_columns": sorted(
            set(REQUIRED_COLUMNS) | {FEATURE_REFERENCES[f] for f in cfg.features}
        ),
        "scale": (
            f"scale[t] = mean |avg_price[m] - avg_price[m-1]| over the {SCALE_WINDOW} months "
            "m <= t (at least 12)"
        ),
        "features": [
            {"name": f, "definition": f"(last_price - {FEATURE_REFERENCES[f]}) / scale"}
            for f in cfg.features
        ],
        "target": "(avg_price[t+h] - last_price[t]) / scale[t], one ridge per horizon h",
        "coefficients": {str(h + 1): c for h, c in enumerate(coefs)},
    }
    log.info("backtest %.2fs, final fit + forecast %.2fs", t1 - t0, t2 - t1)
    return TrainingResult(forecast, bt, metrics, bundle, features, library_versions())


def _config_dict(cfg: ModelConfig) -> dict[str, Any]:
    d = asdict(cfg)
    d["features"] = list(cfg.features)
    return d


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("ipeacast", "numpy", "pandas", "pyarrow", "scikit-learn", "skops"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, date):  # also pandas Timestamps (a datetime subclass)
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value: Any) -> Any:
    """NaN/inf -> None, recursively (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):  # numpy floats subclass float
        return None
    return value


def to_json(obj: Any) -> str:
    return json.dumps(_clean(obj), indent=2, sort_keys=True, default=_json_default) + "\n"


def write_outputs(result: TrainingResult, model_dir: str | Path) -> dict[str, str]:
    """Write model.skops and the sidecar files to a local model directory."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import skops.io

    out = Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    skops.io.dump(result.bundle, out / "model.skops")
    (out / "metrics.json").write_text(to_json(result.metrics))
    (out / "features.json").write_text(to_json(result.features))
    (out / "versions.json").write_text(to_json(result.versions))
    # The published table's file: the declared columns and types (schemas/predictions.json),
    # after the partition columns the forecast frame carries.
    declared = schema.arrow_schema(schema.PREDICTIONS, partition_keys=True)
    table = pa.Table.from_pandas(result.forecast, schema=declared, preserve_index=False)
    pq.write_table(table, out / "forecast.parquet")
    result.forecast.to_csv(out / "forecast.csv", index=False)
    result.backtest.to_parquet(out / "backtest.parquet", index=False)
    return {name: str(out / name) for name in MODEL_FILES}


def load_model(path: str | Path) -> dict[str, Any]:
    """Load model.skops, trusting only the types it is expected to contain."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    allowed = {"sklearn.linear_model._ridge.Ridge"}
    unexpected = [t for t in untrusted if t not in allowed]
    if unexpected:
        raise TrainingError(f"{path} contains unexpected types {unexpected}")
    return skops.io.load(path, trusted=untrusted)


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
    failure between the two replacements leaves the new model next to the previous forecast
    (issue 13 makes the pair one unit).
    `model_dir` is a local path or a URI. Standard library only (runs in the publish Lambda).
    """
    model_dir = os.fspath(model_dir)
    run_date = str(run_date)
    pred_target = lake.partition(lake_root, "predictions", series, run_date)
    model_target = lake.partition(lake_root, "models", series, run_date)
    token = uuid.uuid4().hex[:12]
    # Staging prefixes start with "_": Hive, Spark and Athena skip such paths when listing.
    pred_stage = lake.join(lake_root, "predictions", f"series={series}", f"_staging-{token}")
    model_stage = lake.join(lake_root, "models", f"series={series}", f"_staging-{token}")
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
        storage.delete_prefix(pred_stage)
        storage.delete_prefix(model_stage)
        raise
    try:
        storage.replace_prefix(model_stage, model_target)
        storage.replace_prefix(pred_stage, pred_target)
    except Exception as exc:
        storage.delete_prefix(pred_stage)
        storage.delete_prefix(model_stage)
        raise StorageError(f"publishing the forecast to {pred_target} failed: {exc}") from exc
    log.info("published %d forecast rows to %s", len(rows), pred_target)
    return {"predictions": pred_target, "models": model_target, "rows": len(rows)}


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
