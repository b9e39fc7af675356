"""Glue job `extract`: fetch the series and store the immutable raw snapshot.

Thin: the arguments (--series, --run_date, --lake, optional --as_of, --run_id, --source) are
parsed by `ipeacast.etl.glue_args`, the work is `ipeacast.pipeline.extract_step`.
"""

import sys

from ipeacast.etl.glue_args import run_step
from ipeacast.pipeline import extract_step


def main(argv: list[str] | None = None) -> int:
    return run_step("extract", lambda _spark, cfg: extract_step(cfg), argv, needs_spark=False)


if __name__ == "__main__":
    sys.exit(main())
