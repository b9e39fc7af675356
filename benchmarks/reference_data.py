"""Where the benchmarks find the real price histories: the folder `$IPEACAST_DATA_DIR`.

The repository ships no market data. The benchmarks and the model evaluation read two public
EIA daily series, each a CSV with columns `date,price_usd` (business days):

    brent-daily-eia.csv   Europe Brent spot FOB, USD/bbl, EIA series RBRTE (what Ipeadata
                          republishes as EIA366_PBRENT366), 1987-05-20 onwards
    wti-daily-eia.csv     WTI Cushing spot, USD/bbl, EIA series RWTC (Ipeadata EIA366_PWTI366),
                          1986-01-02 onwards; 2020-04-20 is negative

Both are public domain (EIA), e.g. from the `datasets/oil-prices` data package. Put them in one
folder and `export IPEACAST_DATA_DIR=/path/to/it`, or pass `--source`/`--data` explicitly.
Without `IPEACAST_DATA_DIR`, Brent is the repository's own snapshot (`data/brent-daily.csv`, the
same EIA series to 2026-02-09; data/README.md), so the Brent-only benchmarks run from a fresh
clone; WTI has no snapshot here.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "IPEACAST_DATA_DIR"
BRENT = "brent-daily-eia.csv"
WTI = "wti-daily-eia.csv"
SNAPSHOTS = {BRENT: Path(__file__).resolve().parents[1] / "data" / "brent-daily.csv"}


def data_dir() -> Path:
    """The reference-data folder, or an exit with the one line that says how to set it."""
    folder = os.environ.get(DATA_ENV)
    if not folder:
        raise SystemExit(
            f"{DATA_ENV} is not set: point it at a folder with {BRENT} and {WTI} "
            "(see benchmarks/reference_data.py), or pass the file explicitly"
        )
    return Path(folder)


def data_file(name: str) -> Path:
    if not os.environ.get(DATA_ENV) and name in SNAPSHOTS:
        return SNAPSHOTS[name]
    path = data_dir() / name
    if not path.is_file():
        raise SystemExit(f"{path} not found (see benchmarks/reference_data.py)")
    return path
