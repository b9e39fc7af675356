"""The training container's entry point (`train`), following the SageMaker directory contract.

    <base>/input/data/train/                 Parquet files of the final monthly table (channel)
    <base>/input/config/hyperparameters.json every value a string (SageMaker passes strings)
    <base>/model/                            model.skops + metrics, forecast, backtest, features,
                                             versions (SageMaker tars this into model.tar.gz)
    <base>/output/failure                    a readable reason, when training fails

The base is /opt/ml in the container; `--base-dir` or the environment variable
IPEACAST_SM_BASE_DIR points it elsewhere (the local pipeline uses a temporary tree).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ipeacast.core import hyperparameters
from ipeacast.core.errors import ConfigError, IpeacastError, TrainingError
from ipeacast.core.hyperparameters import CHANNEL, FORECASTS_CHANNEL
from ipeacast.core.run import Run
from ipeacast.ml import accuracy
from ipeacast.ml.forecast import train_and_forecast, write_outputs
from ipeacast.ml.frames import read_parquet
from ipeacast.ml.model import REQUIRED_COLUMNS, ModelConfig

log = logging.getLogger(__name__)

DEFAULT_BASE_DIR = "/opt/ml"
BASE_DIR_ENV = "IPEACAST_SM_BASE_DIR"


def parse_hyperparameters(raw: Mapping[str, Any]) -> tuple[Run, ModelConfig]:
    """Validate the hyperparameters (all strings): the run, and the model configuration."""
    run, fields = hyperparameters.parse_hyperparameters(raw)
    try:
        cfg = ModelConfig(**fields)
    except ConfigError as exc:
        raise ConfigError(f"invalid hyperparameter: {exc}") from None
    return run, cfg


def read_channel(channel_dir: Path) -> pd.DataFrame:
    """Read every Parquet file under the channel directory into one DataFrame."""
    if not channel_dir.is_dir():
        raise TrainingError(f"input channel '{CHANNEL}' not found at {channel_dir}")
    files = sorted(p for p in channel_dir.rglob("*.parquet") if not p.name.startswith((".", "_")))
    if not files:
        raise TrainingError(f"input channel '{CHANNEL}' at {channel_dir} has no Parquet file")
    frames = []
    for path in files:
        try:
            frames.append(read_parquet(path))
        except Exception as exc:
            raise TrainingError(f"cannot read {path}: {exc}") from exc
    table = pd.concat(frames, ignore_index=True)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise TrainingError(f"input channel '{CHANNEL}' lacks column(s) {missing}")
    if table.empty:
        raise TrainingError(f"input channel '{CHANNEL}' at {channel_dir} has no rows")
    return table


def read_forecasts(channel_dir: Path) -> pd.DataFrame | None:
    """The earlier published forecasts (the optional `forecasts` channel: predictions/
    partitions of the series, each row with its run_date), or None without the channel."""
    if not channel_dir.is_dir():
        return None
    files = sorted(p for p in channel_dir.rglob("*.parquet") if not p.name.startswith((".", "_")))
    if not files:
        return None
    try:
        frames = [read_parquet(path) for path in files]
    except Exception as exc:
        raise TrainingError(f"cannot read the '{FORECASTS_CHANNEL}' channel: {exc}") from exc
    earlier = pd.concat(frames, ignore_index=True)
    missing = [c for c in ("origin_date", "horizon", "run_date", "run_id") if c not in earlier]
    if missing:
        raise TrainingError(f"input channel '{FORECASTS_CHANNEL}' lacks column(s) {missing}")
    return earlier


def base_dir_from(args_base: str | None) -> Path:
    return Path(args_base or os.environ.get(BASE_DIR_ENV) or DEFAULT_BASE_DIR)


def run(base: Path) -> dict[str, Any]:
    """Train from the tree under `base`; returns a short summary. Raises on failure."""
    t0 = time.perf_counter()
    hp_path = base / "input" / "config" / "hyperparameters.json"
    raw: Mapping[str, Any] = {}
    if hp_path.exists():
        try:
            raw = json.loads(hp_path.read_text() or "{}")
        except ValueError as exc:
            raise ConfigError(f"{hp_path} is not valid JSON: {exc}") from None
    pipeline_run, cfg = parse_hyperparameters(raw)
    table = read_channel(base / "input" / "data" / CHANNEL)
    earlier = read_forecasts(base / "input" / "data" / FORECASTS_CHANNEL)
    t1 = time.perf_counter()
    result = train_and_forecast(
        table, cfg, pipeline_run.series, pipeline_run.run_id, pipeline_run.run_date.isoformat()
    )
    if earlier is not None:
        result.accuracy = accuracy.score(earlier, table)
        result.metrics["live"] = accuracy.live_summary(result.accuracy)
    t2 = time.perf_counter()
    write_outputs(result, base / "model")
    t3 = time.perf_counter()
    summary = {
        "series": pipeline_run.series,
        "run_id": pipeline_run.run_id,
        "rows": len(result.forecast),
        "champion": {h: c["candidate"] for h, c in result.metrics["champion"].items()},
        "seconds": {
            "read": round(t1 - t0, 3),
            "train_backtest_forecast": round(t2 - t1, 3),
            "write": round(t3 - t2, 3),
        },
    }
    log.info("training done: %s", summary)
    return summary


def write_failure(base: Path, reason: str) -> None:
    out = base / "output"
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "failure").write_text(reason.rstrip() + "\n")
    except OSError as exc:  # still exit non-zero; the reason goes to stderr
        print(f"train: cannot write {out / 'failure'}: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """The `train` command. Returns 0 on success, 1 on a known error, 2 on an unexpected one."""
    parser = argparse.ArgumentParser(prog="train", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-dir", help=f"SageMaker base dir (default ${BASE_DIR_ENV} or /opt/ml)"
    )
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("--quiet", "-q", action="store_true", help="no JSON summary on stdout")
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    base = base_dir_from(args.base_dir)
    try:
        summary = run(base)
    except IpeacastError as exc:
        reason = f"{type(exc).__name__}: {exc}"
        write_failure(base, reason)
        print(f"train: error: {reason}", file=sys.stderr)
        return 1
    except Exception as exc:
        reason = f"unexpected {type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
        write_failure(base, reason)
        print(f"train: error: {reason}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
