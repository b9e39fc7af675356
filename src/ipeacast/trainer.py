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
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ipeacast import DEFAULT_SERIES
from ipeacast.errors import ConfigError, IpeacastError, TrainingError

log = logging.getLogger(__name__)

DEFAULT_BASE_DIR = "/opt/ml"
BASE_DIR_ENV = "IPEACAST_SM_BASE_DIR"
CHANNEL = "train"


def _int(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ConfigError(f"hyperparameter {name!r} must be an integer, got {text!r}") from None


def _float(name: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ConfigError(f"hyperparameter {name!r} must be a number, got {text!r}") from None


def _features(name: str, text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _month(name: str, text: str) -> str:
    try:
        return datetime.strptime(text.strip(), "%Y-%m").strftime("%Y-%m")
    except ValueError:
        raise ConfigError(
            f"hyperparameter {name!r} must be a month YYYY-MM, got {text!r}"
        ) from None


def _date(name: str, text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise ConfigError(
            f"hyperparameter {name!r} must be a date YYYY-MM-DD, got {text!r}"
        ) from None


def _text(name: str, text: str) -> str:
    if not text.strip():
        raise ConfigError(f"hyperparameter {name!r} must not be empty")
    return text.strip()


# name -> (parser, ModelConfig field or None for run metadata, help)
HYPERPARAMETERS: dict[str, tuple[Callable[[str, str], Any], str | None, str]] = {
    "series": (_text, None, f"series code (default {DEFAULT_SERIES})"),
    "run_id": (_text, None, "pipeline run id written into the forecast rows (default 'local')"),
    "run_date": (_date, None, "pipeline run date YYYY-MM-DD (default: today, UTC)"),
    "horizons": (_int, "horizons", "number of months forecast, M+1..M+H (default 6)"),
    "features": (_features, "features", "comma-separated model features (default gap_avg)"),
    "alpha": (_float, "alpha", "ridge penalty (default 1.0)"),
    "refit_every": (_int, "refit_every", "refit the model every N backtest origins (default 1)"),
    "min_train_rows": (_int, "min_train_rows", "rows needed to fit a horizon (default 36)"),
    "interval_level": (_float, "interval_level", "nominal interval coverage (default 0.8)"),
    "conformal_window": (_int, "conformal_window", "residuals used per interval (default 60)"),
    "conformal_gamma": (_float, "conformal_gamma", "adaptive conformal step, 0 = off (0.025)"),
    "min_calibration": (_int, "min_calibration", "errors needed for intervals/champion (24)"),
    "backtest_start": (_month, "backtest_start", "first backtest origin YYYY-MM (default: first)"),
}


def parse_hyperparameters(raw: Mapping[str, Any]) -> tuple[dict[str, str], Any]:
    """Validate the SageMaker hyperparameters (all strings): (run metadata, ModelConfig)."""
    from ipeacast.lake import check_series
    from ipeacast.model import ModelConfig

    if not isinstance(raw, Mapping):
        raise ConfigError("hyperparameters.json must hold a JSON object")
    meta = {
        "series": DEFAULT_SERIES,
        "run_id": "local",
        "run_date": datetime.now(UTC).date().isoformat(),
    }
    fields: dict[str, Any] = {}
    for name, value in raw.items():
        if name.startswith("sagemaker_"):
            continue  # set by SageMaker SDKs; not ours
        if name not in HYPERPARAMETERS:
            raise ConfigError(
                f"unknown hyperparameter {name!r}; known: {', '.join(sorted(HYPERPARAMETERS))}"
            )
        if not isinstance(value, str):
            raise ConfigError(
                f"hyperparameter {name!r} must be a string (SageMaker contract), got "
                f"{type(value).__name__} {value!r}"
            )
        parser, field, _ = HYPERPARAMETERS[name]
        parsed = parser(name, value)
        if field is None:
            meta[name] = parsed
        else:
            fields[field] = parsed
    check_series(meta["series"])
    try:
        cfg = ModelConfig(**fields)
    except ConfigError as exc:
        raise ConfigError(f"invalid hyperparameter: {exc}") from None
    return meta, cfg


def read_channel(channel_dir: Path) -> Any:
    """Read every Parquet file under the channel directory into one DataFrame."""
    import pandas as pd

    from ipeacast.model import REQUIRED_COLUMNS

    if not channel_dir.is_dir():
        raise TrainingError(f"input channel '{CHANNEL}' not found at {channel_dir}")
    files = sorted(p for p in channel_dir.rglob("*.parquet") if not p.name.startswith((".", "_")))
    if not files:
        raise TrainingError(f"input channel '{CHANNEL}' at {channel_dir} has no Parquet file")
    frames = []
    for path in files:
        try:
            frames.append(pd.read_parquet(path))
        except Exception as exc:
            raise TrainingError(f"cannot read {path}: {exc}") from exc
    table = pd.concat(frames, ignore_index=True)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise TrainingError(f"input channel '{CHANNEL}' lacks column(s) {missing}")
    if table.empty:
        raise TrainingError(f"input channel '{CHANNEL}' at {channel_dir} has no rows")
    return table


def base_dir_from(args_base: str | None) -> Path:
    return Path(args_base or os.environ.get(BASE_DIR_ENV) or DEFAULT_BASE_DIR)


def run(base: Path) -> dict[str, Any]:
    """Train from the tree under `base`; returns a short summary. Raises on failure."""
    from ipeacast.forecast import train_and_forecast, write_outputs

    t0 = time.perf_counter()
    hp_path = base / "input" / "config" / "hyperparameters.json"
    raw: Mapping[str, Any] = {}
    if hp_path.exists():
        try:
            raw = json.loads(hp_path.read_text() or "{}")
        except ValueError as exc:
            raise ConfigError(f"{hp_path} is not valid JSON: {exc}") from None
    meta, cfg = parse_hyperparameters(raw)
    table = read_channel(base / "input" / "data" / CHANNEL)
    t1 = time.perf_counter()
    result = train_and_forecast(table, cfg, meta["series"], meta["run_id"], meta["run_date"])
    t2 = time.perf_counter()
    write_outputs(result, base / "model")
    t3 = time.perf_counter()
    summary = {
        "series": meta["series"],
        "run_id": meta["run_id"],
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


def prepare_local_tree(
    base_dir: str | Path, channel_files_dir: str | Path, hyperparameters: Mapping[str, Any]
) -> Path:
    """Lay out a SageMaker-style tree under base_dir for a local `train` run.

    Copies the Parquet files found under `channel_files_dir` (e.g. a local final partition) into
    input/data/train/ and writes the hyperparameters as strings, as SageMaker would. Returns
    the base dir; `main(["--base-dir", str(base)])` then trains and writes base/model/.
    """
    import shutil

    base = Path(base_dir)
    src = Path(channel_files_dir)
    channel = base / "input" / "data" / CHANNEL
    config = base / "input" / "config"
    for d in (channel, config, base / "model", base / "output"):
        d.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in src.rglob("*.parquet") if not p.name.startswith((".", "_")))
    if not files:
        raise TrainingError(f"no Parquet file under {src} to use as the '{CHANNEL}' channel")
    for i, path in enumerate(files):
        shutil.copyfile(path, channel / f"part-{i:05d}-{path.name}")
    hp = {str(k): str(v) for k, v in hyperparameters.items()}
    (config / "hyperparameters.json").write_text(json.dumps(hp, indent=2, sort_keys=True))
    return base


def train_local(
    channel_files_dir: str | Path, base_dir: str | Path, hyperparameters: Mapping[str, Any]
) -> Path:
    """Run the trainer in-process through the SageMaker contract; return the model directory.

    Lays out the tree (prepare_local_tree), runs `main`, and turns a failure into a
    TrainingError carrying the reason the trainer wrote to output/failure.
    """
    base = prepare_local_tree(base_dir, channel_files_dir, hyperparameters)
    code = main(["--base-dir", str(base), "--quiet"])
    if code != 0:
        failure = base / "output" / "failure"
        reason = failure.read_text().strip() if failure.exists() else f"exit code {code}"
        raise TrainingError(f"training failed: {reason.splitlines()[0]}")
    return base / "model"


if __name__ == "__main__":
    sys.exit(main())
