"""Joining lake URIs: one rule for local paths, `file://` and `s3://` alike."""

from __future__ import annotations


def join(root: str, *parts: str) -> str:
    """Join URI/path parts with '/', keeping the scheme of root (s3://, file://, or a path)."""
    out = root.rstrip("/")
    for part in parts:
        part = part.strip("/")
        if part:
            out = f"{out}/{part}"
    return out
