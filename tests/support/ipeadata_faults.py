"""Ipeadata misbehaving for real: an OData server on 127.0.0.1 that fails the ValoresSerie call.

The extract step reaches it through IPEACAST_IPEADATA_URL (`url` + "/api/odata4"), never the
network. `Metadados('<code>')` is answered correctly; `ValoresSerie(SERCODIGO='<code>')` answers
according to `mode`:

  ok             200 with the series (a random walk, as `fake_ipeadata` serves it)
  503            503 Service Unavailable
  500-html       500 with an HTML error page
  reset          200, half the body, then the connection is reset
  stall          200 headers, then nothing until long after any client timeout
  error-payload  200 with an OData error document instead of data
  truncated      200 with JSON cut in the middle (Content-Length matches the bytes sent)
  empty          200 with `{"value": []}`
  redirect-loop  302 to itself, forever

`requests` counts the ValoresSerie calls, so a test can check the retries.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .fake_ipeadata import METADATA, VALUES, daily_prices, metadata

MODES = (
    "ok",
    "503",
    "500-html",
    "reset",
    "stall",
    "error-payload",
    "truncated",
    "empty",
    "redirect-loop",
)
STALL_SECONDS = 30.0


class FaultyIpeadata:
    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.values_calls = 0
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if match := METADATA.fullmatch(self.path):
                    body = json.dumps({"value": [metadata(match["code"])]}).encode()
                    return self._send(200, body)
                match = VALUES.fullmatch(self.path)
                if not match:
                    return self._send(404, b'{"error": "not found"}')
                owner.values_calls += 1
                owner.serve_values(self, match["code"])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/odata4"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve_values(self, handler: BaseHTTPRequestHandler, code: str) -> None:
        good = json.dumps({"value": daily_prices(code, days=300)}).encode()
        mode = self.mode
        if mode == "ok":
            handler._send(200, good)
        elif mode == "503":
            handler._send(503, b"")
        elif mode == "500-html":
            page = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
            handler._send(500, page, "text/html")
        elif mode == "reset":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(good)))
            handler.end_headers()
            handler.wfile.write(good[: len(good) // 2])
            handler.wfile.flush()
            # SO_LINGER 0: close() sends a TCP reset instead of a clean end of stream.
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.connection.close()
            handler.close_connection = True
        elif mode == "stall":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(good)))
            handler.end_headers()
            handler.wfile.flush()
            self._stop.wait(STALL_SECONDS)
            handler.close_connection = True
        elif mode == "error-payload":
            error = {"odata.error": {"code": "", "message": {"lang": "en", "value": "Timeout"}}}
            handler._send(200, json.dumps(error).encode())
        elif mode == "truncated":
            handler._send(200, good[: len(good) // 3])
        elif mode == "empty":
            handler._send(200, b'{"value": []}')
        elif mode == "redirect-loop":
            handler.send_response(302)
            handler.send_header("Location", handler.path)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            raise ValueError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")

    def start(self) -> FaultyIpeadata:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        time.sleep(0)  # let a stalled handler see the event
        self.server.shutdown()
        self.server.server_close()
