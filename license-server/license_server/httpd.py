"""The HTTP front: /api/<controller>/<Method> for devices (POST form or GET, any case,
doubled or trailing slashes), /stats for IT, and a short welcome page elsewhere."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import wire
from .service import LicenseServer

logger = logging.getLogger(__name__)
MAX_BODY = 1_000_000
WELCOME = (b"License server: point your application's license server address here "
           b"(e.g. http://this-host:8080/api/). Status: /stats\n")


class Handler(BaseHTTPRequestHandler):
    """One request: devices' calls go to the LicenseServer, whose answer is always HTTP 200."""

    service: LicenseServer  # set on the subclass make_server builds
    server_version = "LicenseServer/1"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._read_and_serve()

    def do_POST(self) -> None:
        self._read_and_serve()

    def _read_and_serve(self) -> None:
        # Read any body, even of a GET, so the next request on the connection starts clean.
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._reply(413, wire.error(wire.INCORRECT_INPUT))
            return
        self._serve(self.rfile.read(length))

    def _serve(self, body: bytes) -> None:
        path = self.path.split("?")[0].rstrip("/").lower()
        if path == "/stats":
            self._reply(200, json.dumps(self.service.stats(), indent=2).encode())
            return
        call = wire.Request.parse(
            raw_path=self.path, http_method=self.command, body=body,
            content_type=self.headers.get("Content-Type", ""), ip=self.client_address[0],
            user_agent=self.headers.get("User-Agent", ""))
        if call is None:
            self._reply(200, WELCOME, "text/plain; charset=utf-8")
            return
        try:
            answer = self.service.handle(call)
        except Exception:
            logger.exception("Handling %s failed", call.path)
            answer = wire.error(wire.PREFIX + "an unexpected error occurred; see its log.")
        self._reply(200, answer)

    def _reply(self, status: int, body: bytes,
               content_type: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def make_server(service: LicenseServer, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"service": service})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
