"""The local run: extract -> transform -> load (Spark, local mode) -> train -> publish -> report.

The same steps as on AWS: the ETL steps the Glue jobs run, the training container's entry point
run in-process through the SageMaker directory contract, and the publish function the Lambda
calls. Only the report (reports/) is local.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from ipeacast.aws import publish
from ipeacast.core import lake, storage
from ipeacast.core.run_lock import run_lock
from ipeacast.etl.spark import spark_session
from ipeacast.etl.steps import StepConfig, extract_step, load_step, transform_step
from ipeacast.ml import report
from ipeacast.ml.frames import read_parquet
from ipeacast.ml.local_training import train_local

T = TypeVar("T")

# A forecast whose origin is this many months before the cutoff is flagged: the source is stale.
STALE_MONTHS = 2


def train_step(cfg: StepConfig, work_dir: str) -> dict:
    """Run the training entry point in-process, through the SageMaker directory contract."""
    run = cfg.run
    final = lake.partition(run.lake, "final", run.series, run.run_date)
    # the forecasts published so far: the trainer scores them against the realised months
    forecasts = lake.join(run.lake, "predictions", f"series={run.series}")
    model_dir = train_local(final, work_dir, run.to_hyperparameters(), forecasts)
    return {"model_dir": str(model_dir)}


def publish_step(cfg: StepConfig, model_dir: str) -> dict:
    """Forecast + metrics to predictions/ and models/, then the report under reports/."""
    run = cfg.run
    published = publish.publish_forecast(model_dir, run.lake, run.series, run.run_date)
    table = read_parquet(lake.partition(run.lake, "final", run.series, run.run_date))
    out_dir = lake.partition(run.lake, "reports", run.series, run.run_date)
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


def run_pipeline(cfg: StepConfig) -> dict:
    """extract -> transform -> load -> train -> publish, locally, with one SparkSession.

    The session (and its JVM) is stopped after the last Spark step, before training, when this run
    started it; a session that was already active (a caller's) is left running. The whole run
    holds the lake's lock for the series (`run_lock`): a second run for the same lake and series
    fails at once, naming this one.
    """
    with run_lock(cfg.run.lake, cfg.run.series, cfg.run.run_id):
        return _run_steps(cfg)


def _run_steps(cfg: StepConfig) -> dict:
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


def summary_table(cfg: StepConfig) -> str:
    """The forecast, a staleness warning if any, and the backtest metrics per horizon."""
    run = cfg.run
    predictions = lake.partition(run.lake, "predictions", run.series, run.run_date)
    rows = read_parquet(storage.read_bytes(lake.join(predictions, publish.FORECAST_FILE)))
    # the forecast names its run, whose folder holds the metrics (one unit: ipeacast.aws.publish)
    model_run = lake.model_run(run.lake, run.series, run.run_date, str(rows["run_id"].iloc[0]))
    metrics = json.loads(storage.read_bytes(lake.join(model_run, "metrics.json")))
    origin = date.fromisoformat(str(metrics["origin_date"])[:10])
    lines = [f"Forecast of the monthly average, origin {origin} ({run.series}):"]
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
