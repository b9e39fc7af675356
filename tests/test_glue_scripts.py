"""The Glue job scripts, run locally through their own argument parsing against a temporary lake."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from ipeacast.core.errors import ConfigError
from ipeacast.etl.glue_args import parse_job_args

ROOT = Path(__file__).resolve().parents[1]
ETL = ROOT / "src" / "etl"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"glue_{name}", ETL / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_glue(monkeypatch):
    """Install a fake `awsglue.utils` whose getResolvedOptions is the function given."""

    def install(get_resolved_options) -> None:
        awsglue = types.ModuleType("awsglue")
        utils = types.ModuleType("awsglue.utils")
        utils.getResolvedOptions = get_resolved_options
        monkeypatch.setitem(sys.modules, "awsglue", awsglue)
        monkeypatch.setitem(sys.modules, "awsglue.utils", utils)

    return install


def _argv(name: str, lake: Path, *extra: str) -> list[str]:
    return [
        f"{name}.py",
        # what Glue adds to every run, which the scripts must ignore
        "--JOB_NAME",
        f"ipeacast-test-{name}",
        "--job-bookmark-option",
        "job-bookmark-disable",
        "--series",
        "TEST1",
        "--run_date",
        "2021-06-30",
        "--lake",
        str(lake),
        "--run_id",
        "20210630-120000",
        *extra,
    ]


@pytest.mark.spark
def test_extract_transform_load_scripts_build_the_final_partition(spark, price_csv, tmp_path):
    lake = tmp_path / "lake"
    # extract needs no Spark: run it as Glue would, a separate Python process on the script
    result = subprocess.run(
        [
            sys.executable,
            str(ETL / "extract.py"),
            *_argv("extract", lake, "--source", str(price_csv))[1:],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "extract done" in result.stderr
    part = "series=TEST1/run_date=2021-06-30"
    assert list((lake / "raw" / part).glob("sha256=*/metadata.json"))

    assert _script("transform").main(_argv("transform", lake)) == 0
    assert list((lake / "interim" / part / "monthly").glob("*.parquet"))

    assert _script("load").main(_argv("load", lake)) == 0
    table = pd.read_parquet(lake / "final" / part)
    assert len(table) > 24
    assert table["month"].is_monotonic_increasing


def test_a_failing_step_exits_non_zero_and_names_the_problem(tmp_path, caplog):
    missing = tmp_path / "missing.csv"
    code = _script("extract").main(_argv("extract", tmp_path / "lake", "--source", str(missing)))
    assert code == 1
    assert "missing.csv" in caplog.text


def test_missing_required_argument_is_named():
    with pytest.raises(ConfigError, match="--lake"):
        parse_job_args(["load.py", "--series", "TEST1", "--run_date", "2021-06-30"])


def test_bad_dates_are_named():
    with pytest.raises(ConfigError, match="--run_date"):
        parse_job_args(["x.py", "--series", "S", "--run_date", "30/06/2021", "--lake", "l"])
    with pytest.raises(ConfigError, match="--as_of"):
        parse_job_args(
            ["x.py", "--series", "S", "--run_date", "2021-06-30", "--lake", "l", "--as_of", "x"]
        )


def test_optional_arguments_reach_the_run_config():
    cfg = parse_job_args(
        [
            *("x.py", "--series", "S", "--run_date", "2021-06-30", "--lake", "s3://b"),
            *("--as_of", "2021-06-15", "--run_id", "r-1", "--min_months", "12"),
        ]
    )
    assert (cfg.run.series, cfg.run.lake, cfg.run.run_date) == ("S", "s3://b", date(2021, 6, 30))
    assert (cfg.as_of, cfg.run.run_id, cfg.min_months) == (date(2021, 6, 15), "r-1", 12)


def test_on_glue_the_arguments_come_from_get_resolved_options(fake_glue):
    asked: list[list[str]] = []

    def get_resolved_options(argv, names):
        # the real one fails on any listed name missing from argv
        asked.append(list(names))
        out = {}
        for name in names:
            flag = f"--{name}"
            if flag not in argv:
                raise SystemExit(f"argument {flag} is required")
            out[name] = argv[argv.index(flag) + 1]
        return out

    fake_glue(get_resolved_options)
    cfg = parse_job_args(_argv("load", Path("/tmp/lake")))
    assert asked == [["series", "run_date", "lake", "run_id"]]
    assert cfg.run.run_id == "20210630-120000" and cfg.run.series == "TEST1"


def test_lake_prefix_is_joined_to_the_lake():
    base = ["x.py", "--series", "S", "--run_date", "2021-06-30", "--lake", "s3://bucket"]
    assert parse_job_args([*base, "--lake_prefix", "smoke"]).run.lake == "s3://bucket/smoke"
    assert parse_job_args([*base, "--lake_prefix", ""]).run.lake == "s3://bucket"
    assert parse_job_args(base).run.lake == "s3://bucket"
    # an empty value that reaches the script as a bare flag (last, or before another flag)
    assert parse_job_args([*base, "--lake_prefix"]).run.lake == "s3://bucket"
    bare = ["x.py", "--lake_prefix", "--series", "S", "--run_date", "2021-06-30", "--lake", "l"]
    assert parse_job_args(bare).run.lake == "l"


@pytest.mark.parametrize("prefix", ["Smoke", "../prod", "smoke/x", "s" * 33])
def test_bad_lake_prefix_is_named(prefix):
    with pytest.raises(ConfigError, match="--lake_prefix"):
        parse_job_args(
            [
                *("x.py", "--series", "S", "--run_date", "2021-06-30", "--lake", "l"),
                *("--lake_prefix", prefix),
            ]
        )


def test_extract_with_lake_prefix_writes_only_under_it(price_csv, tmp_path):
    lake = tmp_path / "lake"
    argv = _argv("extract", lake, "--source", str(price_csv), "--lake_prefix", "smoke")
    assert _script("extract").main(argv) == 0
    assert [p.name for p in lake.iterdir()] == ["smoke"]
    assert list((lake / "smoke" / "raw" / "series=TEST1" / "run_date=2021-06-30").glob("sha256=*"))


def test_on_glue_lake_prefix_comes_from_get_resolved_options(fake_glue):
    def get_resolved_options(argv, names):
        return {name: argv[argv.index(f"--{name}") + 1] for name in names}

    fake_glue(get_resolved_options)

    cfg = parse_job_args(_argv("load", Path("/tmp/lake"), "--lake_prefix", "smoke"))
    assert cfg.run.lake == "/tmp/lake/smoke"
    cfg = parse_job_args(_argv("load", Path("/tmp/lake"), "--lake_prefix"))
    assert cfg.run.lake == "/tmp/lake"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x.py", "--lake", "l", "--run_date", "2021-06-30", "--series"], "--series: expected one"),
        (["x.py", "--series", "--run_date", "2021-06-30", "--lake", "l"], "--series: expected one"),
        (
            ["x.py", "--series", "S", "--run_date", "2021-06-30", "--lake", "l", "--as_of"],
            "--as_of: expected one",
        ),
    ],
)
def test_a_flag_without_its_value_keeps_argparses_message(argv, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_job_args(argv)
    assert "missing" not in str(err.value)


def test_every_missing_required_argument_is_named_at_once():
    with pytest.raises(ConfigError, match="missing: --run_date, --lake"):
        parse_job_args(["x.py", "--series", "S"])


def test_a_bad_run_id_argument_is_rejected_by_the_run_config():
    base = ["x.py", "--series", "S", "--run_date", "2021-06-30", "--lake", "l"]
    with pytest.raises(ConfigError, match=r"--run_id 'r1\\n' must be 1-48 letters"):
        parse_job_args([*base, "--run_id", "r1\n"])  # `$` of a .match() let a newline through
    assert parse_job_args([*base, "--run_id", "R-1"]).run.run_id == "R-1"


def test_min_months_must_be_an_integer_named_as_the_job_spells_it():
    base = ["x.py", "--series", "S", "--run_date", "2021-06-30", "--lake", "l"]
    with pytest.raises(ConfigError, match=r"^--min_months must be an integer: 'ten'$"):
        parse_job_args([*base, "--min_months", "ten"])


def test_step_config_is_the_one_builder_for_cli_and_glue():
    from ipeacast.core.run import cli_flag, glue_flag
    from ipeacast.etl.steps import StepConfig

    values = {"series": "S", "run_date": "", "as_of": "2021-06-15", "run_id": "", "source": ""}
    cfg = StepConfig.from_fields(values, name=cli_flag, lake_root="l")
    assert (cfg.run.run_date, cfg.as_of, cfg.source) == (date(2021, 6, 15), date(2021, 6, 15), None)
    assert cfg.run.run_id[:8] == f"{datetime.now(UTC):%Y%m%d}"  # from the start time
    with pytest.raises(ConfigError, match=r"^--run-date must be a date"):
        StepConfig.from_fields({"run_date": "30/06/2021"}, name=cli_flag)
    with pytest.raises(ConfigError, match=r"^--run_date must be a date"):
        StepConfig.from_fields({"run_date": "30/06/2021"}, name=glue_flag)
    with pytest.raises(ConfigError, match=r"^--as_of must be a date"):
        StepConfig.from_fields({"as_of": "x"}, name=glue_flag)
    assert StepConfig.from_fields({"min_months": "12"}, name=cli_flag).min_months == 12
    with pytest.raises(ConfigError, match="after the run date"):
        StepConfig.from_fields({"as_of": "2021-07-01", "run_date": "2021-06-30"}, name=cli_flag)
