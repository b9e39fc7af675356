"""The volatility scale of the prediction intervals, known at each forecast origin.

The intervals are conformal on backtest residuals divided by a scale (ipeacast.ml.backtest):
half-width = quantile of |residual| / scale over recent origins, times the origin's scale. How
fast the intervals react to a change of regime depends on how fast that scale does:

- `monthly`: the point model's scale, the mean |month-on-month change| of the monthly average over
  the last 36 months. Smooth; after a shock it takes months to rise.
- `daily`: realised daily volatility over the last `interval_vol_months` months up to the origin
  (about 21 trading days per month): the square root of the day-weighted mean of each month's
  variance of day-on-day changes (`daily_change_std`, `n_days` of the final table). It moves in
  the weeks a regime changes.
- `blend`: the geometric mean of the two (half the reaction of `daily`, half the memory of
  `monthly`).
- `max`: the larger of the two: never narrower than the 36-month scale (which remembers the last
  crisis through calm months), wider as soon as daily volatility exceeds it (a ratchet: up
  within weeks, down only as fast as the 36-month scale forgets).

Daily volatility is put on a monthly footing (times sqrt(21)), so the three scales are in the
same unit. Where the table carries no daily volatility for a month (the column is optional, and a
month of one trading day has none), the 36-month scale stands in for it. The choice between them
is made on pre-2015 origins (docs/model.md, benchmarks/interval_methods.py).
"""

from __future__ import annotations

import numpy as np

from ipeacast.ml.model import SCALE_FLOOR, ModelConfig, Prepared

INTERVAL_SCALES = ("monthly", "daily", "blend", "max")
TRADING_DAYS_PER_MONTH = 21


def daily_volatility(daily_std: np.ndarray, n_days: np.ndarray, months: int) -> np.ndarray:
    """Realised daily volatility over the `months` months up to each month (incl. it).

    sqrt(sum_m n_m * std_m**2 / sum_m n_m) over the months m in the window that have a figure;
    NaN where none has. Pure: arrays in, array out.
    """
    var = np.asarray(daily_std, dtype=float) ** 2
    weight = np.asarray(n_days, dtype=float)
    ok = np.isfinite(var) & np.isfinite(weight) & (weight > 0)
    num = np.where(ok, var * weight, 0.0)
    den = np.where(ok, weight, 0.0)
    csum_num = np.concatenate([[0.0], np.cumsum(num)])
    csum_den = np.concatenate([[0.0], np.cumsum(den)])
    idx = np.arange(len(var))
    lo = np.maximum(idx + 1 - months, 0)
    total_num = csum_num[idx + 1] - csum_num[lo]
    total_den = csum_den[idx + 1] - csum_den[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total_den > 0, np.sqrt(total_num / total_den), np.nan)


def interval_scale(data: Prepared, cfg: ModelConfig) -> np.ndarray:
    """The scale the residuals are divided by, and the half-width multiplied by, per month."""
    if cfg.interval_scale == "monthly":
        return data.scale
    vol = daily_volatility(data.daily_std, data.n_days, cfg.interval_vol_months)
    vol = vol * np.sqrt(TRADING_DAYS_PER_MONTH)
    vol = np.where(np.isfinite(vol), np.maximum(vol, SCALE_FLOOR), data.scale)
    if cfg.interval_scale == "daily":
        return vol
    if cfg.interval_scale == "max":
        return np.maximum(vol, data.scale)
    return np.sqrt(vol * data.scale)  # blend: the geometric mean


def describe(cfg: ModelConfig) -> str:
    """One line naming the interval method of a configuration (for metrics.json and reports)."""
    scale = {
        "monthly": "36-month mean |monthly change|",
        "daily": f"daily volatility of the last {cfg.interval_vol_months} month(s)",
        "blend": (
            f"geometric mean of the 36-month scale and the daily volatility of the last "
            f"{cfg.interval_vol_months} month(s)"
        ),
        "max": (
            f"the larger of the 36-month scale and the daily volatility of the last "
            f"{cfg.interval_vol_months} month(s)"
        ),
    }[cfg.interval_scale]
    level = f"adaptive level (step {cfg.conformal_gamma})" if cfg.conformal_gamma else "fixed level"
    return (
        f"conformal: {cfg.interval_level:.0%} quantile of the last {cfg.conformal_window} "
        f"|residual| / scale, scale = {scale}, {level}"
    )
