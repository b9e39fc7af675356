"""Load: typed validation that names the rule and rows, and a publish that never half-overwrites."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import synthetic_prices
from pyspark.sql import functions as F

from ipeacast.core import storage
from ipeacast.core.errors import ValidationError
from ipeacast.etl import load, transform

pytestmark = pytest.mark.spark
CUTOFF = date(2021, 12, 31)
RUN_DATE = "2022-01-03"


@pytest.fixture(scope="module")
def final_table(spark):
    daily = transform.clean_daily(
        transform.from_pandas(spark, "S1", synthetic_prices("2018-01-01", 900)), CUTOFF
    )
    return load.to_final_schema(transform.monthly_table(daily, CUTOFF)).cache()


def test_a_good_table_passes_and_counts_complete_months(final_table):
    assert load.validate_final(final_table, min_months=24) == {"S1": 41}


def test_missing_column_names_it(final_table):
    with pytest.raises(ValidationError, match=r"schema.*avg_price"):
        load.to_final_schema(final_table.drop("avg_price"))


def test_wrong_type_names_the_column(final_table):
    with pytest.raises(ValidationError, match=r"schema.*n_days.*want int"):
        load.validate_final(final_table.withColumn("n_days", F.col("n_days").cast("double")), 1)


def test_duplicate_keys_are_named(final_table):
    doubled = final_table.unionByName(final_table.limit(1))
    with pytest.raises(ValidationError, match=r"unique-key.*'month': datetime.date\(2018, 1, 1\)"):
        load.validate_final(doubled, 1)


def test_nulls_in_required_columns_are_named(final_table):
    broken = final_table.withColumn(
        "avg_price", F.when(F.col("month") == "2019-05-01", None).otherwise(F.col("avg_price"))
    )
    with pytest.raises(ValidationError, match=r"not-null.*2019, 5, 1"):
        load.validate_final(broken, 1)


def test_nan_is_rejected(final_table):
    broken = final_table.withColumn(
        "last_price",
        F.when(F.col("month") == "2019-05-01", float("nan")).otherwise(F.col("last_price")),
    )
    with pytest.raises(ValidationError, match="finite"):
        load.validate_final(broken, 1)


def test_dates_must_increase(final_table):
    broken = final_table.withColumn(
        "last_date",
        F.when(F.col("month") == "2019-05-01", F.lit(date(2019, 4, 1))).otherwise(
            F.col("last_date")
        ),
    )
    with pytest.raises(ValidationError, match="dates-increasing"):
        load.validate_final(broken, 1)


def test_minimum_history_is_enforced(final_table):
    with pytest.raises(ValidationError, match=r"min-history.*fewer than 60 complete months.*S1"):
        load.validate_final(final_table, min_months=60)


def published_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_publish_then_republish_replaces_without_duplicates(final_table, tmp_path):
    lake = str(tmp_path)
    for _ in range(2):
        out = load.publish_by_series(final_table, lake, "final", RUN_DATE)
    target = out["S1"]
    assert target.endswith(f"final/series=S1/run_date={RUN_DATE}")
    back = load.read_partition(final_table.sparkSession, target, "S1")
    assert back.count() == final_table.count()
    assert not (tmp_path / "final" / "_staging").exists()


def test_failed_validation_publishes_nothing_and_keeps_previous(final_table, tmp_path):
    lake = str(tmp_path)
    load.publish_by_series(final_table, lake, "final", RUN_DATE)
    before = published_files(tmp_path / "final" / "series=S1")

    def reject(_staged):
        load.validate_final(_staged, min_months=10_000)

    with pytest.raises(ValidationError, match="min-history"):
        load.publish_by_series(final_table.limit(5), lake, "final", RUN_DATE, check=reject)
    assert published_files(tmp_path / "final" / "series=S1") == before


def test_crash_during_publish_leaves_previous_final_intact(final_table, tmp_path, monkeypatch):
    lake = str(tmp_path)
    load.publish_by_series(final_table, lake, "final", RUN_DATE)
    before = published_files(tmp_path / "final" / "series=S1")

    def crash(staged, target):
        raise OSError("disk full")

    monkeypatch.setattr(storage, "replace_prefix", crash)
    with pytest.raises(OSError, match="disk full"):
        load.publish_by_series(final_table.limit(3), lake, "final", RUN_DATE)
    assert published_files(tmp_path / "final" / "series=S1") == before


def test_replace_prefix_restores_old_data_if_the_swap_fails(tmp_path, monkeypatch):
    old, new = tmp_path / "target", tmp_path / "staged"
    old.mkdir()
    (old / "a.parquet").write_text("old")
    new.mkdir()
    (new / "b.parquet").write_text("new")
    real_replace = storage.os.replace
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError("crash mid-swap")
        return real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", flaky)
    # the two-rename path (where the kernel cannot swap two folders in one step)
    monkeypatch.setattr(storage, "_exchange", lambda a, b: False)
    with pytest.raises(OSError):
        storage.replace_prefix(str(new), str(old))
    assert (old / "a.parquet").read_text() == "old"


def test_read_back_has_declared_types(final_table, tmp_path):
    out = load.publish_by_series(final_table, str(tmp_path), "final", RUN_DATE)
    pdf = pd.read_parquet(out["S1"])
    assert str(pdf["n_days"].dtype) == "int32" and str(pdf["avg_price"].dtype) == "float64"
    assert "series" not in pdf.columns  # a partition key, carried by the path
