"""Train, backtest and forecast M+1..M+H from the final monthly table; write the model directory.

The forecast origin is the last day of the last complete month of the table. Horizon h targets
the h-th calendar month after the origin month: M+1 is the month right after the origin.
Publishing the model directory to the lake is `ipeacast.aws.publish` (what the Lambda runs).
"""

from __future__ import annotations

import calendar
import json
import logging
import math
import platform
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import skops.io

from ipeacast.core import schema
from ipeacast.core.errors import TrainingError
from ipeacast.ml import intervals
from ipeacast.ml.backtest import (
    CHAMPION,
    RECENT_ORIGINS,
    comparison_table,
    horizon_metrics,
    select_champion,
    walk_forward,
)
from ipeacast.ml.model import (
    FEATURE_REFERENCES,
    MODEL_NAME,
    REQUIRED_COLUMNS,
    SCALE_MIN_PERIODS,
    SCALE_WINDOW,
    ModelConfig,
    make_candidates,
    prepare,
)

log = logging.getLogger(__name__)

ACCURACY_FILE = "accuracy.parquet"  # written when the trainer had earlier forecasts to score
MODEL_FILES = (
    "model.skops",
    "metrics.json",
    "forecast.parquet",
    "forecast.csv",
    "backtest.parquet",
    "features.json",
    "versions.json",
)


@dataclass
class TrainingResult:
    """Everything one training run produces (written to the model directory by write_outputs)."""

    forecast: pd.DataFrame
    backtest: pd.DataFrame
    metrics: dict[str, Any]
    bundle: dict[str, Any]
    features: dict[str, Any]
    versions: dict[str, str]
    accuracy: pd.DataFrame | None = None  # earlier forecasts scored (ipeacast.ml.accuracy)


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

    t0 = time.perf_counter()
    data = prepare(table, cfg.features)
    origin = len(data) - 1
    if not np.isfinite(data.scale[origin]):
        raise TrainingError(
            f"no volatility scale at the origin {data.months[origin]:%Y-%m}: need at least "
            f"{SCALE_MIN_PERIODS + 1} complete months"
        )
    iscale = intervals.interval_scale(data, cfg)
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
        half = float(sel["q"] * iscale[origin])
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
            "baseline's on the same origins, it has at least min_calibration backtest errors, and "
            f"the online champion's MAE over the last {RECENT_ORIGINS} origins is strictly lower "
            "than that baseline's; otherwise the best baseline ships"
        ),
        "champion": {
            str(h): {
                "candidate": s["candidate"],
                "reason": s["reason"],
                "backtest_mae": s["mae"],
                "interval_q": s["q"],
                "interval_quantile_level": s["level"],
                "n_calibration": s["n_calibration"],
                "recent_online_mae": s["online_record"][0],
                "recent_baseline_mae": s["online_record"][1],
                "recent_origins": s["online_record"][2],
            }
            for h, s in selection.items()
        },
        "intervals": {
            "method": intervals.describe(cfg),
            "scale": cfg.interval_scale,
            "vol_months": cfg.interval_vol_months,
            # The current scale: what this run's half-widths are q x scale of (USD per month);
            # the 36-month point-model scale beside it shows how far the regime has moved.
            "origin_scale": float(iscale[origin]),
            "origin_scale_36m": float(data.scale[origin]),
            "level": {str(h): s["level"] for h, s in selection.items()},
            "nominal_level": cfg.interval_level,
        },
        "backtest": {
            "first_origin": f"{bt_origins.min():%Y-%m}",
            "last_origin": f"{bt_origins.max():%Y-%m}",
            "n_origins": int(bt_origins.size),
            "refit_every": cfg.refit_every,
            "online_champion": f"candidate '{CHAMPION}' = rule applied at each origin with the "
            "errors resolved by then",
            "recent_origins": RECENT_ORIGINS,
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
        "interval_scale": float(iscale[origin]),
        "estimators": list(fitted[MODEL_NAME].estimators_) if MODEL_NAME in fitted else [],
    }
    features = {
        "table_columns": sorted(
            set(REQUIRED_COLUMNS)
            | {FEATURE_REFERENCES[f] for f in cfg.features}
            | (set() if cfg.interval_scale == "monthly" else {"daily_change_std", "n_days"})
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
    out = {"python": platform.python_version()}
    for pkg in ("ipeacast", "numpy", "pandas", "pyarrow", "scikit-learn", "skops"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _json_default(value: Any) -> Any:
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
    out = Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    skops.io.dump(result.bundle, out / "model.skops")
    (out / "metrics.json").write_text(to_json(result.metrics))
    (out / "features.json").write_text(to_json(result.features))
    (out / "versions.json").write_text(to_json(result.versions))
    # The published table's file: the declared columns and types (schemas/predictions.json),
    # after the partition columns the forecast frame carries.
    declared = arrow_schema(schema.PREDICTIONS, partition_keys=True)
    table = pa.Table.from_pandas(result.forecast, schema=declared, preserve_index=False)
    pq.write_table(table, out / "forecast.parquet")
    result.forecast.to_csv(out / "forecast.csv", index=False)
    result.backtest.to_parquet(out / "backtest.parquet", index=False)
    written = {name: str(out / name) for name in MODEL_FILES}
    if result.accuracy is not None:
        scored = result.accuracy.assign(
            series=result.forecast["series"].iloc[0], run_date=result.forecast["run_date"].iloc[0]
        )
        declared = arrow_schema(schema.ACCURACY, partition_keys=True)
        table = pa.Table.from_pandas(scored, schema=declared, preserve_index=False)
        pq.write_table(table, out / ACCURACY_FILE)
        written[ACCURACY_FILE] = str(out / ACCURACY_FILE)
    return written


def load_model(path: str | Path) -> dict[str, Any]:
    """Load model.skops, trusting only the types it is expected to contain."""
    untrusted = skops.io.get_untrusted_types(file=path)
    allowed = {"sklearn.linear_model._ridge.Ridge"}
    unexpected = [t for t in untrusted if t not in allowed]
    if unexpected:
        raise TrainingError(f"{path} contains unexpected types {unexpected}")
    return skops.io.load(path, trusted=untrusted)


_ARROW_TYPES = {
    "string": pa.string(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
}


def arrow_schema(name: str, partition_keys: bool = False) -> pa.Schema:
    """The declared columns of table `name` as a pyarrow schema: what a Parquet file of the table
    must hold, so that Athena reads it with the Glue table's types (an int64 column under an `int`
    declaration fails there). With `partition_keys`, the partition columns come first (files that
    also carry them, as the trainer's forecast does; readers of the table take them from the
    path)."""
    declared = schema.load(name)
    fields = (declared["partition_keys"] if partition_keys else []) + declared["columns"]
    return pa.schema([pa.field(c["name"], _ARROW_TYPES[c["type"]]) for c in fields])
