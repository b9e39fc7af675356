"""One run at a time per lake and series (ipeacast.core.run_lock): an flock locally, a conditional
put on S3 (moto). A second run fails at once, naming the holder; a killed holder frees the lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ipeacast import cli
from ipeacast.core.run_lock import LockError, lock_uri, run_lock

SERIES = "EIA366_PBRENT366"
HOLD = textwrap.dedent(
    """
    import sys, time
    from ipeacast.core.run_lock import run_lock
    with run_lock(sys.argv[1], sys.argv[2], "holder-run"):
        print("held", flush=True)
        time.sleep(120)
    """
)


@pytest.fixture
def holder(tmp_path):
    """Another process that holds the lock of SERIES in tmp_path/lake until killed."""
    lake = tmp_path / "lake"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lake), SERIES], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield lake, proc
    proc.kill()
    proc.wait()


def test_a_second_run_fails_at_once_naming_the_holder(holder):
    lake, proc = holder
    with pytest.raises(LockError) as held, run_lock(str(lake), SERIES, "second-run"):
        pass
    message = str(held.value)
    assert "run 'holder-run'" in message and f"pid {proc.pid}" in message
    assert f"delete {lake / '_locks' / f'series={SERIES}.json'}" in message


def test_a_killed_holder_frees_the_lock(holder):
    lake, proc = holder
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with run_lock(str(lake), SERIES, "after-the-kill") as me:
        content = json.loads(Path(lock_uri(str(lake), SERIES)).read_text())
        assert content["run_id"] == "after-the-kill" and content["pid"] == os.getpid() == me.pid


def test_other_series_and_sequential_runs_are_not_blocked(tmp_path):
    lake = str(tmp_path / "lake")
    with run_lock(lake, SERIES, "a"), run_lock(lake, "EIA366_PWTI366", "b"):
        pass
    with run_lock(lake, SERIES, "c"):
        pass
    assert not Path(lake, "_locks").exists()  # released: nothing left in the lake


def test_ipeacast_run_refuses_a_held_series_and_writes_nothing(holder, capsys):
    lake, _ = holder
    before = sorted(p for p in lake.rglob("*"))

    status = cli.main(["run", "--series", SERIES, "--lake", str(lake), "--source", "unused.csv"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1
    assert err[0].startswith("ipeacast: error: run 'holder-run' (pid ")
    assert sorted(p for p in lake.rglob("*")) == before


@mock_aws
def test_on_s3_a_conditional_put_holds_and_a_stale_lock_is_replaced(monkeypatch, caplog):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="lake-bucket")
    lake = "s3://lake-bucket/smoke"
    key = f"smoke/_locks/series={SERIES}.json"
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)

    with run_lock(lake, SERIES, "first", now=start):
        stored = json.loads(s3.get_object(Bucket="lake-bucket", Key=key)["Body"].read())
        assert stored["run_id"] == "first"
        with pytest.raises(LockError, match="run 'first'"), run_lock(lake, SERIES, "x", now=start):
            pass
        # Six hours later the lock counts as left behind by a run that died: it is replaced.
        later = start + timedelta(hours=6, minutes=1)
        with run_lock(lake, SERIES, "second", now=later):
            assert "replaced the stale lock" in caplog.text and "run 'first'" in caplog.text
        assert "no longer this run's" not in caplog.text
    # "first" ended after "second" had released: nothing of first's to delete, nothing deleted
    # that was not its own.
    assert "no longer this run's" in caplog.text
    assert s3.list_objects_v2(Bucket="lake-bucket").get("KeyCount") == 0


CONTEND = textwrap.dedent(
    """
    import os, sys, time
    from ipeacast.core.run_lock import LockError, run_lock
    lake, series, marker = sys.argv[1], sys.argv[2], sys.argv[3]
    held = overlaps = 0
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        try:
            with run_lock(lake, series, f"run-{os.getpid()}"):
                held += 1
                try:  # exclusive while held: a second holder would find the marker
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    overlaps += 1
                    continue
                os.close(fd)
                time.sleep(0.001)
                os.unlink(marker)
        except LockError:
            pass
    print(held, overlaps)
    """
)


def test_contending_processes_never_hold_the_lock_together(tmp_path):
    lake, marker = tmp_path / "lake", tmp_path / "marker"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONTEND, str(lake), SERIES, str(marker)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [tuple(map(int, p.communicate(timeout=60)[0].split())) for p in procs]
    assert sum(held for held, _ in results) > 10, results  # they did take turns
    assert all(overlaps == 0 for _, overlaps in results), results
