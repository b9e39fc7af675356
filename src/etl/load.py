"""Glue job `load`: interim monthly table -> validated final/ partition, published atomically.

Thin: the arguments are parsed by `ipeacast.etl.glue_args`, the work is
`ipeacast.pipeline.load_step` on the job's SparkSession.
"""

import sys

from ipeacast.etl.glue_args import run_step
from ipeacast.pipeline import load_step


def main(argv: list[str] | None = None) -> int:
    return run_step("load", load_step, argv)


if __name__ == "__main__":
    sys.exit(main())
