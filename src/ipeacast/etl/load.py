"""Load: type, validate and publish the monthly training table to final/ atomically.

Publishing is stage -> validate -> replace: the table is written to a staging prefix, read back
and checked, and only then does each series' staged folder replace
`final/series=<code>/run_date=<date>/`. A failed check or a crash leaves the previous final/ as it
was, and a failed check names the rule and the offending rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import NoReturn

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ipeacast.core import lake, schema, storage
from ipeacast.core.errors import StorageError, ValidationError
from ipeacast.etl.spark import spark_errors

log = logging.getLogger(__name__)

SHOW = 5  # offending rows named in an error


_SPARK_TYPES = {
    "string": T.StringType(),
    "date": T.DateType(),
    "boolean": T.BooleanType(),
    "int": T.IntegerType(),
    "bigint": T.LongType(),
    "double": T.DoubleType(),
}


def spark_schema(name: str) -> T.StructType:
    """The declared columns of table `name` as a Spark StructType (partition keys excluded)."""
    return T.StructType(
        [
            T.StructField(c["name"], _SPARK_TYPES[c["type"]], nullable=not c.get("required"))
            for c in schema.load(name)["columns"]
        ]
    )


def to_final_schema(df: DataFrame) -> DataFrame:
    """Select and cast the declared columns (plus `series`); a missing column is an error."""
    declared = spark_schema(schema.FINAL_MONTHLY)
    missing = [f.name for f in declared.fields if f.name not in df.columns]
    if missing:
        raise ValidationError("schema", f"missing columns {missing}")
    return df.select(
        F.col("series").cast("string"), *[F.col(f.name).cast(f.dataType) for f in declared.fields]
    )


def validate_final(df: DataFrame, min_months: int) -> dict:
    """Check the typed table; raise ValidationError naming the rule and offending rows."""
    declared = spark_schema(schema.FINAL_MONTHLY)
    actual = {f.name: f.dataType for f in df.schema.fields}
    wrong = [
        f"{f.name}: {actual.get(f.name)} (want {f.dataType.simpleString()})"
        for f in declared.fields
        if actual.get(f.name) != f.dataType
    ]
    if wrong:
        raise ValidationError("schema", "; ".join(wrong))

    # One pass computes a flag per rule and row; offending rows are fetched only on failure.
    by_month = Window.partitionBy("series").orderBy("month")
    required = schema.required_columns(schema.FINAL_MONTHLY)
    doubles = [f.name for f in declared.fields if f.dataType.simpleString() == "double"]
    same_month = (F.lag("month").over(by_month) == F.col("month")) | (
        F.lead("month").over(by_month) == F.col("month")
    )
    null_any = F.lit(False)
    for name in ["series", *required]:
        null_any = null_any | F.col(name).isNull()
    bad_number = F.lit(False)
    for name in doubles:
        bad_number = bad_number | F.isnan(name) | (F.abs(F.col(name)) == float("inf"))
    out_of_order = (F.col("last_date") <= F.lag("last_date").over(by_month)) | (
        F.trunc("last_date", "month") != F.col("month")
    )
    rules = [
        ("unique-key", same_month, "duplicate (series, month) rows"),
        ("not-null", null_any, f"nulls in required columns {required}"),
        ("finite", bad_number, "NaN or infinite values"),
        ("dates-increasing", out_of_order, "last_date not increasing or outside its month"),
    ]
    flagged = df.select(
        "*", *[F.coalesce(flag, F.lit(False)).alias(f"_{rule}") for rule, flag, _ in rules]
    )
    summary = (
        flagged.groupBy("series")
        .agg(
            F.sum(F.col("complete").cast("int")).alias("complete_months"),
            *[F.sum(F.col(f"`_{rule}`").cast("int")).alias(rule) for rule, _, _ in rules],
        )
        .collect()
    )
    for rule, _, what in rules:
        if any(row[rule] for row in summary):
            _reject(
                flagged.where(F.col(f"`_{rule}`")).drop(*[f"_{r}" for r, _, _ in rules]), rule, what
            )
    short = [r for r in summary if (r.complete_months or 0) < min_months]
    if short:
        shown = "; ".join(f"{r.series}: {r.complete_months or 0}" for r in short[:SHOW])
        raise ValidationError("min-history", f"fewer than {min_months} complete months: {shown}")
    return {r.series: r.complete_months for r in summary}


def _reject(offending: DataFrame, rule: str, what: str) -> NoReturn:
    """Raise the rule's ValidationError with the first offending rows (the summary counted some)."""
    shown = "; ".join(str(r.asDict()) for r in offending.limit(SHOW).collect())
    raise ValidationError(rule, f"{what}: {shown}")


def publish_by_series(
    df: DataFrame,
    lake_root: str,
    zone: str,
    run_date: date | str,
    subfolder: str = "",
    check: Callable[[DataFrame], object] | None = None,
    series: str | None = None,
) -> dict[str, str]:
    """Write `df` (with a `series` column) to staging, check it, then replace each series' folder.

    Returns {series: published URI}. On any failure the staging data is removed and nothing under
    the published partitions changes. With `series` (a run's one series) the write stages in that
    partition's staging scope and first removes what a crashed write of it left there; without,
    in the run date's scope (a write of many series; leftovers there are kept).
    """
    spark = df.sparkSession
    staging = lake.staging(lake_root, zone, run_date, series)
    if series is not None:
        storage.clear_staging(lake.staging_scope(lake_root, zone, run_date, series), keep=staging)
    try:
        with spark_errors(f"cannot write {zone}/ for run date {run_date} (staging {staging})"):
            df.repartition("series").write.mode("error").partitionBy("series").parquet(
                storage.spark_path(staging)
            )
            if check is not None:
                check(spark.read.parquet(storage.spark_path(staging)))
        series_list = _staged_series(staging)
        if not series_list:
            raise ValidationError("not-empty", f"nothing to publish to {zone}/")
        published = {}
        for series in series_list:
            staged_series = lake.join(staging, f"series={series}")
            storage.stable_names(staged_series)  # one file per series: replaced in one step
            target = lake.join(lake.partition(lake_root, zone, series, run_date), subfolder)
            storage.replace_prefix(staged_series, target)
            published[series] = target
            log.info("published %s", target)
        return published
    finally:
        try:
            storage.delete_prefix(staging)
            storage.remove_empty_folder(staging, up_to=lake.join(lake_root, zone, lake.STAGING))
        except Exception as exc:  # cleanup must not hide the real error
            log.warning("could not remove staging %s: %s", staging, exc)


def _staged_series(staging: str) -> list[str]:
    """Series codes present in a staging folder, read from its `series=<code>/` folder names."""
    root = storage.parse(staging).uri.rstrip("/") + "/series="
    found = set()
    for uri in storage.list_files(staging):
        location = storage.parse(uri).uri
        if location.startswith(root) and location.endswith(".parquet"):
            found.add(location[len(root) :].split("/", 1)[0])
    return sorted(found)


def read_partition(spark: SparkSession, uri: str, series: str) -> DataFrame:
    """Read one published series/run_date folder back, with its `series` column restored."""
    if not storage.list_files(uri):
        raise StorageError(f"{uri} has no data")
    return spark.read.parquet(storage.spark_path(uri)).withColumn("series", F.lit(series))
