"""An independent pandas computation of the transform, used to check the Spark code (parity).

Written from the documented rules, not from the Spark code: clean daily series (drop empty values
and weekends, keep one row per date), daily features over the previous rows only, and the monthly
training table of `src/ipeacast/core/schemas/final_monthly.json`.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

DAILY_WINDOWS = (5, 20, 60)
MONTHLY_LAGS = (1, 2, 3, 6, 12)
MONTHLY_MEANS = (3, 6, 12)
MONTHLY_STDS = (6, 12)


def clean_daily(raw: pd.DataFrame, cutoff: date | None = None) -> pd.DataFrame:
    """raw: columns date, price (NaN allowed). Returns trading days only, one row per date."""
    df = raw.dropna(subset=["price"]).copy()
    df["date"] = pd.to_datetime(df["date"])
    df = df[df["date"].dt.dayofweek < 5]
    if cutoff is not None:
        df = df[df["date"] <= pd.Timestamp(cutoff)]
    df = df.drop_duplicates(["date", "price"])
    assert not df["date"].duplicated().any(), "conflicting duplicates"
    return df.sort_values("date").reset_index(drop=True)


def daily_features(daily: pd.DataFrame) -> pd.DataFrame:
    df = daily[["date", "price"]].copy()
    price = df["price"]
    df["lag_1"] = price.shift(1)
    df["lag_5"] = price.shift(5)
    df["change_1"] = price - df["lag_1"]
    df["change_5"] = price - df["lag_5"]
    previous = price.shift(1)
    for w in DAILY_WINDOWS:
        df[f"roll_mean_{w}"] = previous.rolling(w, min_periods=w).mean()
    df["roll_std_20"] = previous.rolling(20, min_periods=20).std(ddof=1)
    df["roll_min_20"] = previous.rolling(20, min_periods=20).min()
    df["roll_max_20"] = previous.rolling(20, min_periods=20).max()
    df["day_of_week"] = df["date"].dt.dayofweek + 1  # 1 = Monday .. 5 = Friday
    df["month_of_year"] = df["date"].dt.month
    df["year"] = df["date"].dt.year
    return df


def monthly_table(daily: pd.DataFrame, cutoff: date | None = None) -> pd.DataFrame:
    """The final training table from a clean daily series (columns date, price)."""
    df = daily[["date", "price"]].copy()
    df["date"] = pd.to_datetime(df["date"])
    df = df.sort_values("date")
    df["change_1"] = df["price"].diff()
    df["month"] = df["date"].dt.to_period("M").dt.to_timestamp()
    cutoff_ts = pd.Timestamp(cutoff) if cutoff is not None else df["date"].max()
    rows = []
    last_month = df["month"].max()
    for month, g in df.groupby("month", sort=True):
        month_end = month + pd.offsets.MonthEnd(0)
        ended = month_end <= cutoff_ts
        observed = month < last_month or (month_end - g["date"].max()).days <= 4
        changes = g["change_1"].dropna()
        rows.append(
            {
                "month": month,
                "last_date": g["date"].max(),
                "complete": bool(ended and observed),
                "n_days": len(g),
                "avg_price": g["price"].mean(),
                "last_price": g["price"].iloc[-1],
                "min_price": g["price"].min(),
                "max_price": g["price"].max(),
                "std_price": float(np.std(g["price"].to_numpy(), ddof=0)),
                "daily_change_std": float(np.std(changes.to_numpy(), ddof=0))
                if len(changes)
                else np.nan,
                "month_of_year": month.month,
            }
        )
    m = pd.DataFrame(rows)
    avg = m["avg_price"]
    for k in MONTHLY_LAGS:
        m[f"avg_lag_{k}"] = avg.shift(k)
    m["avg_change_1"] = avg - m["avg_lag_1"]
    m["last_change_1"] = m["last_price"] - m["last_price"].shift(1)
    previous = avg.shift(1)
    for k in MONTHLY_MEANS:
        m[f"avg_roll_mean_{k}"] = previous.rolling(k, min_periods=k).mean()
    for k in MONTHLY_STDS:
        m[f"avg_roll_std_{k}"] = previous.rolling(k, min_periods=k).std(ddof=1)
    m["month"] = m["month"].dt.date
    m["last_date"] = m["last_date"].dt.date
    return m
