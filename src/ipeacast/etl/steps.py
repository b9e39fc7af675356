"""The ETL steps, as the Glue jobs and the local run call them: extract, transform, load.

Each takes a `StepConfig`: the run (ipeacast.core.run.Run) and the options only the ETL has
(an offline source file, an as-of date, the minimum of complete months).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ipeacast.core import lake
from ipeacast.core.errors import ConfigError
from ipeacast.core.run import DEFAULT_LAKE, Run, parse_date
from ipeacast.etl import extract, load, sources, transform

DEFAULT_MIN_MONTHS = 24


@dataclass(frozen=True)
class StepConfig:
    """The run, plus the ETL's own options; built once by the entry point, then passed down."""

    run: Run
    source: str | None = None
    as_of: date | None = None
    min_months: int = DEFAULT_MIN_MONTHS

    def __post_init__(self) -> None:
        if self.as_of is not None and self.as_of > self.run.run_date:
            raise ConfigError(f"--as-of {self.as_of} is after the run date {self.run.run_date}")
        if self.min_months < 1:
            raise ConfigError(f"min_months must be >= 1, got {self.min_months}")

    @classmethod
    def from_fields(
        cls, values: Mapping[str, Any], *, name: Callable[[str], str], lake_root: str = DEFAULT_LAKE
    ) -> StepConfig:
        """From command-line or Glue job arguments: strings, None or "" when not given.

        `name` spells a field as the caller does in errors (`--run-date` on the command line,
        `--run_date` for a Glue job). The run date defaults to the as-of date, then to the run's
        own default (today).
        """
        as_of = parse_date(values.get("as_of") or None, name("as_of"))
        run = Run.from_fields(values, name=name, lake_root=lake_root, default_date=as_of)
        min_months = values.get("min_months") or None
        if min_months is not None:
            try:
                min_months = int(min_months)
            except ValueError as exc:
                raise ConfigError(
                    f"{name('min_months')} must be an integer: {min_months!r}"
                ) from exc
        return cls(
            run=run,
            source=values.get("source") or None,
            as_of=as_of,
            min_months=DEFAULT_MIN_MONTHS if min_months is None else min_months,
        )

    @property
    def cutoff(self) -> date:
        """The last date whose observations may be used: the as-of date, else the run date."""
        return self.as_of or self.run.run_date


def extract_step(cfg: StepConfig) -> dict:
    """Fetch the series (or read --source) and store the raw snapshot; returns what it stored."""
    run = cfg.run
    if cfg.source:
        fetched = extract.read_source_file(cfg.source)
    else:
        fetched = extract.fetch_ipeadata(run.series)
    snap = extract.store_snapshot(fetched, run.lake, run.series, run.run_date)
    return {
        "raw": snap.uri,
        "rows": snap.metadata["rows"],
        "new_snapshot": snap.created,
        "source": snap.metadata["source"],
    }


def transform_step(spark, cfg: StepConfig) -> dict:
    """Raw snapshot -> clean daily series + daily features + monthly table under interim/."""
    run = cfg.run
    payload, metadata = extract.latest_snapshot(run.lake, run.series, run.run_date)
    observations = sources.parse(payload, metadata["source"], metadata["format"])
    raw = transform.from_pandas(spark, run.series, observations)
    daily = transform.clean_daily(raw, cfg.cutoff, transform.is_daily(observations))  # cached
    try:
        features = load.publish_by_series(
            transform.daily_features(daily),
            run.lake,
            "interim",
            run.run_date,
            "daily",
            series=run.series,
        )
        monthly = load.publish_by_series(
            transform.monthly_table(daily, cfg.cutoff),
            run.lake,
            "interim",
            run.run_date,
            "monthly",
            series=run.series,
        )
    finally:
        daily.unpersist()
    return {"daily": features[run.series], "monthly": monthly[run.series]}


def load_step(spark, cfg: StepConfig) -> dict:
    """interim monthly table -> typed, validated final/ partition, published atomically."""
    run = cfg.run
    interim = lake.join(lake.partition(run.lake, "interim", run.series, run.run_date), "monthly")
    table = load.to_final_schema(load.read_partition(spark, interim, run.series))
    months: dict = {}

    def check(staged) -> None:
        months.update(load.validate_final(staged, cfg.min_months))

    published = load.publish_by_series(
        table, run.lake, "final", run.run_date, check=check, series=run.series
    )
    return {"final": published[run.series], "complete_months": months[run.series]}
