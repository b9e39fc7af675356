"""The data lake layout: one place that builds every prefix, for local folders and S3 alike."""

from __future__ import annotations

import re
from datetime import date

ZONES = ("raw", "interim", "final", "models", "predictions", "artifacts", "reports")

_SERIES_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_series(series: str) -> str:
    """Return the series code if it is safe to use in a path, else raise ConfigError."""
    from ipeacast.errors import ConfigError

    if not isinstance(series, str) or not _SERIES_RE.match(series):
        raise ConfigError(
            f"invalid series code {series!r}: use letters, digits, '_', '.', '-' (1-64 chars)"
        )
    return series


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
