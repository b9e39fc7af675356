"""Training container entry point (SageMaker runs `train`); all logic is in ipeacast.trainer."""

import sys

from ipeacast.trainer import main

if __name__ == "__main__":
    sys.exit(main())
