"""Forecasts scored against what happened: the live record next to the backtest.

Every run scores each earlier published forecast whose target month is now complete against
that month's realised average (the final monthly table). One row per (origin, horizon): when a
forecast was published more than once for the same origin (runs on several days of a month), the
latest publication counts, as it is the one a reader saw last. The rows follow the declared
`accuracy` table (src/ipeacast/core/schemas/accuracy.json).
"""

from __future__ import annotations

import pandas as pd

from ipeacast.core import schema
from ipeacast.ml.model import complete_months

COLUMNS = tuple(schema.columns(schema.ACCURACY))
# The live ratio: realised MAE over this many latest resolved forecasts (per horizon pooled)
# divided by the last-price baseline's MAE over the same targets.
LIVE_WINDOW = 12


def score(forecasts: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Resolved forecasts with their outcome: `forecasts` are earlier predictions/ rows (with
    `run_date`), `table` the final monthly table. Returns the accuracy rows, sorted."""
    if forecasts.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in COLUMNS})
    months = complete_months(table)
    actual = pd.Series(months["avg_price"].to_numpy(), index=months["month"])
    last_price = pd.Series(months["last_price"].to_numpy(), index=months["month"])
    f = forecasts.copy()
    f["origin_date"] = pd.to_datetime(f["origin_date"])
    f["target_month"] = pd.to_datetime(f["target_month"]).dt.to_period("M").dt.to_timestamp()
    f = f.sort_values(["origin_date", "horizon", "run_date", "run_id"])
    f = f.drop_duplicates(["origin_date", "horizon"], keep="last")
    f = f[f["target_month"].isin(actual.index)]
    origin_month = f["origin_date"].dt.to_period("M").dt.to_timestamp()
    out = pd.DataFrame(
        {
            "origin_date": f["origin_date"].dt.date,
            "target_month": f["target_month"].dt.date,
            "horizon": f["horizon"].astype("int32"),
            "point_forecast": f["point_forecast"].astype(float),
            "lower": f["lower"].astype(float),
            "upper": f["upper"].astype(float),
            "actual": actual.reindex(f["target_month"]).to_numpy(),
            "baseline": last_price.reindex(origin_month).to_numpy(),
            "model": f["model"].astype(str),
            "forecast_run_id": f["run_id"].astype(str),
        }
    )
    out["abs_error"] = (out["point_forecast"] - out["actual"]).abs()
    out["covered"] = (out["lower"] <= out["actual"]) & (out["actual"] <= out["upper"])
    return out[list(COLUMNS)].sort_values(["origin_date", "horizon"]).reset_index(drop=True)


def live_summary(scored: pd.DataFrame, window: int = LIVE_WINDOW) -> dict:
    """The live record in numbers: per horizon the resolved count, MAE and coverage, and the
    ratio of the realised MAE to the last-price baseline's over the latest `window` targets."""
    if scored.empty:
        return {"resolved": 0, "mae_ratio": None, "window": window, "per_horizon": {}}
    per_horizon = {
        f"M+{h}": {
            "resolved": len(g),
            "mae": float(g["abs_error"].mean()),
            "coverage": float(g["covered"].mean()),
        }
        for h, g in scored.groupby("horizon")
    }
    latest = scored.sort_values(["target_month", "horizon"]).tail(window)
    known = latest.dropna(subset=["baseline"])
    baseline_mae = float((known["baseline"] - known["actual"]).abs().mean()) if len(known) else 0
    ratio = float(known["abs_error"].mean()) / baseline_mae if baseline_mae > 0 else None
    return {
        "resolved": len(scored),
        "window": window,
        "mae_ratio": ratio,
        "per_horizon": per_horizon,
    }


_FLOATS = {"point_forecast", "lower", "upper", "actual", "baseline", "abs_error"}


def _dtype(column: str) -> str:
    if column in _FLOATS:
        return "float64"
    return {"horizon": "int32", "covered": "bool"}.get(column, "object")
