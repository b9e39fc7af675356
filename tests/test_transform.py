"""Spark transform: parity with an independent pandas computation, no look-ahead, many series."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import reference
from conftest import synthetic_prices
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ipeacast.core.errors import ValidationError
from ipeacast.etl import transform

pytestmark = pytest.mark.spark
CUTOFF = date(2021, 12, 31)


def to_spark(spark, frame: pd.DataFrame, series: str = "S1"):
    return transform.from_pandas(spark, series, frame)


def assert_frames_match(spark_pdf: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert len(spark_pdf) == len(ref)
    for column in ref.columns:
        got, want = spark_pdf[column].to_numpy(), ref[column].to_numpy()
        if column in ("date", "month", "last_date"):
            assert (pd.to_datetime(got) == pd.to_datetime(want)).all(), column
        elif want.dtype.kind == "f" or got.dtype.kind == "f":
            np.testing.assert_allclose(
                got.astype(float), want.astype(float), rtol=1e-9, atol=1e-9, err_msg=column
            )
        else:
            assert (got == want).all(), column


@pytest.fixture(scope="module")
def messy_prices() -> pd.DataFrame:
    """Business days with gaps, a weekend value, empty values, an agreeing duplicate, negatives."""
    df = synthetic_prices("2019-01-01", 700, seed=3, level=20.0)
    df.loc[100:110, "price"] -= 45.0  # a negative spell, as WTI in April 2020
    df.loc[200, "price"] = np.nan
    extra = pd.DataFrame(
        {
            "date": [pd.Timestamp("2019-03-02"), df["date"].iloc[50]],  # a Saturday; a duplicate
            "price": [99.0, df["price"].iloc[50]],
        }
    )
    return pd.concat([df, extra]).sort_values("date", kind="stable").reset_index(drop=True)


def test_clean_daily_drops_empty_values_weekends_and_agreeing_duplicates(spark, messy_prices):
    daily = transform.clean_daily(to_spark(spark, messy_prices), CUTOFF).toPandas()
    assert daily["date"].is_unique
    assert not daily["price"].isna().any()
    assert pd.Timestamp("2019-03-02").date() not in set(daily["date"])
    assert len(daily) == len(reference.clean_daily(messy_prices, CUTOFF))


def test_conflicting_duplicates_are_rejected_with_the_dates(spark):
    df = pd.DataFrame(
        {"date": pd.to_datetime(["2021-01-04", "2021-01-04", "2021-01-05"]), "price": [1, 2, 3]}
    )
    with pytest.raises(ValidationError, match=r"unique-date.*2021-01-04.*\[1\.0, 2\.0\]"):
        transform.clean_daily(to_spark(spark, df), CUTOFF)


def test_cutoff_drops_later_observations(spark, prices):
    daily = transform.clean_daily(to_spark(spark, prices), date(2018, 6, 30)).toPandas()
    assert max(daily["date"]) <= date(2018, 6, 30)


def test_daily_features_match_pandas_reference(spark, messy_prices):
    daily = transform.clean_daily(to_spark(spark, messy_prices), CUTOFF)
    got = transform.daily_features(daily).orderBy("date").toPandas()
    want = reference.daily_features(reference.clean_daily(messy_prices, CUTOFF))
    assert_frames_match(got, want)


def test_monthly_table_matches_pandas_reference(spark, messy_prices):
    daily = transform.clean_daily(to_spark(spark, messy_prices), CUTOFF)
    got = transform.monthly_table(daily, CUTOFF).orderBy("month").toPandas()
    want = reference.monthly_table(reference.clean_daily(messy_prices, CUTOFF), CUTOFF)
    assert_frames_match(got, want)


def test_negative_prices_give_finite_features(spark, messy_prices):
    assert (messy_prices["price"] < 0).any()
    daily = transform.clean_daily(to_spark(spark, messy_prices), CUTOFF)
    for frame in (transform.daily_features(daily), transform.monthly_table(daily, CUTOFF)):
        pdf = frame.toPandas().select_dtypes("number")
        values = pdf.to_numpy(dtype=float)
        assert not np.isinf(values).any()
        # nulls only where a window is not yet full (the first rows)
        late = pdf.iloc[70:] if len(pdf) > 100 else pdf.iloc[13:]
        assert not late.isna().any().any()


def test_changing_future_values_does_not_change_earlier_features(spark, prices):
    pivot = prices["date"].iloc[400]
    changed = prices.copy()
    changed.loc[changed["date"] > pivot, "price"] *= 3.0
    cutoff = prices["date"].iloc[-1].date()

    def features(frame):
        daily = transform.clean_daily(to_spark(spark, frame), cutoff)
        d = transform.daily_features(daily).where(f"date <= '{pivot.date()}'").orderBy("date")
        m = transform.monthly_table(daily, cutoff).where(f"last_date < '{pivot.date()}'")
        return d.toPandas(), m.orderBy("month").toPandas()

    (d1, m1), (d2, m2) = features(prices), features(changed)
    pd.testing.assert_frame_equal(d1, d2)
    pd.testing.assert_frame_equal(m1, m2)


def test_series_are_processed_independently(spark):
    a = synthetic_prices("2019-01-01", 300, seed=1)
    b = synthetic_prices("2019-01-01", 300, seed=2, level=500.0)
    both = to_spark(spark, a, "A").unionByName(to_spark(spark, b, "B"))
    alone = transform.daily_features(transform.clean_daily(to_spark(spark, a, "A"), CUTOFF))
    mixed = transform.daily_features(transform.clean_daily(both, CUTOFF)).where("series = 'A'")
    pd.testing.assert_frame_equal(
        alone.orderBy("date").toPandas(), mixed.orderBy("date").toPandas()
    )


def test_complete_flags_months_ended_by_the_cutoff(spark, prices):
    cutoff = date(2018, 3, 15)
    daily = transform.clean_daily(to_spark(spark, prices), cutoff)
    months = transform.monthly_table(daily, cutoff).orderBy("month").toPandas()
    assert list(months["complete"]) == [True, True, False]
    assert list(months["n_days"])[:2] == [23, 20]


def test_a_stale_source_does_not_pass_half_a_month_off_as_complete(spark, prices):
    stale = prices[prices["date"] <= "2018-03-14"]
    daily = transform.clean_daily(to_spark(spark, stale), date(2018, 6, 30))
    months = transform.monthly_table(daily, date(2018, 6, 30)).orderBy("month").toPandas()
    assert list(months["complete"]) == [True, True, False]


def test_a_monthly_series_keeps_its_weekend_dated_rows(spark):
    monthly = pd.DataFrame({"date": pd.date_range("2019-01-01", periods=36, freq="MS")})
    monthly["price"] = np.arange(36, dtype=float)
    assert not transform.is_daily(monthly)
    assert (monthly["date"].dt.dayofweek >= 5).any()  # some first days are weekends
    kept = transform.clean_daily(to_spark(spark, monthly), CUTOFF, trading_days_only=False)
    assert kept.count() == 36


def test_daily_series_are_detected_despite_gaps(messy_prices):
    assert transform.is_daily(messy_prices)


def test_the_cleaning_runs_once_for_the_check_and_every_later_read(spark, prices):
    """Each raw row goes through the cleaning once, however often the result is read after."""
    seen = spark.sparkContext.accumulator(0)

    def count_rows(price: float) -> float:
        seen.add(1)
        return price

    counted = F.udf(count_rows, T.DoubleType()).asNondeterministic()  # evaluated once per row
    raw = to_spark(spark, prices)
    raw = raw.withColumn("price", counted("price"))
    daily = transform.clean_daily(raw, CUTOFF)
    try:
        assert daily.is_cached
        transform.daily_features(daily).collect()
        transform.monthly_table(daily, CUTOFF).collect()
        assert seen.value == len(prices)  # was 3x: the check, then each read recomputed it
    finally:
        daily.unpersist()


def test_a_rejected_input_releases_its_cache(spark, monkeypatch):
    from pyspark.sql import DataFrame

    cached: list = []
    original = DataFrame.cache

    def recording_cache(self):
        cached.append(original(self))
        return cached[-1]

    monkeypatch.setattr(DataFrame, "cache", recording_cache)
    df = pd.DataFrame({"date": pd.to_datetime(["2021-01-04", "2021-01-04"]), "price": [1, 2]})
    with pytest.raises(ValidationError, match="unique-date"):
        transform.clean_daily(to_spark(spark, df), CUTOFF)
    assert len(cached) == 1 and not cached[0].is_cached
