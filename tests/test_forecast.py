"""Forecast rows from the origin, look-ahead, determinism, champion shipping, publication."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import pytest
from forecast_helpers import SMALL, daily_walk, monthly_fixture
from reference import monthly_table

from ipeacast.aws.publish import PREDICTION_COLUMNS, publish_forecast
from ipeacast.core import lake, storage
from ipeacast.core.errors import StorageError, TrainingError
from ipeacast.ml.forecast import (
    load_model,
    origin_date,
    target_month,
    train_and_forecast,
    write_outputs,
)
from ipeacast.ml.model import GapRidge, ModelConfig

SERIES = "TEST_SERIES"
CFG = ModelConfig(**SMALL)


def forecast_of(table: pd.DataFrame, cfg: ModelConfig = CFG) -> pd.DataFrame:
    return train_and_forecast(table, cfg, SERIES, "run-1", "2020-05-17").forecast


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return monthly_fixture()


@pytest.fixture(scope="module")
def result(table):
    return train_and_forecast(table, CFG, SERIES, "run-1", "2020-05-17")


def test_origin_is_the_last_day_of_the_month_and_m1_the_next_month():
    assert origin_date(pd.Timestamp("2024-02-01")) == date(2024, 2, 29)
    assert target_month(pd.Timestamp("2024-12-01"), 1) == date(2025, 1, 1)
    assert target_month(pd.Timestamp("2024-12-01"), 6) == date(2025, 6, 1)


def test_forecast_rows_are_labelled_from_the_last_complete_month():
    # Daily data up to 2019-11-13: November is incomplete, so the origin is 2019-10-31.
    table = monthly_fixture(cutoff=date(2019, 11, 13))
    assert not table["complete"].iloc[-1]
    fc = forecast_of(table)
    assert set(fc["origin_date"]) == {date(2019, 10, 31)}
    assert fc["horizon"].tolist() == [1, 2, 3, 4, 5, 6]
    assert fc["target_month"].tolist() == [
        date(2019, 11, 1),
        date(2019, 12, 1),
        date(2020, 1, 1),
        date(2020, 2, 1),
        date(2020, 3, 1),
        date(2020, 4, 1),
    ]


def test_forecast_has_the_predictions_columns_and_run_metadata(result):
    fc = result.forecast
    assert list(fc.columns) == ["series", "run_date", *PREDICTION_COLUMNS]
    assert set(fc["series"]) == {SERIES} and set(fc["run_date"]) == {"2020-05-17"}
    assert set(fc["run_id"]) == {"run-1"} and set(fc["interval_level"]) == {0.8}


def test_intervals_are_ordered_and_widen_with_the_horizon(result):
    fc = result.forecast
    assert (fc["lower"] < fc["point_forecast"]).all()
    assert (fc["point_forecast"] < fc["upper"]).all()
    width = (fc["upper"] - fc["lower"]).to_numpy()
    assert width[-1] > width[0]


def test_data_after_the_origin_does_not_change_the_forecast():
    daily = daily_walk()
    cutoff = pd.Timestamp("2019-11-13")
    daily = daily[daily["date"] <= cutoff]
    after = daily["date"] > pd.Timestamp("2019-10-31")
    perturbed = daily.copy()
    perturbed.loc[after, "price"] = perturbed.loc[after, "price"] * 3 + 50
    a = forecast_of(monthly_table(daily, cutoff=cutoff.date()))
    b = forecast_of(monthly_table(perturbed, cutoff=cutoff.date()))
    pd.testing.assert_frame_equal(a, b)


def test_history_before_the_origin_does_change_the_forecast():
    # The counterpart of the look-ahead test: the forecast really reads the data.
    daily = daily_walk()
    daily = daily[daily["date"] <= pd.Timestamp("2019-10-31")]  # October is the origin month
    changed = daily.copy()
    changed.loc[changed.index[-3:], "price"] += 5
    a, b = forecast_of(monthly_table(daily)), forecast_of(monthly_table(changed))
    assert not np.allclose(a["point_forecast"], b["point_forecast"])


def test_same_input_gives_the_same_outputs(table, tmp_path, result):
    again = train_and_forecast(table, CFG, SERIES, "run-1", "2020-05-17")
    pd.testing.assert_frame_equal(result.forecast, again.forecast)
    pd.testing.assert_frame_equal(result.backtest, again.backtest)
    write_outputs(result, tmp_path / "a")
    write_outputs(again, tmp_path / "b")
    for name in ("metrics.json", "forecast.csv", "features.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_model_worse_than_the_baselines_is_never_shipped(table, monkeypatch):
    honest = GapRidge.predict

    def sabotaged(self, data, origin, horizons):
        return honest(self, data, origin, horizons) + 25.0

    monkeypatch.setattr(GapRidge, "predict", sabotaged)
    res = train_and_forecast(table, CFG, SERIES, "run-1", "2020-05-17")
    assert "gap_ridge" not in set(res.forecast["model"])
    for sel in res.metrics["champion"].values():
        assert sel["candidate"] != "gap_ridge"
        assert sel["backtest_mae"]["gap_ridge"] > sel["backtest_mae"]["naive_last_price"]


def test_metrics_record_every_candidate_and_why_the_champion_won(result):
    m = result.metrics
    assert {r["candidate"] for r in m["metrics"]} == {
        "naive_last_avg",
        "naive_last_price",
        "gap_ridge",
        "champion",
    }
    for sel in m["champion"].values():
        assert sel["reason"] and set(sel["backtest_mae"]) >= {"naive_last_avg", "naive_last_price"}


def test_metrics_record_the_interval_method_its_current_scale_and_level(table):
    cfg = ModelConfig(**SMALL, interval_scale="daily", interval_vol_months=1)
    res = train_and_forecast(table, cfg, SERIES, "run-1", "2020-05-17")
    iv = res.metrics["intervals"]
    assert iv["scale"] == "daily" and "daily volatility of the last 1 month" in iv["method"]
    origin_std = table[table["complete"]]["daily_change_std"].iloc[-1]
    assert iv["origin_scale"] == pytest.approx(origin_std * np.sqrt(21))
    assert iv["origin_scale_36m"] != pytest.approx(iv["origin_scale"])
    for row in res.forecast.itertuples():
        sel = res.metrics["champion"][str(row.horizon)]
        assert iv["level"][str(row.horizon)] == sel["interval_quantile_level"]
        half = (row.upper - row.lower) / 2
        assert half == pytest.approx(sel["interval_q"] * iv["origin_scale"])


def test_model_file_loads_safely_with_the_champion(result, tmp_path):
    write_outputs(result, tmp_path)
    bundle = load_model(tmp_path / "model.skops")
    assert bundle["champion"] == {
        str(h): c
        for h, c in zip(
            result.forecast["horizon"].astype(str), result.forecast["model"], strict=True
        )
    }
    assert len(bundle["estimators"]) == 6


def test_the_forecast_file_has_the_declared_columns_and_types(result, tmp_path):
    import pyarrow.parquet as pq

    from ipeacast.core import schema

    write_outputs(result, tmp_path)
    written = pq.read_schema(tmp_path / "forecast.parquet")
    declared = schema.load(schema.PREDICTIONS)
    keys = [c["name"] for c in declared["partition_keys"]]
    assert written.names == [*keys, *(c["name"] for c in declared["columns"])]
    assert str(written.field("horizon").type) == "int32"  # the Glue table says `int`
    assert str(written.field("origin_date").type) == "date32[day]"
    frame = pq.read_table(tmp_path / "forecast.parquet").to_pandas()
    assert frame["horizon"].tolist() == list(range(1, 7))


def test_too_short_a_series_fails_with_a_reason():
    table = monthly_fixture(periods=300)
    with pytest.raises(TrainingError, match=r"min_calibration|not enough history|volatility"):
        forecast_of(table)


# --- publication -------------------------------------------------------------------------


@pytest.fixture
def model_dir(result, tmp_path):
    out = tmp_path / "model"
    write_outputs(result, out)
    return out


def read_predictions(root, run_date="2020-05-17") -> pd.DataFrame:
    part = lake.partition(str(root), "predictions", SERIES, run_date)
    return pd.read_parquet(io.BytesIO(storage.read_bytes(lake.join(part, "forecast.parquet"))))


def test_publish_writes_predictions_and_model_sidecars(model_dir, tmp_path, result):
    root = tmp_path / "lake"
    out = publish_forecast(model_dir, str(root), SERIES, "2020-05-17")  # a Path is fine too
    assert out["rows"] == 6
    published = read_predictions(root)
    # copied as written: the frame in the declared types (horizon is an `int` column)
    pd.testing.assert_frame_equal(published, result.forecast.astype({"horizon": "int32"}))
    pred_part = lake.partition(str(root), "predictions", SERIES, "2020-05-17")
    assert storage.list_files(pred_part) == [lake.join(pred_part, "forecast.parquet")]
    # the forecast names its run; that run's folder holds the model and the readable copy
    run_id = published["run_id"].iloc[0]
    run_folder = lake.model_run(str(root), SERIES, "2020-05-17", run_id)
    assert out["models"] == run_folder and out["run_id"] == run_id
    csv = pd.read_csv(io.BytesIO(storage.read_bytes(lake.join(run_folder, "forecast.csv"))))
    assert set(csv["series"]) == {SERIES} and set(csv["run_id"]) == {run_id}
    model_part = lake.partition(str(root), "models", SERIES, "2020-05-17")
    assert sorted(p.rsplit("/", 1)[1] for p in storage.list_files(model_part)) == [
        "features.json",
        "forecast.csv",
        "metrics.json",
        "model.skops",
        "versions.json",
    ]
    leftovers = [p for p in storage.list_files(str(root)) if "_staging" in p]
    assert leftovers == []


def test_failed_publish_leaves_the_previous_predictions_intact(model_dir, tmp_path, monkeypatch):
    root = tmp_path / "lake"
    publish_forecast(str(model_dir), str(root), SERIES, "2020-05-17")
    before = read_predictions(root)

    # A second run whose forecast is broken (a NaN point forecast) is rejected ...
    good_csv = (model_dir / "forecast.csv").read_text()
    bad = pd.read_csv(model_dir / "forecast.csv")
    bad.loc[0, "point_forecast"] = np.nan
    bad.to_csv(model_dir / "forecast.csv", index=False)
    with pytest.raises(TrainingError, match="line 2: point_forecast is missing"):
        publish_forecast(str(model_dir), str(root), SERIES, "2020-05-17")
    pd.testing.assert_frame_equal(read_predictions(root), before)

    # ... and so is one whose final replace fails.
    def broken_replace(staged, target):
        raise OSError("disk full")

    (model_dir / "forecast.csv").write_text(good_csv)
    monkeypatch.setattr(storage, "replace_prefix", broken_replace)
    with pytest.raises(StorageError, match="disk full"):
        publish_forecast(str(model_dir), str(root), SERIES, "2020-05-17")
    pd.testing.assert_frame_equal(read_predictions(root), before)
    assert [p for p in storage.list_files(str(root)) if "_staging" in p] == []


def test_publish_rejects_a_file_that_is_not_parquet(model_dir, tmp_path):
    (model_dir / "forecast.parquet").write_bytes(b"not parquet")
    with pytest.raises(TrainingError, match="not a Parquet file"):
        publish_forecast(str(model_dir), str(tmp_path / "lake"), SERIES, "2020-05-17")
    assert storage.list_files(str(tmp_path / "lake")) == []


def test_publish_rejects_a_forecast_of_another_run_date(model_dir, tmp_path):
    with pytest.raises(TrainingError, match="run_date"):
        publish_forecast(str(model_dir), str(tmp_path / "lake"), SERIES, "2021-01-01")
