"""Walk-forward backtest, metrics, conformal intervals and the champion rule."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from forecast_helpers import SMALL, daily_walk, monthly_fixture
from reference import monthly_table

from ipeacast.ml.backtest import (
    CHAMPION,
    RECENT_ORIGINS,
    choose,
    conformal_quantile,
    horizon_metrics,
    select_champion,
    shipped_level,
    walk_forward,
)
from ipeacast.ml.model import ModelConfig, prepare


@pytest.fixture(scope="module")
def backtest():
    cfg = ModelConfig(**SMALL)
    return walk_forward(prepare(monthly_fixture(), cfg.features), cfg), cfg


def test_conformal_quantile_finite_sample_is_the_order_statistic():
    scores = np.arange(10.0, 0.0, -1.0)  # 10..1, unsorted on purpose
    assert conformal_quantile(scores, 0.8, finite_sample=True) == 9.0  # ceil(11 * 0.8) = 9th
    assert conformal_quantile(scores, 0.95, finite_sample=True) == 10.0  # capped at the largest
    assert math.isnan(conformal_quantile(np.array([]), 0.8, finite_sample=True))


def test_conformal_quantile_plain_interpolates_the_empirical_quantile():
    scores = np.arange(10.0, 0.0, -1.0)  # 10..1
    # position 0.8 * (10 - 1) = 7.2 between the 8th (8.0) and 9th (9.0) smallest
    assert conformal_quantile(scores, 0.8) == pytest.approx(8.2)
    assert conformal_quantile(scores, 0.8) < conformal_quantile(scores, 0.8, finite_sample=True)
    assert math.isnan(conformal_quantile(np.array([]), 0.8))


def test_intervals_follow_the_configured_quantile():
    cfg = ModelConfig(**SMALL, conformal_gamma=0.0)  # a fixed level: only the quantile differs
    bt = walk_forward(prepare(monthly_fixture(), cfg.features), cfg)
    finite_cfg = replace(cfg, conformal_finite_sample=True)
    finite = walk_forward(prepare(monthly_fixture(), cfg.features), finite_cfg)
    key = ["candidate", "horizon", "origin"]
    a = bt.set_index(key).sort_index()
    b = finite.set_index(key).sort_index()
    assert (a["forecast"] == b["forecast"]).all()  # points do not depend on the intervals
    has = a["lower"].notna()
    width_plain = (a["upper"] - a["lower"])[has]
    width_finite = (b["upper"] - b["lower"])[has]
    assert (width_plain <= width_finite + 1e-12).all() and (width_plain < width_finite).any()
    sel_plain, sel_finite = select_champion(bt, cfg), select_champion(finite, finite_cfg)
    assert all(sel_plain[h]["q"] <= sel_finite[h]["q"] for h in sel_plain)


def test_default_intervals_are_fixed_level_plain_quantiles_over_120_residuals():
    cfg = ModelConfig()  # chosen on pre-2015 origins (benchmarks/interval_methods.py)
    assert cfg.conformal_window == 120 and cfg.conformal_finite_sample is False
    assert cfg.conformal_gamma == 0.0
    assert (cfg.interval_scale, cfg.interval_vol_months) == ("max", 2)


def _hand_wide(actual: list[float]) -> pd.DataFrame:
    """One horizon-1 backtest of a candidate that always forecasts 0 with scale 1."""
    origins = pd.date_range("2000-01-01", periods=len(actual), freq="MS")
    return pd.DataFrame(
        {
            "naive_last_price": 0.0,
            "target_month": origins + pd.DateOffset(months=1),
            "actual": actual,
            "scale": 1.0,
        },
        index=origins,
    )


def test_adaptive_level_moves_by_gamma_on_each_resolved_miss_and_hit():
    # 40 origins, h = 1: the interval at origin i (from i = 24 on) is +/- the quantile of the
    # scores |0 - actual| resolved by then; actual 1 sits on the bound (a hit), 5 is a miss.
    actual = [1.0] * 30 + [5.0] * 4 + [1.0] * 6
    cfg = ModelConfig(min_calibration=24, conformal_window=60, conformal_gamma=0.025)
    level = shipped_level(_hand_wide(actual), "naive_last_price", cfg)
    # 12 hits (origins 24-29, 34-39) and 4 misses (30-33), every one fed back once:
    assert level == pytest.approx(0.8 + 0.025 * (4 * 0.8 - 12 * 0.2))  # 0.82
    assert shipped_level(
        _hand_wide(actual), "naive_last_price", replace(cfg, conformal_gamma=0)
    ) == pytest.approx(0.8)
    calm = shipped_level(_hand_wide([1.0] * 40), "naive_last_price", cfg)
    assert calm == pytest.approx(0.8 - 0.025 * 16 * 0.2)  # only hits: the level falls


def test_adaptive_level_is_bounded():
    cfg = ModelConfig(min_calibration=24, conformal_window=60, conformal_gamma=0.2)
    storm = [1.0] * 24 + [10.0 * (i + 1) for i in range(200)]  # every new outcome a miss
    assert shipped_level(_hand_wide(storm), "naive_last_price", cfg) == pytest.approx(0.99)
    calm = shipped_level(_hand_wide([1.0] * 300), "naive_last_price", cfg)
    assert calm == pytest.approx(0.5)


def test_shipped_interval_uses_the_level_the_backtest_reached():
    cfg = ModelConfig(**SMALL, conformal_gamma=0.025, conformal_window=60)
    bt = walk_forward(prepare(monthly_fixture(), cfg.features), cfg)
    for h, sel in select_champion(bt, cfg).items():
        rows = bt[(bt["candidate"] == sel["candidate"]) & (bt["horizon"] == h)]
        scores = ((rows["forecast"] - rows["actual"]).abs() / rows["interval_scale"]).to_numpy()
        expected = conformal_quantile(scores[-cfg.conformal_window :], sel["level"])
        assert sel["q"] == pytest.approx(expected), h
        assert sel["level"] != cfg.interval_level, h  # it adapted


def test_model_worse_than_a_baseline_is_not_chosen():
    maes = {"naive_last_avg": 3.0, "naive_last_price": 2.0, "gap_ridge": 2.5}
    assert choose(maes, 100, 24)[0] == "naive_last_price"


def test_tie_goes_to_the_baseline():
    maes = {"naive_last_avg": 3.0, "naive_last_price": 2.0, "gap_ridge": 2.0}
    assert choose(maes, 100, 24)[0] == "naive_last_price"


def test_better_model_is_chosen_only_with_enough_errors():
    maes = {"naive_last_avg": 3.0, "naive_last_price": 2.0, "gap_ridge": 1.5}
    assert choose(maes, 100, 24)[0] == "gap_ridge"
    assert choose(maes, 10, 24)[0] == "naive_last_price"


def test_every_row_targets_h_months_after_its_origin(backtest):
    bt, _ = backtest
    expected = [
        o + pd.DateOffset(months=h) for o, h in zip(bt["origin"], bt["horizon"], strict=True)
    ]
    assert (bt["target_month"] == pd.to_datetime(expected)).all()


def test_intervals_contain_the_forecast_and_need_calibration_errors(backtest):
    bt, cfg = backtest
    has = bt.dropna(subset=["lower", "upper"])
    assert (has["lower"] <= has["forecast"]).all() and (has["forecast"] <= has["upper"]).all()
    first = bt[(bt["candidate"] == "naive_last_price") & (bt["horizon"] == 1)].iloc[
        : cfg.min_calibration
    ]
    assert first["lower"].isna().all()  # no interval before min_calibration resolved errors


def test_online_champion_uses_the_candidate_it_chose(backtest):
    bt, _ = backtest
    champ = bt[bt["candidate"] == CHAMPION].set_index(["origin", "horizon"])
    others = bt[bt["candidate"] != CHAMPION].set_index(["origin", "horizon", "candidate"])
    for (origin, h), row in champ.iterrows():
        assert row["forecast"] == others.loc[(origin, h, row["chosen"]), "forecast"]


def test_shipped_champion_never_loses_to_the_best_baseline(backtest):
    bt, cfg = backtest
    for h, sel in select_champion(bt, cfg).items():
        best_baseline = min(sel["mae"]["naive_last_avg"], sel["mae"]["naive_last_price"])
        assert sel["mae"][sel["candidate"]] <= best_baseline, h


def test_metrics_on_a_hand_computed_backtest():
    bt = pd.DataFrame(
        {
            "origin": pd.to_datetime(["2020-01-01", "2020-02-01"]),
            "horizon": 1,
            "target_month": pd.to_datetime(["2020-02-01", "2020-03-01"]),
            "candidate": "naive_last_price",
            "forecast": [11.0, 9.0],
            "actual": [10.0, 12.0],
            "origin_avg": [10.5, 10.0],
            "origin_last": [11.0, 9.0],
            "scale": [2.0, 1.0],
            "lower": [10.5, 10.0],
            "upper": [11.5, 14.0],
        }
    )
    m = horizon_metrics(bt).iloc[0]
    assert m["mae"] == pytest.approx(2.0)  # |1| and |3|
    assert m["rmse"] == pytest.approx(math.sqrt(5.0))
    assert m["mape"] == pytest.approx((1 / 10 + 3 / 12) / 2 * 100)
    assert m["mase"] == pytest.approx((1 / 2 + 3 / 1) / 2)
    # directions vs the origin average: (+0.5 vs -0.5) miss, (-1 vs +2) miss
    assert m["directional_accuracy"] == 0.0
    assert m["coverage"] == 0.5  # 10 outside [10.5, 11.5]; 12 inside [10, 14]


def test_metrics_window_filters_origins(backtest):
    bt, _ = backtest
    origins = sorted(bt["origin"].unique())
    start = pd.Timestamp(origins[40]).strftime("%Y-%m")
    m = horizon_metrics(bt, start=start)
    n1 = m[(m["candidate"] == "naive_last_price") & (m["horizon"] == 1)]["n"].iloc[0]
    assert n1 == len(origins) - 40


def _m1_widths(table: pd.DataFrame, cfg: ModelConfig) -> pd.Series:
    bt = walk_forward(prepare(table, cfg.features), cfg)
    rows = bt[(bt["candidate"] == CHAMPION) & (bt["horizon"] == 1)].set_index("origin")
    return rows["upper"] - rows["lower"]


def test_default_and_daily_scaled_intervals_widen_the_month_volatility_jumps():
    walk = daily_walk(periods=2600)
    calm, storm = walk.iloc[:2400], walk.iloc[2400:]  # daily moves four times larger from here
    steps = np.diff(storm["price"].to_numpy(), prepend=calm["price"].iloc[-1]) * 4.0
    walk["price"] = np.concatenate([calm["price"], calm["price"].iloc[-1] + np.cumsum(steps)])
    table = monthly_table(walk)
    jump = pd.Timestamp(walk["date"].iloc[2400]).to_period("M").to_timestamp()
    after = jump + pd.DateOffset(months=1)  # the first origin wholly in the storm
    before = jump - pd.DateOffset(months=1)
    monthly = _m1_widths(table, ModelConfig(**SMALL, interval_scale="monthly"))
    daily = _m1_widths(table, ModelConfig(**SMALL, interval_scale="daily", interval_vol_months=1))
    default = _m1_widths(table, ModelConfig(**SMALL))  # max: the 2-month daily scale here
    assert daily[after] / daily[before] > 3.0
    assert default[after] / default[before] > 2.5
    assert monthly[after] / monthly[before] < 1.5


def _gate_backtest(recent_error: float) -> pd.DataFrame:
    """h = 1: the ridge is perfect for 80 origins, then errs by `recent_error` for 120; the last
    price always errs by 1; the online champion follows the ridge throughout."""
    n = 80 + RECENT_ORIGINS
    origins = pd.date_range("2000-01-01", periods=n, freq="MS")
    ridge = np.r_[np.zeros(80), np.full(RECENT_ORIGINS, recent_error)]
    frames = []
    for cand, fc in {
        "naive_last_avg": np.full(n, 2.0),
        "naive_last_price": np.ones(n),
        "gap_ridge": ridge,
        CHAMPION: ridge,
    }.items():
        frames.append(
            pd.DataFrame(
                {
                    "origin": origins,
                    "horizon": 1,
                    "target_month": origins + pd.DateOffset(months=1),
                    "candidate": cand,
                    "forecast": fc,
                    "actual": 0.0,
                    "origin_avg": 0.0,
                    "origin_last": 0.0,
                    "scale": 1.0,
                    "interval_scale": 1.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_model_ships_only_if_the_online_record_of_the_last_ten_years_beats_the_baseline():
    cfg = ModelConfig(horizons=1)
    faded = select_champion(_gate_backtest(1.1), cfg)[1]  # better overall, worse lately
    assert faded["mae"]["gap_ridge"] < faded["mae"]["naive_last_price"]
    assert faded["candidate"] == "naive_last_price"
    assert "online champion" in faded["reason"]
    assert faded["online_record"] == pytest.approx((1.1, 1.0, RECENT_ORIGINS))
    kept = select_champion(_gate_backtest(0.9), cfg)[1]
    assert kept["candidate"] == "gap_ridge"
