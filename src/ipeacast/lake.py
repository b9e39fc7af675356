"""The data lake layout: one place that builds every prefix, for local folders and S3 alike."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

ZONES = ("raw", "interim", "final", "models", "predictions", "artifacts", "reports")

# Every pattern here is used with fullmatch: `re.match` with `$` also accepts a trailing "\n".
_SERIES_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# A run id names folders, SageMaker jobs and executions: 1-48 letters, digits or '-'.
_RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,47}")
# The execution input's lake_prefix: empty (the real lake) or a short folder such as "smoke".
LAKE_PREFIX_MAX = 32
_LAKE_PREFIX_RE = re.compile(rf"[a-z0-9-]{{0,{LAKE_PREFIX_MAX}}}")


def check_series(series: str) -> str:
    """Return the series code if it is safe to use in a path, else raise ConfigError."""
    from ipeacast.errors import ConfigError

    if not isinstance(series, str) or not _SERIES_RE.fullmatch(series):
        raise ConfigError(
            f"invalid series code {series!r}: use letters, digits, '_', '.', '-' (1-64 chars)"
        )
    return series


def check_run_id(value: Any, what: str = "run id") -> str:
    """The run id if it is 1-48 letters, digits or '-' starting with one; else ConfigError."""
    from ipeacast.errors import ConfigError

    if not isinstance(value, str) or not _RUN_ID_RE.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} must be 1-48 letters, digits or '-', starting with a letter or digit"
        )
    return value


def check_lake_prefix(value: Any, what: str = "lake_prefix") -> str:
    """The run's lake prefix: empty, or 1-32 lower-case letters, digits or '-'; else ConfigError.

    The state machine passes it to every step; each joins it to its lake root
    (`s3://bucket` + `smoke` -> `s3://bucket/smoke`), so a smoke run writes only under smoke/.
    """
    from ipeacast.errors import ConfigError

    if not isinstance(value, str) or not _LAKE_PREFIX_RE.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} must be empty or 1-{LAKE_PREFIX_MAX} lower-case letters, digits "
            "or '-'"
        )
    return value


def join(root: str, *parts: str) -> str:
    """Join URI/path parts with '/', keeping the scheme of root (s3://, file://, or a path)."""
    out = root.rstrip("/")
    for part in parts:
        part = part.strip("/")
        if part:
            out = f"{out}/{part}"
    return out


def partition(root: str, zone: str, series: str, run_date: date | str) -> str:
    """`<root>/<zone>/series=<code>/run_date=<YYYY-MM-DD>` — the unit we publish and replace."""
    if zone not in ZONES:
        raise ValueError(f"unknown lake zone {zone!r}")
    return join(root, zone, f"series={check_series(series)}", f"run_date={run_date}")
