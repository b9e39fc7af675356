"""Ipeadata's OData API on 127.0.0.1, as an HTTP proxy: the extract job's `requests` calls reach it.

The rehearsed Glue extract job fetches `http://www.ipeadata.gov.br/api/odata4/Metadados('<code>')`
and `http://ipeadata.gov.br/api/odata4/ValoresSerie(SERCODIGO='<code>')` exactly as on AWS; its
environment has `HTTP_PROXY` pointing here (and `NO_PROXY` for the emulator on 127.0.0.1), so the
request line carries the absolute URL and this server answers for both hosts. Any other host or
path is refused with 502: nothing leaves the machine.

Each known series is a deterministic random walk on business days (`daily_prices`), long enough to
train and backtest the model.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import numpy as np

log = logging.getLogger(__name__)

HOSTS = {"www.ipeadata.gov.br", "ipeadata.gov.br"}
METADATA = re.compile(r"/api/odata4/Metadados\('(?P<code>[^']+)'\)")
VALUES = re.compile(r"/api/odata4/ValoresSerie\(SERCODIGO='(?P<code>[^']+)'\)")


def daily_prices(code: str, start: date = date(2013, 1, 1), days: int = 2600) -> list[dict]:
    """OData rows (VALDATA, VALVALOR) of a random walk on business days, seeded by the code."""
    rng = np.random.default_rng(sum(code.encode()))
    steps = rng.normal(0, 1.0, days)
    rows, day, level = [], start, 60.0
    for step in steps:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        level = max(5.0, level + float(step))
        rows.append(
            {
                "SERCODIGO": code,
                "VALDATA": f"{day.isoformat()}T00:00:00-03:00",
                "VALVALOR": round(level, 2),
                "NIVNOME": "",
                "TERCODIGO": "",
            }
        )
        day += timedelta(days=1)
    return rows


def metadata(code: str) -> dict:
    return {
        "SERCODIGO": code,
        "SERNOME": f"Rehearsal series {code}",
        "BASNOME": "Macroeconômico",
        "UNINOME": "US$",
        "PERNOME": "Diária",
        "FNTSIGLA": "EIA",
        "SERSTATUS": "A",
        "MULNOME": None,
        "TEMCODIGO": 1,
    }


class FakeIpeadata:
    """The proxy server; `requests` lists the URLs it answered."""

    def __init__(self, series: Iterable[str]):
        self.series = set(series)
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, url: str) -> tuple[int, dict]:
        parts = urlsplit(url)
        if parts.hostname not in HOSTS:
            return 502, {"error": f"the rehearsal reaches no host but Ipeadata ({parts.hostname})"}
        path = unquote(parts.path)
        if match := METADATA.fullmatch(path):
            code = match["code"]
            return 200, {"value": [metadata(code)] if code in self.series else []}
        if match := VALUES.fullmatch(path):
            code = match["code"]
            return 200, {"value": daily_prices(code) if code in self.series else []}
        return 404, {"error": f"no such Ipeadata resource: {path}"}

    def start(self) -> FakeIpeadata:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                status, payload = owner.answer(self.path)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug(format, *args)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
