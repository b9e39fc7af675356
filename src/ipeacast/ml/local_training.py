"""The training entry point run in-process, through the SageMaker directory contract.

The local pipeline lays out a SageMaker-style tree in a temporary folder (`prepare_local_tree`)
and runs the container's own entry point on it (`ipeacast.ml.trainer.main`), so a local run
trains exactly as the training job does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ipeacast.core.errors import TrainingError
from ipeacast.core.hyperparameters import CHANNEL, FORECASTS_CHANNEL
from ipeacast.ml.trainer import main


def prepare_local_tree(
    base_dir: str | Path,
    channel_files_dir: str | Path,
    hyperparameters: Mapping[str, Any],
    forecasts_dir: str | Path | None = None,
) -> Path:
    """Lay out a SageMaker-style tree under base_dir for a local `train` run.

    Copies the Parquet files found under `channel_files_dir` (e.g. a local final partition) into
    input/data/train/ and writes the hyperparameters as strings, as SageMaker would. With
    `forecasts_dir` (the series' predictions/ folder), its published forecasts become the
    `forecasts` channel, keeping their paths as SageMaker does for an S3 prefix. Returns
    the base dir; `main(["--base-dir", str(base)])` then trains and writes base/model/.
    """
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
    if forecasts_dir is not None and Path(forecasts_dir).is_dir():
        src_forecasts = Path(forecasts_dir)
        for path in sorted(src_forecasts.rglob("*.parquet")):
            rel = path.relative_to(src_forecasts)
            if any(part.startswith((".", "_")) for part in rel.parts):
                continue  # staging, and a replaced version kept for its readers
            target = base / "input" / "data" / FORECASTS_CHANNEL / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    hp = {str(k): str(v) for k, v in hyperparameters.items()}
    (config / "hyperparameters.json").write_text(json.dumps(hp, indent=2, sort_keys=True))
    return base


def train_local(
    channel_files_dir: str | Path,
    base_dir: str | Path,
    hyperparameters: Mapping[str, Any],
    forecasts_dir: str | Path | None = None,
) -> Path:
    """Run the trainer in-process through the SageMaker contract; return the model directory.

    Lays out the tree (prepare_local_tree), runs `main`, and turns a failure into a
    TrainingError carrying the reason the trainer wrote to output/failure.
    """
    base = prepare_local_tree(base_dir, channel_files_dir, hyperparameters, forecasts_dir)
    code = main(["--base-dir", str(base), "--quiet"])
    if code != 0:
        failure = base / "output" / "failure"
        reason = failure.read_text().strip() if failure.exists() else f"exit code {code}"
        raise TrainingError(f"training failed: {reason.splitlines()[0]}")
    return base / "model"
