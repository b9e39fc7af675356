"""Parquet into pandas (ipeacast.ml.frames.read_parquet): paths, bytes and partition folders, and
the rule that the package reads Parquet only through it (see its docstring: a SIGABRT at exit)."""

import re
from pathlib import Path

import pandas as pd
import pytest

from ipeacast.ml.frames import read_parquet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": range(5), "b": list("vwxyz")})


def test_reads_a_path_bytes_and_a_partition_folder(tmp_path, frame):
    path = tmp_path / "part" / "part-00000.parquet"
    path.parent.mkdir()
    frame.to_parquet(path, index=False)
    (tmp_path / "part" / "_csv").mkdir()  # skipped, like a staging or CSV folder
    frame.to_parquet(tmp_path / "part" / "_csv" / "x.parquet", index=False)
    pd.testing.assert_frame_equal(read_parquet(path), frame)
    pd.testing.assert_frame_equal(read_parquet(path.read_bytes()), frame)
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "part"), frame)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no Parquet file"):
        read_parquet(tmp_path / "empty")


def test_the_package_reads_parquet_into_pandas_only_through_read_parquet():
    pattern = re.compile(r"\bpd\.read_parquet\(|\bpq\.read_table\(|\bread_pandas\(")
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in (ROOT / "src").rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line) and p.name != "frames.py"
    ]
    assert offenders == []
