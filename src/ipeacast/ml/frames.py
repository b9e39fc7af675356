"""Parquet into pandas, without handing a Python object to Arrow's threads.

`pandas.read_parquet(path)` opens a local file as a Python file object and gives it to Arrow's
dataset scanner; the scanner's last reference to it is often dropped on an Arrow worker thread a
moment after the call returns, and releasing it needs the GIL. When that moment falls into
interpreter shutdown, the worker is made to exit while it waits for the GIL (a forced unwind
through a C++ destructor), and the process dies with SIGABRT ("terminate called without an
active exception") after all its work is done: about one run in ten of a script that reads one
file and exits. Reading through `pyarrow.parquet.ParquetFile` on a path, or on bytes first
copied into Arrow's own memory, keeps every object Arrow holds native: nothing on a worker thread
needs the GIL. Every read of Parquet into pandas in the package goes through `read_parquet`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def read_parquet(source: str | os.PathLike | bytes) -> pd.DataFrame:
    """A Parquet file (a local path or its bytes), or every data file under a local folder (a
    partition: files starting with "." or "_" skipped, in name order), as one DataFrame."""
    if isinstance(source, bytes | bytearray | memoryview):
        sink = pa.BufferOutputStream()
        sink.write(source)  # copied into Arrow's memory: no Python object for Arrow to release
        return pq.ParquetFile(pa.BufferReader(sink.getvalue())).read().to_pandas()
    path = Path(source)
    if not path.is_dir():
        return pq.ParquetFile(str(path)).read().to_pandas()
    files = sorted(
        p
        for p in path.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )
    if not files:
        raise FileNotFoundError(f"no Parquet file under {path}")
    tables = [pq.ParquetFile(str(p)).read() for p in files]
    return pa.concat_tables(tables, promote_options="default").to_pandas()
