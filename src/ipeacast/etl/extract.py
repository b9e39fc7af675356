"""Extract: fetch a series (Ipeadata via ipeadatapy, or an offline file) and store it immutably.

ipeadatapy calls `requests.get` with no timeout and no retry and hides HTTP errors behind
`AttributeError`/`KeyError`. We let it make its two calls (`Metadados('<code>')` on the www. host,
then `ValoresSerie(SERCODIGO='<code>')`) through a client that adds a timeout, bounded retries with
backoff, and one clear ExtractError naming the series, the endpoint and the cause. The ValoresSerie
body is kept byte for byte as the raw snapshot.

Configuration (environment): IPEACAST_IPEADATA_URL sends both calls to another base URL instead
of `http://[www.]ipeadata.gov.br/api/odata4/` (a mirror, or a local test server);
IPEACAST_HTTP_TIMEOUT (seconds per attempt), IPEACAST_HTTP_RETRIES (attempts after the first) and
IPEACAST_HTTP_BACKOFF (first wait, doubled each retry) set the policy. A call fails after at most
`HttpPolicy.bound()` seconds (timeout x attempts + the waits); a fetch makes two calls.

Raw snapshots live in `raw/series=<code>/run_date=<date>/sha256=<first 16 hex>/` (payload +
`metadata.json`), so identical content is a no-op and different content gets its own folder; the
partition's `_latest.json` names the snapshot the run uses. Nothing raw is ever overwritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from ipeacast.core import lake, storage
from ipeacast.core.errors import (
    ConfigError,
    ExtractError,
    IpeacastError,
    SourceFormatError,
    SourceUnreachable,
)
from ipeacast.core.run import check_series
from ipeacast.etl import sources

log = logging.getLogger(__name__)

METADATA_URL = "http://www.ipeadata.gov.br/api/odata4/Metadados('{code}')"
VALUES_URL = "http://ipeadata.gov.br/api/odata4/ValoresSerie(SERCODIGO='{code}')"
IPEADATA_BASES = ("http://www.ipeadata.gov.br/api/odata4/", "http://ipeadata.gov.br/api/odata4/")
IPEADATA_URL_ENV = "IPEACAST_IPEADATA_URL"
LATEST = "_latest.json"
PAYLOAD_NAMES = {
    sources.ODATA_JSON: "observations.json",
    sources.EIA_CSV: "observations.csv",
    sources.IPEADATA_EXPORT: "observations.csv",
}


@dataclass(frozen=True)
class HttpPolicy:
    timeout: float = 30.0
    retries: int = 3  # attempts after the first
    backoff: float = 1.0  # seconds, doubled each retry
    sleep: Callable[[float], None] = time.sleep

    def bound(self) -> float:
        """The longest one call can take before it fails: every attempt times out, and the waits
        between them."""
        waits = sum(self.backoff * 2**i for i in range(self.retries))
        return self.timeout * (self.retries + 1) + waits

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> HttpPolicy:
        """The defaults, overridden by IPEACAST_HTTP_TIMEOUT / _RETRIES / _BACKOFF."""
        env = os.environ if env is None else env

        def number(name: str, cast: type, default: float, low: float, high: float) -> Any:
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                value = cast(text)
            except ValueError:
                raise ConfigError(f"{name}={text!r} is not a number") from None
            if not low <= value <= high:
                raise ConfigError(f"{name}={text!r} must be between {low:g} and {high:g}")
            return value

        return cls(
            timeout=number("IPEACAST_HTTP_TIMEOUT", float, cls.timeout, 0.01, 600),
            retries=number("IPEACAST_HTTP_RETRIES", int, cls.retries, 0, 10),
            backoff=number("IPEACAST_HTTP_BACKOFF", float, cls.backoff, 0, 60),
        )


def ipeadata_base(env: dict[str, str] | None = None) -> str | None:
    """IPEACAST_IPEADATA_URL as a base ending in "/", or None (the real Ipeadata)."""
    env = os.environ if env is None else env
    base = env.get(IPEADATA_URL_ENV, "").strip()
    if not base:
        return None
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base):
        raise ConfigError(f"{IPEADATA_URL_ENV}={base!r} is not an http(s) base URL")
    return base.rstrip("/") + "/"


@dataclass(frozen=True)
class Fetched:
    payload: bytes
    source: str  # where it came from: an endpoint URL or a file path
    fmt: str


@dataclass(frozen=True)
class Snapshot:
    uri: str  # folder of this snapshot
    payload_uri: str
    metadata: dict
    created: bool  # False when an identical snapshot was already stored


class _IpeadataClient:
    """Stands in for the `requests` module inside ipeadatapy: timeout, retries, clear errors."""

    codes = requests.codes

    def __init__(self, series: str, policy: HttpPolicy, base: str | None = None):
        self.series = series
        self.policy = policy
        self.base = base
        self.bodies: dict[str, bytes] = {}

    def route(self, url: str) -> str:
        """The URL to call: Ipeadata's own, or the same path under the configured base."""
        if self.base:
            for known in IPEADATA_BASES:
                if url.startswith(known):
                    return self.base + url[len(known) :]
        return url

    def get(self, url: str, **kwargs) -> requests.Response:
        url = self.route(url)
        response = self._get_with_retries(url)
        try:
            payload = response.json()
        except ValueError as exc:
            raise self._error(url, f"malformed JSON in the response ({exc})") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
            raise self._error(url, f"the response has no 'value' list{_error_detail(payload)}")
        if not payload["value"]:
            if "Metadados" in url:
                raise self._error(url, "unknown series code (no metadata)")
            raise self._error(url, "the series has no observations")
        self.bodies[url] = response.content
        return response

    def _get_with_retries(self, url: str) -> requests.Response:
        p = self.policy
        last = ""
        for attempt in range(p.retries + 1):
            if attempt:
                delay = p.backoff * 2 ** (attempt - 1)
                log.info("retrying %s in %.1fs after: %s", url, delay, last)
                p.sleep(delay)
            try:
                response = requests.get(url, timeout=p.timeout)
            except requests.TooManyRedirects as exc:  # a loop does not end by trying again
                raise self._error(url, f"redirect loop ({exc})") from exc
            except requests.RequestException as exc:
                last = _transport_failure(exc, p.timeout)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise self._error(url, f"HTTP {response.status_code}")
            return response
        cause = f"{last} (gave up after {p.retries + 1} attempts)"
        raise self._error(url, cause, SourceUnreachable)

    def _error(self, url: str, cause: str, kind: type[ExtractError] = ExtractError) -> ExtractError:
        return kind(f"cannot extract series {self.series} from {url}: {cause}")


def _transport_failure(exc: Exception, timeout: float) -> str:
    """What went wrong below HTTP, in words: a timeout (also one while the body was being read,
    which requests reports as a ConnectionError), a connection broken mid-response, or another."""
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    causes = [exc, *exc.args]
    if isinstance(exc, requests.Timeout) or any(isinstance(c, ReadTimeoutError) for c in causes):
        return f"timed out after {timeout:g}s"
    broken = (requests.exceptions.ChunkedEncodingError, ProtocolError)
    for cause in causes:
        if isinstance(cause, broken):
            # ChunkedEncodingError(ProtocolError("Connection broken: ...", OSError)): the words
            while isinstance(cause, BaseException) and cause.args:
                cause = cause.args[0]
            return f"the connection broke mid-response ({cause})"
    return f"{type(exc).__name__}: {exc}"


def _error_detail(payload: Any) -> str:
    """An OData error's message, when the service answered one instead of data."""
    if not isinstance(payload, dict):
        return ""
    error = payload.get("odata.error") or payload.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, dict):
            message = message.get("value")
        if message:
            return f" (the service said: {str(message)[:200]})"
    return ""


_PATCH_LOCK = threading.Lock()


@contextmanager
def _ipeadatapy_through(client: _IpeadataClient):
    import ipeadatapy  # noqa: F401  (loads the submodule below)

    # `ipeadatapy.api_call` is shadowed by the function of the same name: take the module itself.
    api_call = sys.modules["ipeadatapy.api_call"]
    with _PATCH_LOCK:
        original = api_call.req
        api_call.req = client
        try:
            yield
        finally:
            api_call.req = original


def fetch_ipeadata(series: str, policy: HttpPolicy | None = None) -> Fetched:
    """Fetch a series through ipeadatapy; return the ValoresSerie body exactly as received."""
    import ipeadatapy

    check_series(series)
    client = _IpeadataClient(series, policy or HttpPolicy.from_env(), ipeadata_base())
    url = client.route(VALUES_URL.format(code=series))
    with _ipeadatapy_through(client):
        try:
            frame = ipeadatapy.timeseries(series)
        except IpeacastError:
            raise
        except Exception as exc:  # ipeadatapy's own failures on payloads it did not expect
            raise ExtractError(
                f"cannot extract series {series} from {url}: ipeadatapy failed with "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    if url not in client.bodies:
        raise ExtractError(f"cannot extract series {series}: ipeadatapy did not call {url}")
    log.info("ipeadatapy returned %d rows for %s", len(frame), series)
    return Fetched(client.bodies[url], url, sources.ODATA_JSON)


def read_source_file(path: str) -> Fetched:
    """An offline source file (any supported format), read as bytes."""
    try:
        payload = storage.read_bytes(path)
    except IpeacastError as exc:
        raise SourceFormatError(f"source {path} cannot be read: {exc}") from exc
    return Fetched(payload, path, sources.detect_format(payload, Path(path).name))


def store_snapshot(
    fetched: Fetched, lake_root: str, series: str, run_date, now: datetime | None = None
) -> Snapshot:
    """Store the payload under raw/ unless an identical snapshot exists; point _latest at it."""
    parsed = sources.parse_source(fetched.payload, fetched.source, fetched.fmt)  # rejects bad input
    observations, named = parsed.observations, parsed.series
    if named is not None and named != series:
        raise SourceFormatError(
            f"{fetched.source} holds series {named}, not {series}: pass --series {named} "
            "(nothing was stored)"
        )
    digest = hashlib.sha256(fetched.payload).hexdigest()
    partition = lake.partition(lake_root, "raw", series, run_date)
    folder = lake.join(partition, f"sha256={digest[:16]}")
    payload_uri = lake.join(folder, PAYLOAD_NAMES[fetched.fmt])
    metadata_uri = lake.join(folder, "metadata.json")
    created = not storage.exists(metadata_uri)
    if created:
        metadata = {
            "series": series,
            "run_date": str(run_date),
            "source": fetched.source,
            "format": fetched.fmt,
            "fetched_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "rows": len(observations),
            "rows_with_value": int(observations["price"].notna().sum()),
            "first_date": str(observations["date"].min().date()),
            "last_date": str(observations["date"].max().date()),
            "sha256": digest,
            "bytes": len(fetched.payload),
            "payload": PAYLOAD_NAMES[fetched.fmt],
        }
        storage.write_bytes(payload_uri, fetched.payload)
        # metadata last: a snapshot without metadata.json is incomplete and gets rewritten.
        storage.write_bytes(metadata_uri, _json_bytes(metadata))
    else:
        metadata = json.loads(storage.read_bytes(metadata_uri))
        if metadata.get("sha256") != digest:
            raise ExtractError(f"raw snapshot {folder} exists with a different checksum")
        log.info("raw snapshot %s already stored (identical content)", folder)
    storage.write_bytes(
        lake.join(partition, LATEST), _json_bytes({"snapshot": f"sha256={digest[:16]}"})
    )
    return Snapshot(folder, payload_uri, metadata, created)


def latest_snapshot(lake_root: str, series: str, run_date) -> tuple[bytes, dict]:
    """The payload and metadata of the snapshot the run's extract step stored last."""
    partition = lake.partition(lake_root, "raw", series, run_date)
    try:
        pointer = json.loads(storage.read_bytes(lake.join(partition, LATEST)))
    except IpeacastError as exc:
        raise ExtractError(
            f"no raw snapshot for series {series} on run date {run_date} under {partition}: "
            "run the extract step first"
        ) from exc
    folder = lake.join(partition, pointer["snapshot"])
    metadata = json.loads(storage.read_bytes(lake.join(folder, "metadata.json")))
    return storage.read_bytes(lake.join(folder, metadata["payload"])), metadata


def _json_bytes(obj: dict) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
