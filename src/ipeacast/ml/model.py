"""Forecast candidates for monthly average prices, M+1..M+H from a month-end origin.

Every candidate forecasts from one *origin* row of the monthly table (a complete month) and uses
only rows up to that origin. Three candidates:

- `naive_last_avg`: every horizon = the origin month's average price (no-change baseline).
- `naive_last_price`: every horizon = the last daily price of the origin month (no-change
  baseline on the latest observation; a random walk's best guess of any future average).
- `gap_ridge`: direct per-horizon ridge regressions (scikit-learn) of the change of the target
  month's average relative to the last daily price, `avg[t+h] - last[t]`, on "gaps" between the
  last daily price and earlier averages. Targets and features are divided by a volatility scale
  known at the origin (mean absolute month-on-month change of the monthly average over the last
  36 months), so one model serves every price era. Differences (not log ratios) keep the model
  valid for zero or negative prices. No intercept: a forecast never drifts on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ipeacast.core.errors import ConfigError, TrainingError

log = logging.getLogger(__name__)

BASELINES = ("naive_last_avg", "naive_last_price")
MODEL_NAME = "gap_ridge"
CANDIDATES = (*BASELINES, MODEL_NAME)

SCALE_WINDOW = 36
SCALE_MIN_PERIODS = 12
SCALE_FLOOR = 1e-6

# Derived features: `last_price` minus a reference known at the origin (then divided by the scale).
FEATURE_REFERENCES: dict[str, str] = {
    "gap_avg": "avg_price",
    "gap_lag1": "avg_lag_1",
    "gap_lag3": "avg_lag_3",
    "gap_lag6": "avg_lag_6",
    "gap_lag12": "avg_lag_12",
    "gap_roll12": "avg_roll_mean_12",
    "gap_min": "min_price",
    "gap_max": "max_price",
}
DEFAULT_FEATURES = ("gap_avg",)

# Columns of the final monthly table this module reads.
REQUIRED_COLUMNS = ("month", "complete", "avg_price", "last_price")


@dataclass(frozen=True)
class ModelConfig:
    """Settings of training, backtest and intervals (parsed from the trainer's hyperparameters)."""

    horizons: int = 6
    features: tuple[str, ...] = DEFAULT_FEATURES
    alpha: float = 1.0
    refit_every: int = 1
    min_train_rows: int = 36
    interval_level: float = 0.8
    conformal_window: int = 120
    # Adaptive conformal step: the quantile level moves by gamma * (miss - (1 - level)) as each
    # backtest outcome resolves (0 = fixed level). Window, step and scale are chosen together on
    # pre-2015 origins by the rule of benchmarks/interval_methods.py (docs/model.md).
    conformal_gamma: float = 0.0
    # False: plain empirical quantile (linear interpolation); True: finite-sample split-conformal
    # order statistic ceil((n+1)*level). Chosen on the design window (docs/model.md).
    conformal_finite_sample: bool = False
    # The scale of the intervals (ipeacast.ml.intervals): "monthly" (36-month mean |monthly
    # change|), "daily" (realised daily volatility of the last interval_vol_months months) or
    # "blend" (their geometric mean) or "max" (the larger: up within weeks of a volatility jump,
    # never below the 36-month scale). Chosen on pre-2015 origins (docs/model.md).
    interval_scale: str = "max"
    interval_vol_months: int = 2
    min_calibration: int = 24
    backtest_start: str | None = None  # "YYYY-MM": first backtest origin (default: first possible)

    def __post_init__(self) -> None:
        if not 1 <= self.horizons <= 24:
            raise ConfigError(f"horizons must be 1..24, got {self.horizons}")
        unknown = [f for f in self.features if f not in FEATURE_REFERENCES]
        if unknown or not self.features:
            raise ConfigError(
                f"features must be a non-empty list of {sorted(FEATURE_REFERENCES)}, "
                f"got {list(self.features)}"
            )
        if self.alpha < 0:
            raise ConfigError(f"alpha must be >= 0, got {self.alpha}")
        if self.refit_every < 1:
            raise ConfigError(f"refit_every must be >= 1, got {self.refit_every}")
        if self.min_train_rows < 2:
            raise ConfigError(f"min_train_rows must be >= 2, got {self.min_train_rows}")
        if not 0 < self.interval_level < 1:
            raise ConfigError(f"interval_level must be in (0, 1), got {self.interval_level}")
        if self.conformal_window < 1:
            raise ConfigError(f"conformal_window must be >= 1, got {self.conformal_window}")
        if not 0 <= self.conformal_gamma <= 0.2:
            raise ConfigError(f"conformal_gamma must be in [0, 0.2], got {self.conformal_gamma}")
        if self.interval_scale not in ("monthly", "daily", "blend", "max"):
            raise ConfigError(
                f"interval_scale must be monthly, daily, blend or max, got {self.interval_scale!r}"
            )
        if not 1 <= self.interval_vol_months <= 12:
            raise ConfigError(f"interval_vol_months must be 1..12, got {self.interval_vol_months}")
        if self.min_calibration < 1:
            raise ConfigError(f"min_calibration must be >= 1, got {self.min_calibration}")


@dataclass
class Prepared:
    """The monthly series as arrays on a contiguous month index (complete months only)."""

    months: pd.DatetimeIndex
    avg: np.ndarray
    last: np.ndarray
    scale: np.ndarray
    X: np.ndarray  # normalised features, shape (n, k); NaN where unavailable
    # Std of day-on-day changes inside each month and its trading days (NaN where the table
    # has none): the daily volatility the intervals can scale with (ipeacast.ml.intervals).
    daily_std: np.ndarray | None = None
    n_days: np.ndarray | None = None

    def __post_init__(self) -> None:
        nan = np.full(len(self.months), np.nan)
        if self.daily_std is None:
            self.daily_std = nan
        if self.n_days is None:
            self.n_days = nan

    def __len__(self) -> int:
        return len(self.months)

    def features_ok(self, i: int) -> bool:
        return bool(np.isfinite(self.X[i]).all() and np.isfinite(self.scale[i]))


def complete_months(table: pd.DataFrame) -> pd.DataFrame:
    """The complete months of a final monthly table, sorted, with `month` as Timestamps."""
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise TrainingError(f"monthly table lacks column(s) {missing}")
    df = table.copy()
    df["month"] = pd.to_datetime(df["month"]).dt.to_period("M").dt.to_timestamp()
    df = df[df["complete"].astype(bool)].sort_values("month")
    if df["month"].duplicated().any():
        dup = df.loc[df["month"].duplicated(), "month"].iloc[0]
        raise TrainingError(f"monthly table has more than one row for month {dup:%Y-%m}")
    if df[["avg_price", "last_price"]].isna().any().any():
        bad = df.loc[df[["avg_price", "last_price"]].isna().any(axis=1), "month"].iloc[0]
        raise TrainingError(f"monthly table has no avg_price/last_price for month {bad:%Y-%m}")
    return df.reset_index(drop=True)


def prepare(table: pd.DataFrame, features: tuple[str, ...] = DEFAULT_FEATURES) -> Prepared:
    """Derive the model inputs from the final monthly table (complete months only).

    Months without any trading day become NaN rows, so "t + h" is always h calendar months later.
    """
    df = complete_months(table)
    if df.empty:
        raise TrainingError("monthly table has no complete month")
    idx = pd.date_range(df["month"].iloc[0], df["month"].iloc[-1], freq="MS")
    df = df.set_index("month").reindex(idx)
    avg = df["avg_price"].to_numpy(dtype=float)
    last = df["last_price"].to_numpy(dtype=float)
    scale = volatility_scale(avg)
    cols = []
    for name in features:
        ref_col = FEATURE_REFERENCES[name]
        if ref_col == "avg_price":
            ref = avg
        elif ref_col in df.columns:
            ref = df[ref_col].to_numpy(dtype=float)
        else:
            raise TrainingError(f"feature {name!r} needs column {ref_col!r}, absent from the table")
        cols.append((last - ref) / scale)
    X = np.column_stack(cols) if cols else np.empty((len(idx), 0))
    daily = {
        c: df[c].to_numpy(dtype=float) if c in df.columns else np.full(len(idx), np.nan)
        for c in ("daily_change_std", "n_days")
    }
    return Prepared(idx, avg, last, scale, X, daily["daily_change_std"], daily["n_days"])


def volatility_scale(avg: np.ndarray) -> np.ndarray:
    """Mean |month-on-month change| of the monthly average over the last 36 months (incl. t)."""
    change = np.abs(np.diff(avg, prepend=np.nan))
    s = pd.Series(change).rolling(SCALE_WINDOW, min_periods=SCALE_MIN_PERIODS).mean().to_numpy()
    return np.where(np.isfinite(s), np.maximum(s, SCALE_FLOOR), np.nan)


class NaiveLastAverage:
    """No-change baseline: every horizon = the origin month's average price."""

    name = "naive_last_avg"

    def fit(self, data: Prepared, origin: int) -> NaiveLastAverage:
        return self

    def predict(self, data: Prepared, origin: int, horizons: int) -> np.ndarray:
        return np.full(horizons, data.avg[origin])


class NaiveLastPrice:
    """No-change baseline on the latest observation: every horizon = the origin's last price."""

    name = "naive_last_price"

    def fit(self, data: Prepared, origin: int) -> NaiveLastPrice:
        return self

    def predict(self, data: Prepared, origin: int, horizons: int) -> np.ndarray:
        return np.full(horizons, data.last[origin])


class GapRidge:
    """Direct per-horizon ridge on scale-normalised changes relative to the last daily price.

    `fit(..., sklearn=True)` fits one `sklearn.linear_model.Ridge(fit_intercept=False)` per
    horizon (the shipped model). The backtest refits thousands of times, so by default it solves
    the same normal equations, (X'X + alpha I) w = X'y, directly with numpy (identical
    coefficients, pinned by a test, without scikit-learn's per-call validation overhead).
    """

    name = MODEL_NAME

    def __init__(self, horizons: int, alpha: float = 1.0, min_train_rows: int = 36):
        self.horizons = horizons
        self.alpha = alpha
        self.min_train_rows = min_train_rows
        self.coef_: list[np.ndarray] = []
        self.estimators_: list[Any] = []

    def training_rows(self, data: Prepared, origin: int, h: int) -> np.ndarray:
        """Rows s with s + h <= origin (target known at the origin) and finite inputs."""
        rows = np.arange(0, max(origin - h + 1, 0))
        if rows.size:
            ok = np.isfinite(data.X[rows]).all(axis=1) & np.isfinite(data.scale[rows])
            ok &= np.isfinite(data.avg[rows + h])
            rows = rows[ok]
        if rows.size < self.min_train_rows:
            raise TrainingError(
                f"{self.name}: only {rows.size} training rows for horizon {h} at origin "
                f"{data.months[origin]:%Y-%m} (min_train_rows={self.min_train_rows})"
            )
        return rows

    def fit(self, data: Prepared, origin: int, sklearn: bool = False) -> GapRidge:
        coefs, estimators = [], []
        for h in range(1, self.horizons + 1):
            rows = self.training_rows(data, origin, h)
            X = data.X[rows]
            y = (data.avg[rows + h] - data.last[rows]) / data.scale[rows]
            if sklearn:  # imported here: the backtest's fits need numpy only (a second saved)
                from sklearn.linear_model import Ridge

                est = Ridge(alpha=self.alpha, fit_intercept=False, solver="cholesky").fit(X, y)
                estimators.append(est)
                coef = np.asarray(est.coef_, dtype=float)
            else:
                coef = np.linalg.solve(X.T @ X + self.alpha * np.eye(X.shape[1]), X.T @ y)
            coefs.append(coef)
        # Assign only once every horizon fitted, so a fit that raises leaves the model as it was.
        self.coef_, self.estimators_ = coefs, estimators
        return self

    def predict(self, data: Prepared, origin: int, horizons: int) -> np.ndarray:
        if not self.coef_:
            raise TrainingError(f"{self.name} is not fitted")
        if not data.features_ok(origin):
            raise TrainingError(
                f"{self.name}: features unavailable at origin {data.months[origin]:%Y-%m}"
            )
        x = data.X[origin]
        change = np.array([float(x @ c) for c in self.coef_[:horizons]])
        return data.last[origin] + data.scale[origin] * change

    def coefficients(self) -> list[list[float]]:
        return [[float(v) for v in c] for c in self.coef_]


def make_candidates(cfg: ModelConfig) -> dict[str, Any]:
    """Fresh, unfitted candidates keyed by name (baselines first)."""
    return {
        "naive_last_avg": NaiveLastAverage(),
        "naive_last_price": NaiveLastPrice(),
        MODEL_NAME: GapRidge(cfg.horizons, cfg.alpha, cfg.min_train_rows),
    }
