"""Aborts at interpreter exit: a fresh Python reads one Parquet file and exits, N times, through
`pandas.read_parquet` and through `ipeacast.ml.frames.read_parquet` (path and bytes).

    .venv/bin/python benchmarks/exit_aborts.py [--runs 200]

Prints the runs that died (SIGABRT: "terminate called without an active exception") per way of
reading. Goal for the package's way: 0. See ipeacast/ml/frames.py for the cause.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

SCRIPTS = {
    "pandas.read_parquet(path)": "import pandas as pd; pd.read_parquet({path!r})",
    "frames.read_parquet(path)": (
        "from ipeacast.ml.frames import read_parquet; read_parquet({path!r})"
    ),
    "frames.read_parquet(bytes)": (
        "from ipeacast.ml.frames import read_parquet; read_parquet(open({path!r}, 'rb').read())"
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "x.parquet")
        pd.DataFrame({"a": range(100), "b": ["x"] * 100}).to_parquet(path)
        failed_ours = 0
        for name, template in SCRIPTS.items():
            code = template.format(path=path)
            died = sum(
                subprocess.run([sys.executable, "-c", code], capture_output=True).returncode != 0
                for _ in range(args.runs)
            )
            print(f"{name:<28} died {died}/{args.runs}")
            failed_ours += died if name.startswith("frames") else 0
    return 1 if failed_ours else 0


if __name__ == "__main__":
    sys.exit(main())
