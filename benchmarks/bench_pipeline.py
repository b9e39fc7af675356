"""Cold local run of `ipeacast run` on a real price file: wall time per step and peak memory.

    .venv/bin/python benchmarks/bench_pipeline.py [--source FILE]

(default FILE: $IPEACAST_DATA_DIR/brent-daily-eia.csv, see reference_data.py)

Each repetition is a fresh process (JVM start included) on a fresh lake folder. Target on a
2-core machine: extract -> load <= 15 s wall, cold.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from memory import PeakMemory
from reference_data import BRENT, data_file

ROOT = Path(__file__).resolve().parents[1]
STEP = re.compile(r"^\[(\w+)\] done in ([0-9.]+)s", re.M)


def run_once(source: str, extra: list[str]) -> tuple[float, dict[str, float], int, str]:
    with tempfile.TemporaryDirectory() as lake:
        cmd = [sys.executable, "-m", "ipeacast.cli", "run", "--source", source, "--lake", lake]
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*cmd, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        with PeakMemory(proc.pid) as mem:
            out, err = proc.communicate()
        wall = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(f"run failed ({proc.returncode}):\n{err}")
        return wall, {m[0]: float(m[1]) for m in STEP.findall(out)}, mem.peak, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", help=f"daily price CSV (default: $IPEACAST_DATA_DIR/{BRENT})")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more `ipeacast run` arguments")
    args = parser.parse_args()
    args.source = args.source or str(data_file(BRENT))
    print(f"source: {args.source}")
    walls = []
    for i in range(args.repeat):
        wall, steps, peak, out = run_once(args.source, args.extra)
        walls.append(wall)
        detail = "  ".join(f"{k} {v:.1f}s" for k, v in steps.items())
        print(f"run {i + 1}: wall {wall:.1f}s  peak RSS {peak / 2**20:.0f} MiB  | {detail}")
    walls.sort()
    print(f"median wall {walls[len(walls) // 2]:.1f}s over {len(walls)} cold runs")
    if "Forecast" in out or "horizon" in out:
        print(out[out.find("\n\n") :])


if __name__ == "__main__":
    main()
