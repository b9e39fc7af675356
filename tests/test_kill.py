"""A local run killed (SIGKILL, the whole process group: Python and Spark's JVM) at a random
moment, again and again: after every kill the published partitions are the previous complete
version or the new one, and the next run succeeds and leaves no staging behind.

Lean on purpose (a few kills: each costs a run's start-up); `benchmarks/kill_soak.py` does the
same many times."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.lake_checks import check_lake, leftovers

SERIES = "EIA366_PBRENT366"
RUN_DATE = "2021-06-30"


def _start(lake: Path, source: Path, run_id: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ipeacast.cli", "run", "--source", str(source)]
    cmd += ["--lake", str(lake), "--run-date", RUN_DATE, "--run-id", run_id]
    return subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: Python, Spark's JVM, their children
    )


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]


@pytest.mark.spark
def test_killed_runs_leave_whole_partitions_and_the_next_run_cleans_up(tmp_path, price_csv):
    lake = tmp_path / "lake"
    start = time.monotonic()
    _finish(_start(lake, price_csv, "base"))
    duration = time.monotonic() - start
    published = {"base"}
    rng = random.Random(20261202)
    for i in range(2):
        proc = _start(lake, price_csv, f"kill-{i}")
        time.sleep(rng.uniform(0.5, duration))
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        if finished and proc.returncode == 0:
            published.add(f"kill-{i}")
        # the kill may land before or after the switch: either run is a whole one
        assert check_lake(lake, SERIES, RUN_DATE) in published | {f"kill-{i}"}
    _finish(_start(lake, price_csv, "after"))
    assert check_lake(lake, SERIES, RUN_DATE) == "after"
    assert leftovers(lake) == []
