"""The `train` entry point against a temporary SageMaker-style tree (/opt/ml contract)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from forecast_helpers import SMALL, monthly_fixture

from ipeacast.aws.publish import PREDICTION_COLUMNS
from ipeacast.core.errors import ConfigError, TrainingError
from ipeacast.ml.forecast import MODEL_FILES, load_model
from ipeacast.ml.local_training import prepare_local_tree, train_local
from ipeacast.ml.trainer import BASE_DIR_ENV, main, parse_hyperparameters

HP = {
    **{k: str(v) for k, v in SMALL.items()},
    "series": "TEST_SERIES",
    "run_id": "r-42",
    "run_date": "2020-05-17",
}


@pytest.fixture(scope="module")
def final_partition(tmp_path_factory):
    """A final partition as the load step writes it: Parquet files, no partition columns."""
    root = tmp_path_factory.mktemp("final")
    table = monthly_fixture()
    half = len(table) // 2
    table.iloc[:half].to_parquet(root / "part-00000-a.snappy.parquet", index=False)
    table.iloc[half:].to_parquet(root / "part-00001-b.snappy.parquet", index=False)
    (root / "_SUCCESS").write_text("")
    return root


def test_success_writes_the_model_and_every_sidecar(tmp_path, final_partition):
    base = prepare_local_tree(tmp_path / "ml", final_partition, HP)
    assert main(["--base-dir", str(base)]) == 0
    model = base / "model"
    assert sorted(p.name for p in model.iterdir()) == sorted(MODEL_FILES)
    assert not (base / "output" / "failure").exists()
    fc = pd.read_parquet(model / "forecast.parquet")
    assert list(fc.columns) == ["series", "run_date", *PREDICTION_COLUMNS]
    assert set(fc["run_id"]) == {"r-42"} and set(fc["series"]) == {"TEST_SERIES"}
    assert len(fc) == 6
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["config"]["min_train_rows"] == 24
    features = json.loads((model / "features.json").read_text())
    assert [f["name"] for f in features["features"]] == ["gap_avg"]
    versions = json.loads((model / "versions.json").read_text())
    assert {"python", "scikit-learn", "skops", "pandas"} <= set(versions)
    assert load_model(model / "model.skops")["series"] == "TEST_SERIES"


def test_base_dir_comes_from_the_environment(tmp_path, final_partition, monkeypatch):
    base = prepare_local_tree(tmp_path / "ml", final_partition, HP)
    monkeypatch.setenv(BASE_DIR_ENV, str(base))
    assert main([]) == 0
    assert (base / "model" / "forecast.csv").exists()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("horizons", "six", "'horizons' must be an integer"),
        ("interval_level", "1.5", "interval_level must be in"),
        ("backtest_start", "2019/01", "'backtest_start' must be a month"),
        ("learning_rate", "0.1", "unknown hyperparameter 'learning_rate'"),
        ("interval_scale", "garch", "interval_scale must be monthly, daily, blend or max"),
    ],
)
def test_bad_hyperparameter_writes_a_failure_naming_it(
    tmp_path, final_partition, name, value, message
):
    base = prepare_local_tree(tmp_path / "ml", final_partition, {**HP, name: value})
    assert main(["--base-dir", str(base)]) == 1
    reason = (base / "output" / "failure").read_text()
    assert message in reason
    assert not (base / "model" / "forecast.parquet").exists()


def test_empty_channel_writes_a_failure_and_exits_non_zero(tmp_path, final_partition):
    base = prepare_local_tree(tmp_path / "ml", final_partition, HP)
    for f in (base / "input" / "data" / "train").iterdir():
        f.unlink()
    assert main(["--base-dir", str(base)]) != 0
    assert "has no Parquet file" in (base / "output" / "failure").read_text()


def test_malformed_hyperparameters_file_is_reported(tmp_path, final_partition):
    base = prepare_local_tree(tmp_path / "ml", final_partition, HP)
    (base / "input" / "config" / "hyperparameters.json").write_text("{not json")
    assert main(["--base-dir", str(base)]) == 1
    assert "hyperparameters.json is not valid JSON" in (base / "output" / "failure").read_text()


def test_hyperparameters_must_be_strings():
    with pytest.raises(ConfigError, match="'horizons' must be a string"):
        parse_hyperparameters({"horizons": 6})


def test_hyperparameters_parse_to_the_model_config():
    run, cfg = parse_hyperparameters(
        {"features": "gap_avg, gap_lag1", "alpha": "0.5", "run_id": "x", "sagemaker_region": "y"}
    )
    assert cfg.features == ("gap_avg", "gap_lag1") and cfg.alpha == 0.5
    assert (run.series, run.run_id) == ("EIA366_PBRENT366", "x")  # the run's own defaults
    _, cfg = parse_hyperparameters({"interval_scale": "max", "interval_vol_months": "1"})
    assert (cfg.interval_scale, cfg.interval_vol_months) == ("max", 1)


def test_train_local_returns_the_model_dir_or_raises_the_reason(tmp_path, final_partition):
    model_dir = train_local(final_partition, tmp_path / "ok", HP)
    assert (model_dir / "forecast.parquet").exists()
    with pytest.raises(TrainingError, match="'horizons' must be an integer"):
        train_local(final_partition, tmp_path / "bad", {**HP, "horizons": "x"})


def test_the_container_command_trains_from_an_opt_ml_tree(tmp_path, final_partition):
    """The image runs src/ml/train.py as `train` with no arguments; SageMaker provides /opt/ml
    (here: a temporary tree named by the environment variable the image would not need)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "src" / "ml" / "train.py"
    assert os.access(script, os.X_OK), "src/ml/train.py must be executable (the image runs it)"
    train = [sys.executable, str(script)]
    base = prepare_local_tree(tmp_path / "opt" / "ml", final_partition, HP)
    env = {**os.environ, BASE_DIR_ENV: str(base)}
    done = subprocess.run(train, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["rows"] == 6
    assert sorted(p.name for p in (base / "model").iterdir()) == sorted(MODEL_FILES)

    (base / "input" / "config" / "hyperparameters.json").write_text('{"horizons": "0"}')
    failed = subprocess.run(train, env=env, capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0
    assert "horizons" in (base / "output" / "failure").read_text()


def test_training_needs_only_what_the_image_installs(tmp_path, final_partition):
    """The image installs docker/training-requirements.txt and the wheel with --no-deps: training
    must not import Spark, boto3, requests, ipeadatapy or matplotlib, and the image's pins must
    be the project's."""
    import re
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    root = Path(__file__).parents[1]
    base = prepare_local_tree(tmp_path / "ml", final_partition, HP)
    code = (
        "import sys; from ipeacast.ml.trainer import main; assert main(['--base-dir', sys.argv[1],"
        " '--quiet']) == 0; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(base)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert not loaded & {"pyspark", "boto3", "botocore", "requests", "ipeadatapy", "matplotlib"}

    pins = dict(
        re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
        for line in (root / "docker" / "training-requirements.txt").read_text().splitlines()
        if line[:1].isalnum()  # `name==version \`, not its `--hash=...` or comment lines
    )
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["ml"]]
    for requirement in declared:
        name, version = requirement.split("==")
        if name in {"numpy", "pandas", "pyarrow", "scikit-learn", "skops"}:
            assert pins.get(name) == version, f"{name}: image {pins.get(name)} != {version}"
    assert not {"boto3", "requests", "ipeadatapy", "pyspark"} & set(pins)


def test_earlier_forecasts_are_scored_and_published_as_the_accuracy_table(
    tmp_path, final_partition
):
    from model_artifacts import forecast_frame

    from ipeacast.aws.publish import publish_forecast
    from ipeacast.ml.frames import read_parquet

    table = monthly_fixture()
    months = pd.to_datetime(table.loc[table["complete"].astype(bool), "month"])
    # a forecast published at an earlier run, from an origin whose six target months are complete
    earlier = forecast_frame("TEST_SERIES", "2019-01-15", "r-earlier")
    origin = months.iloc[-10]
    earlier["origin_date"] = (origin + pd.offsets.MonthEnd(0)).date()
    earlier["target_month"] = [(origin + pd.DateOffset(months=h)).date() for h in range(1, 7)]
    part = tmp_path / "lake" / "predictions" / "series=TEST_SERIES" / "run_date=2019-01-15"
    part.mkdir(parents=True)
    earlier.to_parquet(part / "forecast.parquet", index=False)

    forecasts = tmp_path / "lake" / "predictions" / "series=TEST_SERIES"
    base = prepare_local_tree(tmp_path / "ml", final_partition, HP, forecasts)
    assert main(["--base-dir", str(base), "--quiet"]) == 0
    scored = read_parquet(base / "model" / "accuracy.parquet")
    assert list(scored["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert set(scored["forecast_run_id"]) == {"r-earlier"}
    assert set(scored["run_date"]) == {HP["run_date"]}  # the partition of the scoring run
    metrics = json.loads((base / "model" / "metrics.json").read_text())
    assert metrics["live"]["resolved"] == 6 and metrics["live"]["mae_ratio"] > 0

    out = publish_forecast(base / "model", str(tmp_path / "lake"), "TEST_SERIES", HP["run_date"])
    accuracy_part = Path(out["accuracy"])
    assert [p.name for p in accuracy_part.iterdir()] == ["accuracy.parquet"]
