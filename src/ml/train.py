#!/usr/bin/env python3
"""Training container entry point: the image installs this file as /opt/program/train, first on
PATH, so SageMaker's `docker run <image> train` runs it. All logic is in ipeacast.ml.trainer."""

import sys

from ipeacast.ml.trainer import main

if __name__ == "__main__":
    sys.exit(main())
