"""Small generated monthly tables for the forecaster tests (model, backtest, forecast, trainer)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from reference import monthly_table

# Settings small enough for ~10-year synthetic series, so each training run stays well under 1 s.
SMALL = {"min_train_rows": 24, "min_calibration": 12}


def daily_walk(start: str = "2010-01-01", periods: int = 2600, seed: int = 3, level: float = 60.0):
    """A deterministic random walk on business days (columns date, price)."""
    rng = np.random.default_rng(seed)
    prices = level + np.cumsum(rng.normal(0, 1.0, periods))
    return pd.DataFrame({"date": pd.bdate_range(start, periods=periods), "price": prices})


def monthly_fixture(
    periods: int = 2600, seed: int = 3, level: float = 60.0, cutoff: date | None = None
) -> pd.DataFrame:
    """The final monthly table of a synthetic random walk (reference implementation)."""
    daily = daily_walk(periods=periods, seed=seed, level=level)
    if cutoff is not None:
        daily = daily[daily["date"] <= pd.Timestamp(cutoff)]
    return monthly_table(daily, cutoff=cutoff)


def hand_table(avgs: list[float], lasts: list[float], start: str = "2020-01-01") -> pd.DataFrame:
    """A minimal monthly table (only the columns the forecaster needs), all months complete."""
    months = pd.date_range(start, periods=len(avgs), freq="MS")
    return pd.DataFrame(
        {"month": months.date, "complete": True, "avg_price": avgs, "last_price": lasts}
    )
