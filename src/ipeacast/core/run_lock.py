"""One run at a time per lake and series: a lock object next to the zones.

`<lake>/_locks/series=<code>.json` holds who has the series: run id, host, pid and when. It is
taken atomically and a second run for the same lake and series fails at once with a LockError
naming the run that holds it, since when, and how to clear it: runs never interleave partitions.

- Locally: an flock on the file (`_locks/series=<code>.json`), which the kernel drops when the
  holder's process ends however it ends (SIGKILL included): a local lock cannot go stale.
- On S3: PutObject with `If-None-Match: *` creates it only if absent; the run deletes it at the end
  with `If-Match` its ETag (only while it is still its own). A lock older than `stale_after`
  (default 6 hours, longer than any run), or unreadable, is stale: it is replaced in one
  conditional step (PutObject `If-Match` its ETag) with a warning naming the run it replaces; if
  another run replaced it first, this one fails as above.

`_locks/` starts with "_", which Athena, Hive and Spark skip.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ipeacast.core import lake, storage
from ipeacast.core.errors import IpeacastError, StorageError
from ipeacast.core.run import check_series

log = logging.getLogger(__name__)

LOCKS = "_locks"
STALE_AFTER = timedelta(hours=6)


class LockError(IpeacastError):
    """Another run holds the lake and series this run would write."""


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    acquired_at: datetime

    def to_bytes(self) -> bytes:
        doc = {
            "run_id": self.run_id,
            "host": self.host,
            "pid": self.pid,
            "acquired_at": self.acquired_at.isoformat(),
        }
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Holder | None:
        """The holder a lock object names; None when it is unreadable (treated as stale)."""
        try:
            doc = json.loads(data)
            return cls(
                run_id=str(doc["run_id"]),
                host=str(doc["host"]),
                pid=int(doc["pid"]),
                acquired_at=datetime.fromisoformat(doc["acquired_at"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self) -> str:
        return (
            f"run {self.run_id!r} (pid {self.pid} on {self.host}, "
            f"since {self.acquired_at.isoformat(timespec='seconds')})"
        )


def lock_uri(lake_root: str, series: str) -> str:
    check_series(series)
    return lake.join(lake_root, LOCKS, f"series={series}.json")


def is_stale(holder: Holder | None, now: datetime, stale_after: timedelta) -> bool:
    """An S3 lock is stale when it is unreadable or older than `stale_after`."""
    return holder is None or now - holder.acquired_at > stale_after


@contextlib.contextmanager
def run_lock(
    lake_root: str,
    series: str,
    run_id: str,
    stale_after: timedelta = STALE_AFTER,
    now: datetime | None = None,
) -> Iterator[Holder]:
    """Hold the lake's lock for `series` for the block; see the module docstring."""
    uri = lock_uri(lake_root, series)
    me = Holder(run_id, socket.gethostname(), os.getpid(), now or datetime.now(UTC))
    backend = _S3Lock(uri) if storage.parse(uri).scheme == "s3" else _LocalLock(uri)
    backend.acquire(me, stale_after)
    try:
        yield me
    finally:
        backend.release(me)


def _held(uri: str, holder: Holder | None) -> LockError:
    who = holder.describe() if holder else "another run"
    return LockError(
        f"{who} is writing this lake's series ({uri}): wait for it to finish, or, if that run is "
        f"gone, delete {uri}"
    )


class _LocalLock:
    """An flock on the lock file: the kernel drops it when the holding process ends, however it
    ends (SIGKILL too), so a local lock is never stale. Its content names the holder; the run
    deletes it when it ends (a killed run leaves an empty-handed file the next run takes)."""

    def __init__(self, uri: str):
        self.path = Path(storage.parse(uri).key)
        self.fd: int | None = None

    def acquire(self, me: Holder, stale_after: timedelta) -> None:
        import fcntl

        while True:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except (FileNotFoundError, FileExistsError):
                continue  # the folder came or went with another run's release: again
            except OSError as exc:  # a read-only or full lake, no permission
                raise StorageError(f"cannot take the lock {self.path}: {exc.strerror}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = Holder.from_bytes(os.pread(fd, 4096, 0))
                os.close(fd)
                raise _held(str(self.path), holder) from None
            # The holder before us deletes the file as it releases: a lock on a file no longer
            # at the path would be nobody's. Locked and still the file at the path: ours.
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.to_bytes(), 0)
        self.fd = fd

    def release(self, me: Holder) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # while still locked: see acquire
            os.close(self.fd)  # closing drops the flock
            self.fd = None
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()  # only if no other series' lock is there


class _S3Lock:
    def __init__(self, uri: str):
        loc = storage.parse(uri)
        self.uri, self.bucket, self.key = uri, loc.bucket, loc.key
        self.s3 = storage._s3()
        self.etag: str | None = None

    def _put(self, me: Holder, **condition: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            body = me.to_bytes()
            response = self.s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=body, **condition, **storage.owner_args()
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise
        self.etag = response["ETag"]
        return True

    def acquire(self, me: Holder, stale_after: timedelta) -> None:
        if self._put(me, IfNoneMatch="*"):
            return
        head = self.s3.get_object(Bucket=self.bucket, Key=self.key, **storage.owner_args())
        holder = Holder.from_bytes(head["Body"].read())
        if not is_stale(holder, me.acquired_at, stale_after) or not self._put(
            me, IfMatch=head["ETag"]
        ):
            raise _held(self.uri, holder)
        log.warning("replaced the stale lock %s of %s", self.uri, _who(holder))

    def release(self, me: Holder) -> None:
        from botocore.exceptions import ClientError

        try:
            self.s3.delete_object(
                Bucket=self.bucket, Key=self.key, IfMatch=self.etag, **storage.owner_args()
            )
        except ClientError as exc:
            # replaced (If-Match fails) or already deleted by the run that replaced it
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                raise
            log.warning("the lock %s is no longer this run's; left as it is", self.uri)


def _who(holder: Holder | None) -> str:
    return holder.describe() if holder else "an unreadable holder"
