"""Arguments of the Glue job scripts, and the one way they run a pipeline step.

On Glue the arguments come through `awsglue.utils.getResolvedOptions` (the job's default
arguments merged with the run's); anywhere else an argparse parser with the same names reads
them, so `python src/etl/load.py --series X --run_date D --lake lake` runs the same script
locally. Arguments Glue adds itself (`--JOB_NAME`, `--job-bookmark-option`, ...) are ignored.

The arguments become one `StepConfig` (the run, ipeacast.core.run.Run, plus the ETL options):
`--lake` is the run's lake root and `--lake_prefix` (from the execution input: empty or `smoke`)
its lake prefix, so `--lake s3://bucket --lake_prefix smoke` runs the step in `s3://bucket/smoke`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ipeacast.core.errors import ConfigError, IpeacastError
from ipeacast.core.run import glue_flag
from ipeacast.etl.spark import get_spark
from ipeacast.etl.steps import StepConfig

log = logging.getLogger(__name__)

REQUIRED = ("series", "run_date", "lake")
OPTIONAL = ("as_of", "run_id", "source", "min_months", "lake_prefix")
# Optional arguments whose value may be empty: an empty value may reach the script as a bare flag.
MAY_BE_EMPTY = ("lake_prefix",)


def _drop_bare_flags(argv: Sequence[str]) -> list[str]:
    """Remove `--lake_prefix` given without a value (last, or followed by another `--flag`)."""
    out = list(argv)
    for name in MAY_BE_EMPTY:
        flag = f"--{name}"
        while flag in out:
            i = out.index(flag)
            if i + 1 < len(out) and not out[i + 1].startswith("--"):
                break
            del out[i]
    return out


def _resolve_with_glue(argv: Sequence[str]) -> dict[str, str] | None:
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:
        return None
    # getResolvedOptions fails on a listed name that is absent: list the optional ones given.
    present = [name for name in OPTIONAL if f"--{name}" in argv]
    return dict(getResolvedOptions(list(argv), [*REQUIRED, *present]))


class _ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that raises ConfigError with its message instead of exiting."""

    def error(self, message: str):  # type: ignore[override]
        raise ConfigError(f"Glue job arguments: {message}")


def _resolve_with_argparse(argv: Sequence[str]) -> dict[str, str]:
    parser = _ArgumentParser(
        prog=argv[0] if argv else "glue-job", add_help=False, allow_abbrev=False
    )
    for name in REQUIRED:
        parser.add_argument(f"--{name}", required=True)
    for name in OPTIONAL:
        parser.add_argument(f"--{name}")
    try:
        known, _unknown = parser.parse_known_args(list(argv[1:]))
    except ConfigError as exc:
        # Name every absent required argument at once; any other problem (a flag without its
        # value, ...) keeps argparse's own message.
        missing = [n for n in REQUIRED if f"--{n}" not in argv]
        if not missing:
            raise
        raise ConfigError(
            f"Glue job argument(s) missing: {', '.join('--' + n for n in missing)}"
        ) from exc
    return {k: v for k, v in vars(known).items() if v is not None}


def parse_job_args(argv: Sequence[str] | None = None) -> StepConfig:
    """The step configuration from the job's arguments (`sys.argv` by default)."""
    argv = _drop_bare_flags(sys.argv if argv is None else argv)
    values = _resolve_with_glue(argv)
    if values is None:
        values = _resolve_with_argparse(argv)
    for name in REQUIRED:
        if not values.get(name):
            raise ConfigError(f"Glue job argument --{name} is required")
    return StepConfig.from_fields(values, name=glue_flag, lake_root=values["lake"])


def run_step(
    name: str,
    step: Callable[[Any, StepConfig], dict],
    argv: Sequence[str] | None = None,
    needs_spark: bool = True,
) -> int:
    """Parse arguments, run one pipeline step, log its result as JSON; exit code for the job."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = parse_job_args(argv)
        spark = None
        if needs_spark:
            spark = get_spark(app_name=f"ipeacast-{name}")
        result = step(spark, cfg)
    except IpeacastError as exc:
        log.error("%s failed: %s", name, exc)
        return 1
    log.info("%s done: %s", name, json.dumps(result, default=str, sort_keys=True))
    return 0
