"""Extract: fetch a series (Ipeadata via ipeadatapy, or an offline file) and store it immutably.

ipeadatapy calls `requests.get` with no timeout and no retry and hides HTTP errors behind
`AttributeError`/`KeyError`. We let it make its two calls (`Metadados('<code>')` on the www. host,
then `ValoresSerie(SERCODIGO='<code>')`) through a client that adds a timeout, bounded retries with
backoff, and one clear ExtractError naming the series, the endpoint and the cause. The ValoresSerie
body is kept byte for byte as the raw snapshot.

Raw snapshots live in `raw/series=<code>/run_date=<date>/sha256=<first 16 hex>/` (payload +
`metadata.json`), so identical content is a no-op and different content gets its own folder; the
partition's `_latest.json` names the snapshot the run uses. Nothing raw is ever overwritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from ipeacast import lake, sources, storage
from ipeacast.errors import ExtractError, IpeacastError, SourceFormatError

log = logging.getLogger(__name__)

METADATA_URL = "http://www.ipeadata.gov.br/api/odata4/Metadados('{code}')"
VALUES_URL = "http://ipeadata.gov.br/api/odata4/ValoresSerie(SERCODIGO='{code}')"
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

    def __init__(self, series: str, policy: HttpPolicy):
        self.series = series
        self.policy = policy
        self.bodies: dict[str, bytes] = {}

    def get(self, url: str, **kwargs) -> requests.Response:
        response = self._get_with_retries(url)
        try:
            payload = response.json()
        except ValueError as exc:
            raise self._error(url, f"malformed JSON in the response ({exc})") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
            raise self._error(url, "the response has no 'value' list")
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
            except requests.Timeout:
                last = f"timed out after {p.timeout:g}s"
                continue
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise self._error(url, f"HTTP {response.status_code}")
            return response
        raise self._error(url, f"{last} (gave up after {p.retries + 1} attempts)")

    def _error(self, url: str, cause: str) -> ExtractError:
        return ExtractError(f"cannot extract series {self.series} from {url}: {cause}")


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

    lake.check_series(series)
    client = _IpeadataClient(series, policy or HttpPolicy())
    url = VALUES_URL.format(code=series)
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
