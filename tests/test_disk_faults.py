"""A full disk and a read-only lake, for real: a small tmpfs mounted for the test (root only; the
mount is the fault, so without it there is nothing to test). Each fault ends `ipeacast run` with
one clear line, and the last good partitions stay exactly as they were."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ipeacast import cli


def mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def small_fs(tmp_path):
    """A 64 MiB tmpfs at tmp_path/fs, unmounted afterwards."""
    point = tmp_path / "fs"
    point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: a full disk cannot be made here")
    made = mount("-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point))
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {made.stderr.strip()}")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def unchanged(good: dict[str, bytes], lake: Path) -> bool:
    """The last good run's files are all there, byte for byte (a later run date may add its own
    complete partitions before the failure; it never touches these)."""
    now = published(lake)
    return all(now.get(name) == data for name, data in good.items())


def published(lake: Path) -> dict[str, bytes]:
    """Every file of the published zones (raw/ is the immutable record and may grow)."""
    zones = ("interim", "final", "models", "predictions", "reports")
    return {
        str(p.relative_to(lake)): p.read_bytes()
        for zone in zones
        for p in sorted((lake / zone).rglob("*"))
        if p.is_file()
    }


def run(lake: Path, source: Path, run_date: str) -> int:
    args = ["--series", "TEST1", "--source", str(source), "--lake", str(lake)]
    return cli.main(["run", *args, "--run-date", run_date])


def fill(point: Path, leave_kib: int) -> None:
    free = shutil.disk_usage(point).free - leave_kib * 1024
    with open(point / "filler", "wb") as out:
        out.truncate(0)
        chunk = b"\0" * (1 << 20)
        while free > 0:
            out.write(chunk[: min(free, len(chunk))])
            free -= len(chunk)


def test_a_full_disk_and_a_read_only_lake_give_one_line_and_keep_the_last_partitions(
    spark, price_csv, small_fs, capsys
):
    lake = small_fs / "lake"
    assert run(lake, price_csv, "2021-06-30") == 0
    good = published(lake)
    assert any(name.startswith("predictions/") for name in good)
    capsys.readouterr()

    fill(small_fs, leave_kib=256)
    assert run(lake, price_csv, "2021-07-31") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ipeacast: error: "), err
    assert "No space left on device" in err[0], err[0]
    assert unchanged(good, lake)
    assert not list(lake.rglob("_staging*")), "staging left behind"

    (small_fs / "filler").unlink()
    assert mount("-o", "remount,ro", str(small_fs)).returncode == 0
    try:
        assert run(lake, price_csv, "2021-08-31") == 1
    finally:
        mount("-o", "remount,rw", str(small_fs))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ipeacast: error: "), err
    assert "Read-only file system" in err[0], err[0]
    assert unchanged(good, lake)
