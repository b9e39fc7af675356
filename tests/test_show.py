"""`ipeacast show`: the latest forecast, its run, and the published forecasts scored against what
happened (ipeacast.ml.accuracy), read from the lake's Parquet without Spark."""

from pathlib import Path

import pandas as pd
import pytest
from model_artifacts import forecast_frame

from ipeacast import cli
from ipeacast.aws import publish
from ipeacast.core import lake
from ipeacast.ml import accuracy

SERIES = "EIA366_PBRENT366"


def _publish(root, tmp_path, run_date: str, run_id: str, shift: float) -> None:
    model = tmp_path / f"model-{run_id}"
    model.mkdir()
    frame = forecast_frame(SERIES, run_date, run_id)
    for column in ("point_forecast", "lower", "upper"):
        frame[column] += shift
    frame.to_parquet(model / "forecast.parquet", index=False)
    frame.to_csv(model / "forecast.csv", index=False)
    (model / "metrics.json").write_text('{"champion": {}}')
    publish.publish_forecast(model, root, SERIES, run_date)


def _final_table(root, run_date: str) -> None:
    months = pd.date_range("2026-01-01", "2027-02-01", freq="MS")
    table = pd.DataFrame(
        {"month": months.date, "complete": True, "avg_price": 72.0, "last_price": 70.0}
    )
    part = Path(lake.partition(root, "final", SERIES, run_date))
    part.mkdir(parents=True)
    table.to_parquet(part / "part-00000.parquet", index=False)


def test_show_prints_the_latest_forecast_and_the_realised_accuracy(tmp_path, capsys):
    root = str(tmp_path / "lake")
    # two runs forecast from the same origin: the later publication is the one that counts
    _publish(root, tmp_path, "2026-11-26", "r1", shift=5.0)
    _publish(root, tmp_path, "2026-11-28", "r2", shift=0.0)
    _final_table(root, "2027-03-05")

    assert cli.main(["show", "--lake", root, "--series", SERIES]) == 0
    out = capsys.readouterr().out
    assert f"{SERIES}: latest forecast, run r2 (run date 2026-11-28), origin 2026-10-31" in out
    # targets 2026-12 .. 2027-02 are complete: horizons 1-3 of the forecast are resolved
    assert "Realised accuracy of the 3 forecasts resolved so far" in out
    assert "M+1  resolved   1  MAE 2.00  interval coverage 100%" in out  # |70 - 72|
    assert "M+3  resolved   1  MAE 0.00  interval coverage 100%" in out  # |72 - 72|
    # model MAE (2 + 1 + 0) / 3 = 1 against the last price's |70 - 72| = 2
    assert "MAE / last-price baseline over the latest 12 targets: 0.500" in out


def test_the_scored_rows_follow_the_declared_accuracy_table():
    forecasts = forecast_frame(SERIES, "2026-11-26", "r1")
    months = pd.date_range("2026-10-01", "2026-12-01", freq="MS")
    table = pd.DataFrame(
        {"month": months.date, "complete": True, "avg_price": 71.0, "last_price": 69.0}
    )
    scored = accuracy.score(forecasts, table)
    assert list(scored.columns) == list(accuracy.COLUMNS)
    assert scored[["horizon", "actual", "abs_error", "covered", "baseline"]].to_dict("records") == [
        {"horizon": 1, "actual": 71.0, "abs_error": 1.0, "covered": True, "baseline": 69.0}
    ]
    assert accuracy.score(forecasts.iloc[0:0], table).empty


def test_show_without_a_published_forecast_says_so_in_one_line(tmp_path, capsys):
    assert cli.main(["show", "--lake", str(tmp_path / "lake")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no forecast of EIA366_PBRENT366 published" in err[0]


@pytest.mark.parametrize("series", ["../x", "a b"])
def test_show_refuses_a_bad_series_code(tmp_path, capsys, series):
    assert cli.main(["show", "--lake", str(tmp_path), "--series", series]) == 1
    assert "invalid series code (--series)" in capsys.readouterr().err
