"""Kill soak: the local run killed (SIGKILL to its whole process group) at random moments, many
times, on one lake; after every kill the lake must read as a whole run, and the last run must
leave no staging behind.

    .venv/bin/python benchmarks/kill_soak.py [--kills 20] [--source FILE] [--seed N]

(default FILE: $IPEACAST_DATA_DIR/brent-daily-eia.csv, see reference_data.py)

Prints, per kill, the step the run was in (the last `[step] ...` line it printed) and the run
the lake then reads as; at the end the kills per step, the failures (goal 0) and the leftovers.
tests/test_kill.py runs the same check with two kills in `make test`.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_data import BRENT, data_file
from support.lake_checks import check_lake, leftovers

ROOT = Path(__file__).resolve().parents[1]
SERIES = "EIA366_PBRENT366"
RUN_DATE = "2024-12-31"


def start(lake: Path, source: str, run_id: str) -> tuple[subprocess.Popen, list[str]]:
    cmd = [sys.executable, "-m", "ipeacast.cli", "run", "--source", source, "--series", SERIES]
    cmd += ["--lake", str(lake), "--run-date", RUN_DATE, "--run-id", run_id]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each `[step] ...` line as it is printed
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    return proc, lines


def step_of(lines: list[str]) -> str:
    steps = [ln.split("]")[0].strip("[") for ln in lines if ln.startswith("[")]
    return steps[-1] if steps else "start-up"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--source", default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    source = args.source or str(data_file(BRENT))
    rng = random.Random(args.seed)
    failures: list[str] = []
    per_step: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        t0 = time.monotonic()
        proc, _ = start(lake, source, "base")
        if proc.wait() != 0:
            print("the first run failed", file=sys.stderr)
            return 1
        duration = time.monotonic() - t0
        print(f"a whole run takes {duration:.1f}s; killing at random in [0.5, {duration:.1f}]s")
        published = {"base"}
        for i in range(args.kills):
            run_id = f"kill-{i}"
            proc, lines = start(lake, source, run_id)
            time.sleep(rng.uniform(0.5, duration))
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                step = step_of(lines)
            else:
                step = "finished"
                if proc.returncode == 0:
                    published.add(run_id)
            proc.wait()
            per_step[step] += 1
            try:
                reads_as = check_lake(lake, SERIES, RUN_DATE)
                ok = reads_as in published | {run_id}
            except AssertionError as exc:
                reads_as, ok = f"broken: {exc}", False
            if reads_as == run_id:
                published.add(run_id)
            print(f"kill {i:3d} in {step:<10} lake reads as {reads_as}")
            if not ok:
                failures.append(f"kill {i} in {step}: {reads_as}")
        proc, _ = start(lake, source, "after")
        final_ok = proc.wait() == 0 and check_lake(lake, SERIES, RUN_DATE) == "after"
        left = leftovers(lake)
    print("\nkills per step: " + ", ".join(f"{k} {v}" for k, v in sorted(per_step.items())))
    print(
        f"failures: {len(failures)}/{args.kills}; next run ok: {final_ok}; leftovers: {len(left)}"
    )
    for line in failures + left:
        print(f"  {line}")
    return 0 if final_ok and not failures and not left else 1


if __name__ == "__main__":
    sys.exit(main())
