"""The per-run report: PNG, markdown summary and the CLI metrics table."""

from __future__ import annotations

import json

import pytest
from forecast_helpers import SMALL, monthly_fixture

from ipeacast.ml.forecast import train_and_forecast, write_outputs
from ipeacast.ml.model import ModelConfig
from ipeacast.ml.report import metrics_table_text, write_report

# matplotlib 3.9 calls pyparsing APIs that newer pyparsing deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    table = monthly_fixture()
    cfg = ModelConfig(**SMALL, conformal_gamma=0.025)  # an adaptive level, recorded per horizon
    write_outputs(train_and_forecast(table, cfg, "TEST", "r1", "2020-05-17"), out)
    return out


def test_report_writes_a_png_and_a_markdown_summary(model_dir, tmp_path):
    paths = write_report(model_dir, str(tmp_path / "report"), table=monthly_fixture())
    png = (tmp_path / "report" / "report.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    md = (tmp_path / "report" / "report.md").read_text()
    assert paths["markdown"].endswith("report.md")
    assert "| M+1 | 2019-12 |" in md  # the first forecast row, M+1 after the November origin
    assert md.count("\n| M+") == 12  # six forecast rows and six metrics rows
    assert "## Champion per horizon" in md
    assert "Intervals: 80% conformal, from backtest residuals; adaptive level, step 0.025" in md
    assert "Method: conformal: 80% quantile of the last 120 |residual| / scale" in md


def test_band_history_is_the_champions_interval_width_per_origin(model_dir):
    from ipeacast.ml.frames import read_parquet
    from ipeacast.ml.report import interval_band_history

    backtest = read_parquet(model_dir / "backtest.parquet")
    bands = interval_band_history(backtest)
    assert sorted(bands) == [1, 6]
    champ = backtest[(backtest["candidate"] == "champion") & (backtest["horizon"] == 6)]
    champ = champ.dropna(subset=["lower"]).sort_values("origin")
    assert bands[6]["width"].tolist() == (champ["upper"] - champ["lower"]).tolist()
    assert bands[6]["origin"].is_monotonic_increasing and (bands[1]["width"] > 0).all()


def test_metrics_json_records_each_shipped_interval_level(model_dir):
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["config"]["conformal_gamma"] == 0.025
    levels = [metrics["champion"][str(h)]["interval_quantile_level"] for h in range(1, 7)]
    assert all(0.5 <= v <= 0.99 for v in levels) and len(set(levels)) > 1  # adapted per horizon


def test_report_works_without_the_monthly_table(model_dir, tmp_path):
    write_report(model_dir, str(tmp_path / "r"))
    assert (tmp_path / "r" / "report.png").stat().st_size > 10_000


def test_metrics_table_text_has_one_line_per_horizon(model_dir):
    metrics = json.loads((model_dir / "metrics.json").read_text())
    text = metrics_table_text(metrics)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["horizon", "shipped"]
    assert [line.split()[0] for line in lines[1:7]] == [f"M+{h}" for h in range(1, 7)]
    mae_m1 = next(r for r in metrics["comparison"] if r["horizon"] == 1)["mae_champion"]
    assert f"{mae_m1:.2f}" in lines[1]


def test_metrics_table_text_without_metrics():
    assert metrics_table_text({}) == "(no backtest metrics)"


def test_error_history_has_the_backtest_mean_and_the_published_errors(model_dir):
    import pandas as pd

    from ipeacast.ml.frames import read_parquet
    from ipeacast.ml.report import ERROR_WINDOW, error_history

    backtest = read_parquet(model_dir / "backtest.parquet")
    accuracy = pd.DataFrame(
        {
            "target_month": pd.to_datetime(["2019-06-01", "2019-07-01", "2019-07-01"]),
            "horizon": [1, 1, 3],
            "abs_error": [1.5, 0.5, 4.0],
        }
    )
    history = error_history(backtest, accuracy)

    assert sorted(history) == [1, 3, 6]
    m1 = backtest[(backtest["candidate"] == "champion") & (backtest["horizon"] == 1)]
    m1 = m1.dropna(subset=["forecast", "actual"]).sort_values("target_month")
    expected = (m1["forecast"] - m1["actual"]).abs().tail(ERROR_WINDOW).mean()
    assert history[1]["backtest"]["abs_error"].iloc[-1] == pytest.approx(expected)
    assert len(history[1]["backtest"]) == len(m1) - ERROR_WINDOW + 1
    assert list(history[1]["live"]["abs_error"]) == [1.5, 0.5]
    assert list(history[3]["live"]["abs_error"]) == [4.0]
    assert history[6]["live"].empty
    assert "live" not in error_history(backtest, None)[1]


def test_report_draws_the_published_errors_when_the_run_scored_some(model_dir, tmp_path):
    import shutil

    import pandas as pd

    scored = tmp_path / "model"
    shutil.copytree(model_dir, scored)
    before = write_report(scored, str(tmp_path / "before"))
    pd.DataFrame(
        {
            "target_month": pd.to_datetime(["2019-06-01", "2019-07-01"]).date,
            "horizon": [1, 3],
            "abs_error": [1.5, 4.0],
        }
    ).to_parquet(scored / "accuracy.parquet", index=False)
    after = write_report(scored, str(tmp_path / "after"))

    png_before = (tmp_path / "before" / "report.png").read_bytes()
    png_after = (tmp_path / "after" / "report.png").read_bytes()
    assert before["png"] != after["png"] and png_before != png_after
