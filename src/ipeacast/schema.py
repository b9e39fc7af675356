"""Table schemas, declared once in `schemas/*.json` and read here (and by Terraform for Glue)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

FINAL_MONTHLY = "final_monthly"
PREDICTIONS = "predictions"


@cache
def load(name: str) -> dict[str, Any]:
    """The declared schema `name` (columns with name, type, required; partition keys)."""
    text = resources.files("ipeacast").joinpath("schemas", f"{name}.json").read_text("utf-8")
    return json.loads(text)


def columns(name: str) -> list[str]:
    return [c["name"] for c in load(name)["columns"]]


def required_columns(name: str) -> list[str]:
    return [c["name"] for c in load(name)["columns"] if c.get("required")]


def spark_schema(name: str):
    """The declared columns as a Spark StructType (partition keys excluded)."""
    from pyspark.sql import types as T

    mapping = {
        "string": T.StringType(),
        "date": T.DateType(),
        "boolean": T.BooleanType(),
        "int": T.IntegerType(),
        "bigint": T.LongType(),
        "double": T.DoubleType(),
    }
    return T.StructType(
        [
            T.StructField(c["name"], mapping[c["type"]], nullable=not c.get("required"))
            for c in load(name)["columns"]
        ]
    )


def arrow_schema(name: str, partition_keys: bool = False):
    """The declared columns as a pyarrow schema: what a Parquet file of the table must hold, so
    that Athena reads it with the Glue table's types (an int64 column under an `int` declaration
    fails there). With `partition_keys`, the partition columns come first (files that also carry
    them, as the trainer's forecast does; readers of the table take them from the path)."""
    import pyarrow as pa

    mapping = {
        "string": pa.string(),
        "date": pa.date32(),
        "boolean": pa.bool_(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "double": pa.float64(),
    }
    declared = load(name)
    fields = (declared["partition_keys"] if partition_keys else []) + declared["columns"]
    return pa.schema([pa.field(c["name"], mapping[c["type"]]) for c in fields])
