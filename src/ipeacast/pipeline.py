"""The pipeline steps (also called one by one from the Glue scripts) and `ipeacast run`."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ipeacast import DEFAULT_SERIES, extract, lake
from ipeacast.config import RunConfig

log = logging.getLogger(__name__)

T = TypeVar("T")


def extract_step(cfg: RunConfig) -> dict:
    """Fetch the series (or read --source) and store the raw snapshot; returns what it stored."""
    if cfg.source:
        fetched = extract.read_source_file(cfg.source)
    else:
        fetched = extract.fetch_ipeadata(cfg.series)
    snap = extract.store_snapshot(fetched, cfg.lake, cfg.series, cfg.run_date)
    return {
        "raw": snap.uri,
        "rows": snap.metadata["rows"],
        "new_snapshot": snap.created,
        "source": snap.metadata["source"],
    }


def transform_step(spark, cfg: RunConfig) -> dict:
    """Raw snapshot -> clean daily series + daily features + monthly table under interim/."""
    from ipeacast import load, sources, transform

    payload, metadata = extract.latest_snapshot(cfg.lake, cfg.series, cfg.run_date)
    observations = sources.parse(payload, metadata["source"], metadata["format"])
    raw = transform.from_pandas(spark, cfg.series, observations)
    daily = transform.clean_daily(raw, cfg.cutoff, transform.is_daily(observations))  # cached
    try:
        features = load.publish_by_series(
            transform.daily_features(daily), cfg.lake, "interim", cfg.run_date, "daily"
        )
        monthly = load.publish_by_series(
            transform.monthly_table(daily, cfg.cutoff), cfg.lake, "interim", cfg.run_date, "monthly"
        )
    finally:
        daily.unpersist()
    return {"daily": features[cfg.series], "monthly": monthly[cfg.series]}


def load_step(spark, cfg: RunConfig) -> dict:
    """interim monthly table -> typed, validated final/ partition, published atomically."""
    from ipeacast import load

    interim = lake.join(lake.partition(cfg.lake, "interim", cfg.series, cfg.run_date), "monthly")
    table = load.to_final_schema(load.read_partition(spark, interim, cfg.series))
    months: dict = {}

    def check(staged) -> None:
        months.update(load.validate_final(staged, cfg.min_months))

    published = load.publish_by_series(table, cfg.lake, "final", cfg.run_date, check=check)
    return {"final": published[cfg.series], "complete_months": months[cfg.series]}


def train_step(cfg: RunConfig, work_dir: str) -> dict:
    """Run the training entry point in-process, through the SageMaker directory contract."""
    from ipeacast import trainer

    final = lake.partition(cfg.lake, "final", cfg.series, cfg.run_date)
    hyperparameters = {"series": cfg.series, "run_id": cfg.run_id, "run_date": str(cfg.run_date)}
    return {"model_dir": str(trainer.train_local(final, work_dir, hyperparameters))}


def publish_step(cfg: RunConfig, model_dir: str) -> dict:
    """Forecast + metrics to predictions/ and models/, then the report under reports/."""
    import pandas as pd

    from ipeacast import forecast, report

    published = forecast.publish_forecast(model_dir, cfg.lake, cfg.series, cfg.run_date)
    table = pd.read_parquet(lake.partition(cfg.lake, "final", cfg.series, cfg.run_date))
    out_dir = lake.partition(cfg.lake, "reports", cfg.series, cfg.run_date)
    paths = report.write_report(model_dir, out_dir, table)
    return {
        "predictions": published["predictions"],
        "models": published["models"],
        "report_png": paths["png"],
        "report_md": paths["markdown"],
    }


@dataclass
class StepLog:
    """Prints how long each step took and keeps the outputs worth showing in the run summary."""

    outputs: dict = field(default_factory=dict)

    def run(self, name: str, fn: Callable[[], T], output: bool = True) -> T:
        """Run and time `fn`; with `output`, its result (a dict) goes into `outputs[name]`."""
        print(f"[{name}] ...")
        start = time.perf_counter()
        result = fn()
        print(f"[{name}] done in {time.perf_counter() - start:.1f}s")
        if output:
            self.outputs[name] = result
        return result


def run_pipeline(cfg: RunConfig) -> dict:
    """extract -> transform -> load -> train -> publish, locally, with one SparkSession.

    The session (and its JVM) is stopped after the last Spark step, before training, when this run
    started it; a session that was already active (a caller's) is left running. The whole run
    holds the lake's lock for the series (`run_lock`): a second run for the same lake and series
    fails at once, naming this one.
    """
    from ipeacast.run_lock import run_lock

    with run_lock(cfg.lake, cfg.series, cfg.run_id):
        return _run_steps(cfg)


def _run_steps(cfg: RunConfig) -> dict:
    import contextlib
    import tempfile

    from ipeacast.spark import spark_session

    steps = StepLog()
    steps.run("extract", lambda: extract_step(cfg))
    with contextlib.ExitStack() as spark_scope:
        # timed: the JVM start is a cost
        spark = steps.run("spark", lambda: spark_scope.enter_context(spark_session()), output=False)
        steps.run("transform", lambda: transform_step(spark, cfg))
        steps.run("load", lambda: load_step(spark, cfg))
        steps.run("stop-spark", spark_scope.close, output=False)
    with tempfile.TemporaryDirectory(prefix="ipeacast-opt-ml-") as work_dir:
        # the model folder is temporary: publish's outputs name where its files went
        model_dir = steps.run("train", lambda: train_step(cfg, work_dir), output=False)["model_dir"]
        steps.run("publish", lambda: publish_step(cfg, model_dir))
    return steps.outputs


def config_from_args(args: argparse.Namespace) -> RunConfig:
    return RunConfig.from_strings(
        series=args.series,
        lake=args.lake,
        run_date=args.run_date,
        as_of=args.as_of,
        run_id=args.run_id,
        source=args.source,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    print(
        f"ipeacast run: series {cfg.series}, run date {cfg.run_date}, run id {cfg.run_id}"
        + (f", as of {cfg.as_of}" if cfg.as_of else "")
    )
    outputs = run_pipeline(cfg)
    print("\nOutputs:")
    for step, result in outputs.items():
        for key, value in result.items():
            print(f"  {step:<10} {key:<16} {value}")
    print(f"\n{summary_table(cfg)}")
    return 0


# A forecast whose origin is this many months before the cutoff is flagged: the source is stale.
STALE_MONTHS = 2


def summary_table(cfg: RunConfig) -> str:
    """The forecast, a staleness warning if any, and the backtest metrics per horizon."""
    import io
    import json
    from datetime import date

    import pandas as pd

    from ipeacast import report, storage

    models = lake.partition(cfg.lake, "models", cfg.series, cfg.run_date)
    metrics = json.loads(storage.read_bytes(lake.join(models, "metrics.json")))
    predictions = lake.partition(cfg.lake, "predictions", cfg.series, cfg.run_date)
    rows = pd.read_parquet(
        io.BytesIO(storage.read_bytes(lake.join(predictions, "forecast.parquet")))
    )
    origin = date.fromisoformat(str(metrics["origin_date"])[:10])
    lines = [f"Forecast of the monthly average, origin {origin} ({cfg.series}):"]
    columns = ["target_month", "horizon", "point_forecast", "lower", "upper", "model"]
    lines.append(rows[columns].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    lag = (cfg.cutoff.year - origin.year) * 12 + cfg.cutoff.month - origin.month
    if lag > STALE_MONTHS:
        lines.append(
            f"warning: the last complete month ends {origin}, {lag} months before "
            f"{cfg.cutoff}: the source looks stale, so some 'forecast' months are already past"
        )
    lines += ["", "Backtest per horizon:", report.metrics_table_text(metrics)]
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the pipeline locally: extract, transform, load, train")
    p.add_argument("--series", default=DEFAULT_SERIES, help="Ipeadata series code")
    p.add_argument("--source", help="offline source file instead of the Ipeadata API")
    p.add_argument("--lake", default="lake", help="data lake root: a folder or s3://bucket")
    p.add_argument("--as-of", help="use no observation after this date (YYYY-MM-DD)")
    p.add_argument("--run-date", help="partition date of this run (default: --as-of or today)")
    p.add_argument("--run-id", help="run id (default: derived from the run date and time)")
    p.set_defaults(func=_cmd_run)
