"""Soak: the full local pipeline N times in a row, each a fresh `ipeacast run` process.

    .venv/bin/python benchmarks/soak.py [--runs 50] [--source FILE]

(default FILE: $IPEACAST_DATA_DIR/brent-daily-eia.csv, see reference_data.py)

Reports every run that did not exit 0 (with its exit status or signal and the last stderr line:
a native abort at exit shows as signal 6), any process left in the run's process group after it
exited (the Spark JVM must be gone), the wall time spread, and the peak memory of the process
tree per run. Goal: 0 crashes, 0 leftovers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from memory import PeakMemory
from reference_data import BRENT, data_file

ROOT = Path(__file__).resolve().parents[1]


def group_members(pgid: int) -> list[int]:
    """Processes still in process group `pgid` (read from /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def run_once(source: str, series: str) -> dict:
    with tempfile.TemporaryDirectory() as lake:
        cmd = [sys.executable, "-m", "ipeacast.cli", "run", "--source", source]
        cmd += ["--series", series, "--lake", lake]
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,  # its own process group: what it leaves behind is visible
        )
        with PeakMemory(proc.pid) as mem:
            _, err = proc.communicate()
        wall = time.perf_counter() - start
        time.sleep(0.2)
        left = group_members(proc.pid)
        for pid in left:  # do not let one leftover poison the next runs
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    last = err.strip().splitlines()[-1] if err.strip() else ""
    return {"status": proc.returncode, "wall": wall, "peak": mem.peak, "left": left, "last": last}


def describe(status: int) -> str:
    return f"signal {-status} ({signal.Signals(-status).name})" if status < 0 else f"exit {status}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--source", help=f"daily price CSV (default: $IPEACAST_DATA_DIR/{BRENT})")
    parser.add_argument("--series", default="EIA366_PBRENT366")
    args = parser.parse_args()
    source = args.source or str(data_file(BRENT))
    print(f"source: {source}, {args.runs} runs")
    results = []
    for i in range(args.runs):
        r = run_once(source, args.series)
        results.append(r)
        flag = "" if r["status"] == 0 and not r["left"] else "  <-- "
        if r["status"]:
            flag += f"{describe(r['status'])}: {r['last'][:160]}"
        if r["left"]:
            flag += f" left in its group: {r['left']}"
        print(f"run {i + 1:3d}: wall {r['wall']:5.1f}s  peak {r['peak'] / 2**20:4.0f} MiB{flag}")
    walls = [r["wall"] for r in results]
    peaks = [r["peak"] / 2**20 for r in results]
    crashes = [r for r in results if r["status"]]
    leftovers = [r for r in results if r["left"]]
    print(
        f"crashes {len(crashes)}/{len(results)}, leftovers {len(leftovers)}/{len(results)}; "
        f"wall median {statistics.median(walls):.1f}s (min {min(walls):.1f}, max {max(walls):.1f},"
        f" stdev {statistics.pstdev(walls):.1f}); peak memory median "
        f"{statistics.median(peaks):.0f} MiB (max {max(peaks):.0f})"
    )
    sys.exit(1 if crashes or leftovers else 0)


if __name__ == "__main__":
    main()
