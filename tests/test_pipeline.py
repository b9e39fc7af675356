"""`ipeacast run` end to end on a temporary lake: outputs, idempotence, --as-of, clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.lake_checks import check_lake, leftovers

from ipeacast import cli

pytestmark = pytest.mark.spark


def run(*args: str) -> int:
    return cli.main(["run", *args])


def run_on(source: Path, lake: Path, *extra: str) -> int:
    """`ipeacast run` of series TEST1 from `source` into `lake`."""
    return run("--series", "TEST1", "--source", str(source), "--lake", str(lake), *extra)


def final_frame(lake: Path, run_date: str) -> pd.DataFrame:
    return pd.read_parquet(lake / "final" / "series=TEST1" / f"run_date={run_date}")


def files(root: Path) -> dict[str, bytes]:
    """What readers see: hidden folders (the previous version of a replaced partition, kept
    until the next replacement for readers in flight) are skipped, as Spark and Athena skip them."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


@pytest.fixture
def lake(tmp_path) -> Path:
    return tmp_path / "lake"


def test_run_writes_raw_interim_and_final(spark, price_csv, lake, capsys):
    assert run_on(price_csv, lake, "--run-date", "2021-06-30") == 0
    out = capsys.readouterr().out
    for step in ("[extract] done in", "[transform] done in", "[load] done in"):
        assert step in out
    assert str(lake / "final" / "series=TEST1" / "run_date=2021-06-30") in out
    part = "series=TEST1/run_date=2021-06-30"
    assert list((lake / "raw" / part).glob("sha256=*/metadata.json"))
    assert list((lake / "interim" / part / "daily").glob("*.parquet"))
    assert list((lake / "interim" / part / "monthly").glob("*.parquet"))
    table = final_frame(lake, "2021-06-30")
    assert table["month"].is_monotonic_increasing and table["month"].is_unique
    run_id = check_lake(lake, "TEST1", "2021-06-30")  # one whole run: forecast and its model
    forecast = pd.read_csv(lake / "models" / part / f"run_id={run_id}" / "forecast.csv")
    assert list(forecast["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert forecast["origin_date"].iloc[0] == "2020-12-31"  # data end early in January 2021
    assert forecast["target_month"].iloc[0] == "2021-01-01"  # M+1 = the month after the origin
    assert leftovers(lake) == []
    assert (lake / "reports" / part / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "M+1" in out and "MAE last price" in out  # the metrics table is printed
    assert "Forecast of the monthly average, origin 2020-12-31" in out
    assert "6 months before 2021-06-30: the source looks stale" in out


def test_running_twice_gives_the_same_output_and_no_duplicates(spark, price_csv, lake):
    args = ("--run-id", "fixed-run", "--run-date", "2021-06-30")
    assert run_on(price_csv, lake, *args) == 0
    first = final_frame(lake, "2021-06-30")
    raw_before = files(lake / "raw")
    forecast_bytes = files(lake / "predictions")
    assert run_on(price_csv, lake, *args) == 0
    pd.testing.assert_frame_equal(first, final_frame(lake, "2021-06-30"))
    assert files(lake / "raw") == raw_before  # identical extract: a no-op
    assert forecast_bytes == files(lake / "predictions")  # deterministic forecast


def test_as_of_reproduces_a_past_forecast(spark, price_csv, tmp_path):
    """--as-of on the full file gives the forecast a run on that date would have given."""
    truncated = tmp_path / "until.csv"
    lines = price_csv.read_text().splitlines()
    kept = [lines[0], *(x for x in lines[1:] if x[:10] <= "2019-12-31")]
    truncated.write_text("\n".join(kept) + "\n")
    outputs = []
    for source, lake in ((price_csv, tmp_path / "a"), (truncated, tmp_path / "b")):
        code = run_on(source, lake, "--run-id", "r1", "--as-of", "2019-12-31")
        assert code == 0
        final = pd.read_parquet(lake / "final" / "series=TEST1" / "run_date=2019-12-31")
        outputs.append((files(lake / "predictions"), final))
    assert outputs[0][0] == outputs[1][0]  # forecast.csv and forecast.parquet, byte for byte
    pd.testing.assert_frame_equal(outputs[0][1], outputs[1][1])


def test_as_of_uses_no_later_observation(spark, price_csv, lake, capsys):
    assert run_on(price_csv, lake, "--as-of", "2019-12-31") == 0
    assert "looks stale" not in capsys.readouterr().out
    table = final_frame(lake, "2019-12-31")  # the run date defaults to --as-of
    assert table["last_date"].max() <= pd.Timestamp("2019-12-31").date()
    assert table["complete"].all()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"date,price_usd\n", "header but no data rows"),
        (b"date,price_usd\n2021-01-04,1\n2021-01-04,2\n", "dates with different prices"),
        (b"date,price_usd\n2021-01-04,x\n", "is not a number"),
    ],
)
def test_bad_input_exits_non_zero_with_one_clear_line(tmp_path, lake, capsys, content, message):
    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    code = run_on(source, lake, "--run-date", "2021-06-30")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("ipeacast: error:") and message in err[0]
    assert not (lake / "final").exists()


def test_too_short_history_names_the_rule(spark, tmp_path, lake, capsys):
    source = tmp_path / "short.csv"
    source.write_bytes(b"date,price_usd\n2021-01-04,1\n2021-01-05,2\n")
    assert run_on(source, lake, "--run-date", "2021-06-30") == 1
    assert "min-history" in capsys.readouterr().err


def test_missing_source_file_is_named(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert run("--source", str(missing), "--lake", str(tmp_path)) == 1
    assert str(missing) in capsys.readouterr().err


def test_an_unreadable_source_is_one_clear_error_line_not_a_traceback(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    source = blocker / "prices.csv"  # reading it fails with NotADirectoryError
    assert run("--source", str(source), "--lake", str(tmp_path / "lake")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ipeacast: error:")
    assert str(source) in err[0] and "Not a directory" in err[0]


def test_step_log_times_every_step_but_keeps_only_the_outputs_asked_for(capsys):
    from ipeacast.pipeline import StepLog

    steps = StepLog()
    assert steps.run("extract", lambda: {"rows": 3}) == {"rows": 3}
    session = object()
    assert steps.run("spark", lambda: session, output=False) is session
    assert steps.outputs == {"extract": {"rows": 3}}
    out = capsys.readouterr().out
    assert "[extract] done in" in out and "[spark] done in" in out


def test_bad_dates_are_named(tmp_path, capsys):
    assert run("--as-of", "2021-02-30", "--lake", str(tmp_path)) == 1
    assert "--as-of must be a date" in capsys.readouterr().err
    assert run("--run-date", "2021-13-01", "--lake", str(tmp_path)) == 1
    assert "--run-date must be a date YYYY-MM-DD, got '2021-13-01'" in capsys.readouterr().err


def test_the_run_date_defaults_to_the_as_of_date():
    args = cli.build_parser().parse_args(["run", "--as-of", "2019-12-31", "--run-id", "r1"])
    cfg = cli.config_from_args(args)
    run = cfg.run
    assert (str(run.run_date), str(cfg.as_of), run.run_id) == ("2019-12-31", "2019-12-31", "r1")
    assert (run.lake_root, run.lake_prefix, run.lake) == ("lake", "", "lake")


def test_verbose_shows_the_traceback(tmp_path):
    from ipeacast.core.errors import ConfigError

    with pytest.raises(ConfigError):
        cli.main(["--verbose", "run", "--as-of", "nope", "--lake", str(tmp_path)])
