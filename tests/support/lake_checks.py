"""What a reader of a local lake can rely on, checked: every published partition of a run date
whole, and the forecast's run the one whose model folder is there (docs/reliability.md,
"Publication"). Used by the kill tests and benchmarks/kill_soak.py."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq


def _one_object(folder: Path) -> Path:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    assert len(files) == 1, f"{folder} holds {len(files)} data files, not one: {files}"
    return files[0]


def check_lake(lake: Path, series: str, run_date: str) -> str:
    """Check every published partition of (series, run_date) and return the forecast's run id."""
    part = f"series={series}/run_date={run_date}"
    for folder in (
        lake / "final" / part,
        lake / "interim" / part / "daily",
        lake / "interim" / part / "monthly",
    ):
        assert pq.ParquetFile(_one_object(folder)).metadata.num_rows > 0, folder
    forecast = pq.ParquetFile(_one_object(lake / "predictions" / part)).read().to_pandas()
    (run_id,) = set(forecast["run_id"])
    model = lake / "models" / part / f"run_id={run_id}"
    assert json.loads((model / "metrics.json").read_text()), model
    assert (model / "forecast.csv").is_file(), model
    return str(run_id)


def leftovers(lake: Path) -> list[str]:
    """Staged files, temporary files, and more than one `.trash-*` per partition (a replacement
    keeps the previous version, and only it, for readers that still hold it)."""
    out = []
    trash: dict[Path, list[Path]] = {}
    for path in lake.rglob("*"):
        staged = "_staging" in path.parts and path.is_file()
        temporary = path.name.startswith(".") and path.name.endswith(".tmp")
        if staged or temporary:
            out.append(str(path))
        elif path.name.startswith(".trash-") and path.is_dir():
            partition = path.name[len(".trash-") :].rsplit("-", 1)[0]  # .trash-<name>-<uuid>
            trash.setdefault(path.parent / partition, []).append(path)
    out += [f"{k}: {len(v)} trash folders" for k, v in trash.items() if len(v) > 1]
    return sorted(out)
