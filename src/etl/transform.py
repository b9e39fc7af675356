"""Glue job `transform`: raw snapshot -> clean daily series and features under interim/ (Spark).

Thin: the arguments are parsed by `ipeacast.etl.glue_args`, the work is
`ipeacast.pipeline.transform_step` on the job's SparkSession.
"""

import sys

from ipeacast.etl.glue_args import run_step
from ipeacast.pipeline import transform_step


def main(argv: list[str] | None = None) -> int:
    return run_step("transform", transform_step, argv)


if __name__ == "__main__":
    sys.exit(main())
