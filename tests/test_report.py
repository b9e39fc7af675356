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
    write_outputs(train_and_forecast(table, ModelConfig(**SMALL), "TEST", "r1", "2020-05-17"), out)
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
