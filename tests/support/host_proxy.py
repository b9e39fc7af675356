"""A forward HTTP proxy on 127.0.0.1 for the AWS calls whose host carries the account id.

The AWS SDKs address S3 Control as `<account id>.<endpoint host>`: with the emulator's endpoint
that is `123456789012.127.0.0.1:<port>`, a name nothing resolves. The rehearsal's Terraform runs
with `HTTP_PROXY` pointing here (and `NO_PROXY` for 127.0.0.1 itself, so every other call goes
straight to the emulator). This proxy forwards such a request to the emulator with the host moto
routes to S3 Control (`<account>.s3-control.<region>.amazonaws.com`); any other host is refused
with 502, so nothing leaves the machine.
"""

from __future__ import annotations

import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ACCOUNT_HOST = re.compile(r"^(?P<account>\d{12})\.127\.0\.0\.1$")


def target_host(host: str, region: str) -> str | None:
    """The host moto serves S3 Control under, for `<account>.127.0.0.1`; None for any other."""
    match = ACCOUNT_HOST.match(host)
    return f"{match['account']}.s3-control.{region}.amazonaws.com" if match else None


class AccountHostProxy:
    def __init__(self, emulator_port: int, region: str):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _forward(self) -> None:
                url = urlsplit(self.path)
                host = target_host(url.hostname or "", region)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if host is None:
                    message = f"host_proxy: refusing {url.hostname!r}\n".encode()
                    self.send_response(502)
                    self.send_header("Content-Length", str(len(message)))
                    self.end_headers()
                    self.wfile.write(message)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = host
                conn = http.client.HTTPConnection("127.0.0.1", emulator_port, timeout=60)
                path = url.path + (f"?{url.query}" if url.query else "")
                conn.request(self.command, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()
                proxy.forwarded += 1

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.forwarded = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> AccountHostProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
