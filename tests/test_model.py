"""The candidates: baselines, derived features, the per-horizon ridge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecast_helpers import hand_table, monthly_fixture

from ipeacast.core.errors import ConfigError, TrainingError
from ipeacast.ml.model import (
    GapRidge,
    ModelConfig,
    NaiveLastAverage,
    NaiveLastPrice,
    complete_months,
    prepare,
    volatility_scale,
)


def test_baselines_repeat_the_origin_average_and_last_price():
    table = hand_table([10.0, 12.0, 11.0, 15.0], [10.5, 11.0, 12.5, 14.0])
    data = prepare(table)
    # origin = third month (index 2): average 11.0, last daily price 12.5
    assert NaiveLastAverage().fit(data, 2).predict(data, 2, 3).tolist() == [11.0, 11.0, 11.0]
    assert NaiveLastPrice().fit(data, 2).predict(data, 2, 3).tolist() == [12.5, 12.5, 12.5]


def test_volatility_scale_is_the_mean_absolute_monthly_change_over_36_months():
    avg = np.array([10.0, 12.0, 11.0, 15.0] * 4)  # changes: 2, 1, 4, 5, 2, 1, 4, ...
    scale = volatility_scale(avg)
    assert np.isnan(scale[:12]).all()  # fewer than 12 changes: no scale yet
    changes = np.abs(np.diff(avg))
    assert scale[12] == pytest.approx(changes[:12].mean())
    assert scale[15] == pytest.approx(changes[:15].mean())


def test_prepare_drops_incomplete_months_and_keeps_calendar_gaps():
    table = hand_table([10.0, 11.0, 12.0, 13.0], [10.0, 11.0, 12.0, 13.0])
    table = table.drop(index=1).reset_index(drop=True)  # no trading day in February
    table.loc[len(table) - 1, "complete"] = False  # April still running
    data = prepare(table)
    assert list(data.months.strftime("%Y-%m")) == ["2020-01", "2020-02", "2020-03"]
    assert np.isnan(data.avg[1]) and data.avg[2] == 12.0


def test_complete_months_rejects_duplicate_months_naming_the_month():
    table = hand_table([10.0, 11.0], [10.0, 11.0])
    table.loc[1, "month"] = table.loc[0, "month"]
    with pytest.raises(TrainingError, match="2020-01"):
        complete_months(table)


def test_numpy_refit_matches_scikit_learn_ridge():
    data = prepare(monthly_fixture(), ("gap_avg", "gap_lag1"))
    origin = len(data) - 1
    fast = GapRidge(6, alpha=1.0, min_train_rows=24).fit(data, origin)
    slow = GapRidge(6, alpha=1.0, min_train_rows=24).fit(data, origin, sklearn=True)
    np.testing.assert_allclose(fast.coefficients(), slow.coefficients(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.predict(data, origin, 6), slow.predict(data, origin, 6))


def test_ridge_trains_only_on_targets_known_at_the_origin():
    data = prepare(monthly_fixture())
    model = GapRidge(3, min_train_rows=24)
    origin = 80
    for h in (1, 2, 3):
        rows = model.training_rows(data, origin, h)
        assert rows.max() + h <= origin


def test_ridge_forecast_shifts_with_the_price_level_even_below_zero():
    table = monthly_fixture()
    shifted = table.copy()
    price_cols = [c for c in table.columns if c.startswith(("avg_", "last_price", "min_", "max_"))]
    price_cols = [c for c in price_cols if not c.startswith(("avg_change", "avg_roll_std"))]
    shifted[price_cols] = shifted[price_cols] - 200.0  # every price negative
    a, b = prepare(table, ("gap_avg", "gap_lag1")), prepare(shifted, ("gap_avg", "gap_lag1"))
    assert (b.avg[np.isfinite(b.avg)] < 0).all()
    origin = len(a) - 1
    pa = GapRidge(6, min_train_rows=24).fit(a, origin).predict(a, origin, 6)
    pb = GapRidge(6, min_train_rows=24).fit(b, origin).predict(b, origin, 6)
    np.testing.assert_allclose(pb, pa - 200.0, rtol=0, atol=1e-9)


def test_ridge_needs_enough_rows_and_says_which_horizon():
    data = prepare(monthly_fixture(periods=600))
    with pytest.raises(TrainingError, match=r"horizon 1 .*min_train_rows=36"):
        GapRidge(6, min_train_rows=36).fit(data, len(data) - 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("horizons", 0),
        ("features", ("gap_nope",)),
        ("alpha", -1.0),
        ("interval_level", 1.0),
        ("refit_every", 0),
        ("conformal_gamma", 0.5),
        ("interval_scale", "weekly"),
        ("interval_vol_months", 0),
    ],
)
def test_model_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        ModelConfig(**{field: value})


def test_feature_needing_an_absent_column_is_reported():
    table = hand_table([10.0] * 20, [10.0] * 20)
    with pytest.raises(TrainingError, match="avg_lag_1"):
        prepare(table, ("gap_lag1",))


def test_prepare_accepts_months_as_dates_or_timestamps():
    table = hand_table([10.0, 11.0], [10.0, 11.0])
    as_ts = table.assign(month=pd.to_datetime(table["month"]))
    assert (prepare(table).months == prepare(as_ts).months).all()


def test_prepare_carries_the_daily_volatility_columns_or_nans_without_them():
    table = hand_table([10.0, 11.0, 12.0], [10.0, 11.0, 12.0])
    bare = prepare(table)
    assert np.isnan(bare.daily_std).all() and np.isnan(bare.n_days).all()
    with_daily = prepare(table.assign(daily_change_std=[0.5, 1.0, 2.0], n_days=[20, 21, 22]))
    assert with_daily.daily_std.tolist() == [0.5, 1.0, 2.0]
    assert with_daily.n_days.tolist() == [20.0, 21.0, 22.0]
