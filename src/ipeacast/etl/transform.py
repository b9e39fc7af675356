"""PySpark transforms: clean daily series, daily features, and the monthly training table.

Pure functions from DataFrame to DataFrame (one action only where a rule must be checked), so the
same code runs on a laptop in local mode and on Glue workers. Every window is partitioned by
`series`, so one run handles many series. Features use differences, never ratios or logs, so
negative prices (WTI on 2020-04-20) neither crash nor produce NaN/inf.

Rules:
- Clean daily: drop empty values and, for a daily series, weekend dates (Brent and WTI spot trade
  Monday-Friday; Ipeadata carries ~1,700 weekend values that repeat earlier prices; a weekly or
  monthly series keeps its weekend-dated rows), drop observations after the
  cutoff, keep one row per (series, date) when duplicates agree, and reject the input when a date
  has two different prices.
- A month is `complete` when it ended by the cutoff and either a later month has data or its
  last observation is within COMPLETE_SLACK_DAYS of the month end.
- Rolling windows end strictly before the row they describe (rows t-w .. t-1) and are null until
  the window is full; lags count rows (trading days, or months with data).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ipeacast.core.errors import ValidationError

DAILY_WINDOWS = (5, 20, 60)
MONTHLY_LAGS = (1, 2, 3, 6, 12)
MONTHLY_MEANS = (3, 6, 12)
MONTHLY_STDS = (6, 12)
# A month with no later data is complete only if its last observation is this close to the
# month end (weekends and holidays), so a stale source never passes half a month off as complete.
COMPLETE_SLACK_DAYS = 4

RAW_SCHEMA = T.StructType(
    [
        T.StructField("series", T.StringType(), False),
        T.StructField("date", T.DateType(), False),
        T.StructField("price", T.DoubleType(), True),
    ]
)


def from_pandas(spark: SparkSession, series: str, observations: pd.DataFrame) -> DataFrame:
    """A parsed source (columns date, price) as a Spark DataFrame with the series code."""
    pdf = pd.DataFrame(
        {
            "series": series,
            "date": pd.to_datetime(observations["date"]).dt.date,
            "price": observations["price"].astype("float64"),
        }
    )
    # Days without a value stay NaN (Arrow's fast path needs a float column); clean_daily drops
    # NaN and null alike.
    return spark.createDataFrame(pdf, schema=RAW_SCHEMA)


def is_daily(observations: pd.DataFrame) -> bool:
    """True for a daily series: the median gap between dates with a value is at most 4 days."""
    dates = pd.to_datetime(observations.loc[observations["price"].notna(), "date"])
    gaps = dates.sort_values().diff().dt.days.dropna()
    return gaps.empty or gaps.median() <= 4


def clean_daily(raw: DataFrame, cutoff: date, trading_days_only: bool = True) -> DataFrame:
    """Observations up to `cutoff`, one row per (series, date); conflicting duplicates rejected.

    `trading_days_only` drops Saturdays and Sundays: right for daily market prices, wrong for a
    weekly or monthly series whose dates may fall on a weekend (see `is_daily`).

    The result is cached: the duplicate check computes it once and later reads (features, the
    monthly table) reuse it. The caller calls `unpersist()` when done; on a rejected input the
    cache is released here.
    """
    df = raw.where(F.col("price").isNotNull() & ~F.isnan("price"))
    if trading_days_only:
        df = df.where(~F.dayofweek("date").isin(1, 7))
    df = (
        df.where(F.col("date") <= F.lit(cutoff))
        .dropDuplicates(["series", "date", "price"])
        .select("series", "date", "price")
        .cache()
    )
    conflicts = (
        df.groupBy("series", "date")
        .agg(F.count("*").alias("n"), F.sort_array(F.collect_list("price")).alias("prices"))
        .where(F.col("n") > 1)
        .orderBy("series", "date")
        .limit(5)
        .collect()
    )
    if conflicts:
        df.unpersist()
        shown = "; ".join(f"{r.series} {r.date}: {list(r.prices)}" for r in conflicts)
        raise ValidationError("unique-date", f"dates with different prices: {shown}")
    return df


def _full_window(value: Column, window: Window, size: int, agg) -> Column:
    """agg(value) over `window`, null unless the window holds `size` rows."""
    return F.when(F.count(value).over(window) == size, agg(value).over(window))


def daily_features(daily: DataFrame) -> DataFrame:
    """Lags, changes, rolling statistics over the previous rows, and calendar fields."""
    by_date = Window.partitionBy("series").orderBy("date")
    price = F.col("price")
    df = daily.withColumn("lag_1", F.lag(price, 1).over(by_date)).withColumn(
        "lag_5", F.lag(price, 5).over(by_date)
    )
    df = df.withColumn("change_1", price - F.col("lag_1")).withColumn(
        "change_5", price - F.col("lag_5")
    )
    for w in DAILY_WINDOWS:
        win = by_date.rowsBetween(-w, -1)
        df = df.withColumn(f"roll_mean_{w}", _full_window(price, win, w, F.avg))
    win20 = by_date.rowsBetween(-20, -1)
    df = (
        df.withColumn("roll_std_20", _full_window(price, win20, 20, F.stddev_samp))
        .withColumn("roll_min_20", _full_window(price, win20, 20, F.min))
        .withColumn("roll_max_20", _full_window(price, win20, 20, F.max))
    )
    return (
        df.withColumn("day_of_week", (F.expr("weekday(date)") + 1).cast("int"))
        .withColumn("month_of_year", F.month("date"))
        .withColumn("year", F.year("date"))
    )


def monthly_table(daily: DataFrame, cutoff: date) -> DataFrame:
    """One row per (series, month) with the columns of schemas/final_monthly.json."""
    by_date = Window.partitionBy("series").orderBy("date")
    with_change = daily.withColumn("change_1", F.col("price") - F.lag("price", 1).over(by_date))
    monthly = (
        with_change.withColumn("month", F.trunc("date", "month"))
        .groupBy("series", "month")
        .agg(
            F.max("date").alias("last_date"),
            F.count("*").cast("int").alias("n_days"),
            F.avg("price").alias("avg_price"),
            F.max_by("price", "date").alias("last_price"),
            F.min("price").alias("min_price"),
            F.max("price").alias("max_price"),
            F.stddev_pop("price").alias("std_price"),
            F.stddev_pop("change_1").alias("daily_change_std"),
        )
        .withColumn("month_of_year", F.month("month"))
    )
    by_month = Window.partitionBy("series").orderBy("month")
    month_end = F.last_day("month")
    monthly = monthly.withColumn(
        "complete",
        (month_end <= F.lit(cutoff))
        & (
            F.lead("month", 1).over(by_month).isNotNull()
            | (F.datediff(month_end, "last_date") <= COMPLETE_SLACK_DAYS)
        ),
    )
    avg = F.col("avg_price")
    for k in MONTHLY_LAGS:
        monthly = monthly.withColumn(f"avg_lag_{k}", F.lag(avg, k).over(by_month))
    monthly = monthly.withColumn("avg_change_1", avg - F.col("avg_lag_1")).withColumn(
        "last_change_1", F.col("last_price") - F.lag("last_price", 1).over(by_month)
    )
    for k in MONTHLY_MEANS:
        win = by_month.rowsBetween(-k, -1)
        monthly = monthly.withColumn(f"avg_roll_mean_{k}", _full_window(avg, win, k, F.avg))
    for k in MONTHLY_STDS:
        win = by_month.rowsBetween(-k, -1)
        monthly = monthly.withColumn(f"avg_roll_std_{k}", _full_window(avg, win, k, F.stddev_samp))
    return monthly
