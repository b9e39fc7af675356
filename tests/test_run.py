"""The run (ipeacast.core.run): one value, its defaults and rules defined once, and the lake
layout built from it."""

from datetime import UTC, date, datetime

import pytest

from ipeacast.core import lake
from ipeacast.core.errors import ConfigError
from ipeacast.core.run import (
    DEFAULT_SERIES,
    LAKE_PREFIXES,
    Run,
    check_lake_prefix,
    check_run_id,
    check_series,
    cli_flag,
    glue_flag,
    hyperparameter,
    input_field,
)

NOW = datetime(2026, 11, 26, 10, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (check_series, "EIA366_PBRENT366"),
        (check_run_id, "20261126-100001"),
        (check_lake_prefix, "smoke"),
        (check_lake_prefix, ""),
    ],
)
def test_a_trailing_newline_is_rejected(check, value):
    # `re.match` with `$` accepts "value\n", which would then name a folder or an S3 key.
    assert check(value) == value

    with pytest.raises(ConfigError):
        check(value + "\n")


@pytest.mark.parametrize("run_id", ["-r1", "r_1", "r" * 49, "r1\n", ""])
def test_check_run_id_rejects_unsafe_ids_naming_the_field(run_id):
    with pytest.raises(ConfigError, match=r"^input field 'run_id' .* must be 1-48 letters"):
        check_run_id(run_id, "input field 'run_id'")
    assert check_run_id("r" * 48) == "r" * 48


def test_the_defaults_are_defined_once_the_date_today_the_id_from_date_and_time():
    run = Run.create(now=NOW)
    assert run == Run(DEFAULT_SERIES, "20261126-100001", date(2026, 11, 26), "lake", "")
    # a backdated run's id still says when it ran (the state machine's rule too)
    assert Run.create(run_date=date(2021, 6, 30), now=NOW).run_id == "20261126-100001"
    assert Run.from_fields({}, name=cli_flag, now=NOW) == run
    # "" means "not given", as a CLI or a Glue job passes it
    empty = {"series": "", "run_id": "", "run_date": "", "lake_prefix": ""}
    assert Run.from_fields(empty, name=glue_flag, now=NOW) == run


@pytest.mark.parametrize(
    ("name", "spelled"),
    [
        (cli_flag, "--run-date"),
        (glue_flag, "--run_date"),
        (input_field, "execution input field 'run_date'"),
        (hyperparameter, "hyperparameter 'run_date'"),
    ],
)
def test_each_entry_point_sees_the_field_spelled_its_own_way(name, spelled):
    with pytest.raises(ConfigError, match=rf"^{spelled} must be a date YYYY-MM-DD, got '30/06'"):
        Run.from_fields({"run_date": "30/06"}, name=name)


def test_required_fields_and_types_are_named():
    with pytest.raises(ConfigError, match="execution input field 'run_id' is missing"):
        Run.from_fields({"series": "S"}, name=input_field, required=("series", "run_id"))
    with pytest.raises(ConfigError, match=r"execution input field 'lake_prefix' must be a string"):
        Run.from_fields({"lake_prefix": 3}, name=input_field)
    with pytest.raises(ConfigError, match=r"invalid series code \(--series\) 'a/b'"):
        Run.from_fields({"series": "a/b"}, name=cli_flag)


def test_only_the_lake_and_the_smoke_folder_are_lake_prefixes():
    assert LAKE_PREFIXES == ("", "smoke")
    for bad in ("../prod", "SMOKE", "smoke/", "other", None):
        with pytest.raises(ConfigError, match=r"must be empty \(the lake\) or 'smoke'"):
            check_lake_prefix(bad)


def test_the_lake_of_a_run_is_its_root_plus_its_prefix():
    assert Run.create("S", lake_root="s3://b", lake_prefix="smoke", now=NOW).lake == "s3://b/smoke"
    assert Run.create("S", lake_root="s3://b/", now=NOW).lake == "s3://b"
    assert Run.create("S", lake_root="lake", lake_prefix="smoke", now=NOW).is_smoke


def test_the_execution_input_and_the_hyperparameters_carry_the_same_run():
    run = Run.create("S", run_id="r-1", lake_root="s3://b", lake_prefix="smoke", now=NOW)
    assert run.to_input() == {
        "series": "S",
        "run_id": "r-1",
        "run_date": "2026-11-26",
        "lake_prefix": "smoke",
    }
    again = Run.from_fields(run.to_input(), name=input_field, lake_root="s3://b")
    assert again == run
    hp = Run.from_fields(run.to_hyperparameters(), name=hyperparameter, lake_root="s3://b")
    assert hp == Run.create("S", run.run_date, "r-1", "s3://b", now=NOW)


def test_a_run_built_directly_is_validated_too():
    with pytest.raises(ConfigError, match="run date must be a date"):
        Run("S", "r1", "2026-11-26")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="run id"):
        Run("S", "bad id", date(2026, 11, 26))


def test_every_staged_write_stages_in_its_partitions_staging_scope():
    a = lake.staging("s3://b/smoke", "predictions", "2026-11-26", "S1")
    b = lake.staging("s3://b/smoke", "predictions", "2026-11-26", "S1")
    scope = "s3://b/smoke/predictions/_staging/series=S1/run_date=2026-11-26"
    assert lake.staging_scope("s3://b/smoke", "predictions", "2026-11-26", "S1") == scope
    assert a.startswith(scope + "/") and b.startswith(scope + "/") and a != b
    # a write of many series at once stages in the run date's scope
    assert lake.staging("l", "final", "2026-11-26").startswith(
        "l/final/_staging/run_date=2026-11-26/"
    )
    with pytest.raises(ValueError, match="unknown lake zone"):
        lake.staging("l", "tmp", "2026-11-26")
    assert lake.model_run("l", "S1", "2026-11-26", "r-1") == (
        "l/models/series=S1/run_date=2026-11-26/run_id=r-1"
    )
