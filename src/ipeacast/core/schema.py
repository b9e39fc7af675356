"""Table schemas, declared once in `schemas/*.json` and read here (and by Terraform for Glue).

The Spark and Arrow forms are built where those libraries are: `ipeacast.etl.load.spark_schema`,
`ipeacast.ml.forecast.arrow_schema`."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

FINAL_MONTHLY = "final_monthly"
PREDICTIONS = "predictions"
ACCURACY = "accuracy"


@cache
def load(name: str) -> dict[str, Any]:
    """The declared schema `name` (columns with name, type, required; partition keys)."""
    text = resources.files(__package__).joinpath("schemas", f"{name}.json").read_text("utf-8")
    return json.loads(text)


def columns(name: str) -> list[str]:
    return [c["name"] for c in load(name)["columns"]]


def required_columns(name: str) -> list[str]:
    return [c["name"] for c in load(name)["columns"] if c.get("required")]
