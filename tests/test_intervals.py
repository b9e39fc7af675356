"""The intervals' volatility scale: monthly, realised daily, or their blend."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from forecast_helpers import hand_table
from reference import monthly_table

from ipeacast.ml.intervals import daily_volatility, describe, interval_scale
from ipeacast.ml.model import ModelConfig, prepare


def test_daily_volatility_pools_the_months_variances_by_trading_days():
    std = np.array([1.0, 2.0, np.nan, 3.0])
    days = np.array([20.0, 10.0, 21.0, 0.0])  # month 3 has no figure, month 4 no day
    one = daily_volatility(std, days, 1)
    assert one[:2].tolist() == [1.0, 2.0] and np.isnan(one[2:]).all()
    two = daily_volatility(std, days, 2)
    assert two[1] == pytest.approx(math.sqrt((20 * 1.0 + 10 * 4.0) / 30))
    assert two[2] == pytest.approx(2.0)  # only month 2 of the window has a figure
    assert np.isnan(two[3])


def _table_with_daily(std: list[float]) -> pd.DataFrame:
    n = len(std)
    avg = 50.0 + np.cumsum(np.tile([1.0, -2.0, 3.0], n)[:n])
    return hand_table(list(avg), list(avg)).assign(daily_change_std=std, n_days=21)


def test_monthly_scale_is_the_point_models_scale():
    data = prepare(_table_with_daily([1.0] * 40))
    scale = interval_scale(data, ModelConfig(interval_scale="monthly"))
    assert np.array_equal(scale, data.scale, equal_nan=True)


def test_daily_scale_follows_the_last_months_volatility_at_once():
    std = [1.0] * 39 + [4.0]  # the daily volatility quadruples in the last month
    data = prepare(_table_with_daily(std))
    daily = interval_scale(data, ModelConfig(interval_scale="daily", interval_vol_months=1))
    assert daily[-2] == pytest.approx(math.sqrt(21))  # on a monthly footing
    assert daily[-1] / daily[-2] == pytest.approx(4.0)
    assert data.scale[-1] / data.scale[-2] == pytest.approx(1.0)  # the 36-month scale does not move
    blend = interval_scale(data, ModelConfig(interval_scale="blend", interval_vol_months=1))
    assert blend[-1] == pytest.approx(math.sqrt(daily[-1] * data.scale[-1]))
    assert blend[-1] / blend[-2] == pytest.approx(2.0)


def test_max_scale_keeps_the_long_memory_in_calm_months_and_jumps_with_daily_volatility():
    # calm daily moves (well under the 36-month scale), then a month of violent ones
    std = [0.1] * 39 + [6.0]
    data = prepare(_table_with_daily(std))
    cfg = ModelConfig(interval_scale="max", interval_vol_months=1)
    widest = interval_scale(data, cfg)
    daily = interval_scale(data, ModelConfig(interval_scale="daily", interval_vol_months=1))
    assert daily[-2] < data.scale[-2]  # calm: the daily scale alone would shrink the interval
    assert widest[-2] == pytest.approx(data.scale[-2])  # the max keeps the 36-month scale
    assert daily[-1] > data.scale[-1]  # the shock
    assert widest[-1] == pytest.approx(daily[-1])  # and follows the daily volatility at once
    assert widest[-1] / widest[-2] > 2
    assert "the larger of the 36-month scale" in describe(cfg)


def test_daily_scale_falls_back_to_the_monthly_scale_without_daily_figures():
    table = _table_with_daily([1.0] * 40).drop(columns=["daily_change_std", "n_days"])
    data = prepare(table)
    daily = interval_scale(data, ModelConfig(interval_scale="daily"))
    assert np.array_equal(daily, data.scale, equal_nan=True)


def test_the_pipeline_table_gives_a_daily_scale_near_the_walks_volatility():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2015-01-01", periods=600)
    daily = pd.DataFrame({"date": dates, "price": 80 + np.cumsum(rng.normal(0, 2.0, 600))})
    data = prepare(monthly_table(daily))
    vol = interval_scale(data, ModelConfig(interval_scale="daily", interval_vol_months=3))
    assert np.nanmedian(vol) / math.sqrt(21) == pytest.approx(2.0, rel=0.1)


def test_describe_names_the_scale_and_the_level():
    assert describe(ModelConfig(interval_scale="daily", interval_vol_months=2)) == (
        "conformal: 80% quantile of the last 120 |residual| / scale, scale = daily volatility "
        "of the last 2 month(s), fixed level"
    )
    assert "adaptive level (step 0.025)" in describe(ModelConfig(conformal_gamma=0.025))
