"""A vendor's webhook receiver, as a separate process, for the tests and bench/webhooks.py.
Standard library only; it checks every request with the receiver snippet of docs/webhooks.md
(the fenced block after the line "<!-- receiver -->"), executed as written there.

    python tests/webhooks/receiver.py DIR [PORT]

DIR/control.json, read again whenever it changes: {"secrets": [...], "mode": "..."}.
Modes: "ok" (200), "fail" (500), "hang" (reads the request, never answers), "sleep:N"
(answers 200 after N seconds), "redirect" (302 to /elsewhere), "big" (200 with 100 kB).
DIR/received.jsonl: a line per request, written before the answer: event_id, type, verified
(any secret verifies), verified_with (per secret), signatures (v1 count), ts, mode, path,
object (data.object of the payload). DIR/ready: the port, once listening."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "webhooks.md"
MARKER = "<!-- receiver -->"


def snippet(doc: Path = DOC) -> str:
    """The receiver code of the documentation: the first ```python block after MARKER."""
    text = doc.read_text()
    after = text[text.index(MARKER) + len(MARKER):]
    found = re.search(r"```python\n(.*?)```", after, re.S)
    if found is None:
        raise ValueError(f"no ```python block after {MARKER} in {doc}")
    return found.group(1)


def load_verify(doc: Path = DOC) -> Any:
    """The documented `verify(secret, body, header)` function."""
    namespace: dict[str, Any] = {}
    exec(compile(snippet(doc), str(doc), "exec"), namespace)  # our own documentation
    return namespace["verify"]


class Control:
    """control.json, cached by modification time."""

    def __init__(self, path: Path) -> None:
        self.path, self.stamp, self.value = path, None, {"secrets": [], "mode": "ok"}
        self.lock = threading.Lock()

    def get(self) -> dict[str, Any]:
        with self.lock:
            try:
                found = self.path.stat()
                # A new inode each time (written and renamed): mtimes may tie within a tick.
                stamp = (found.st_ino, found.st_mtime_ns, found.st_size)
            except FileNotFoundError:
                return self.value
            if stamp != self.stamp:
                try:
                    self.value = {"secrets": [], "mode": "ok",
                                  **json.loads(self.path.read_text())}
                    self.stamp = stamp
                except ValueError:  # caught half-written: keep the last one
                    pass
            return self.value


def serve(directory: Path, port: int) -> None:
    verify = load_verify()
    control = Control(directory / "control.json")
    log = (directory / "received.jsonl").open("a", buffering=1)
    log_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            settings = control.get()
            mode = settings["mode"]
            header = self.headers.get("Portal-Signature", "")
            verified_with = [bool(verify(s, body, header)) for s in settings["secrets"]]
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {}
            record = {"event_id": self.headers.get("Portal-Event-Id"),
                      "type": payload.get("type"), "verified": any(verified_with),
                      "verified_with": verified_with,
                      "signatures": header.count("v1="), "ts": time.time(), "mode": mode,
                      "path": self.path, "body_id": payload.get("id"),
                      "object": (payload.get("data") or {}).get("object")}
            with log_lock:
                log.write(json.dumps(record) + "\n")
            # The sender may hang up first (its timeout; it reads only the first 2 kB).
            with contextlib.suppress(OSError):
                self.answer(mode)

        def answer(self, mode: str) -> None:
            status, text, extra = 200, b"ok", {}
            if mode == "hang":
                time.sleep(120)
                self.close_connection = True
                return
            if mode.startswith("sleep:"):
                time.sleep(float(mode.split(":", 1)[1]))
            elif mode == "fail":
                status, text = 500, b"receiver says no"
            elif mode == "redirect":
                status, text = 302, b"moved"
                extra = {"Location": f"http://127.0.0.1:{self.server.server_port}/elsewhere"}
            elif mode == "big":
                text = b"x" * 100_000
            self.send_response(status)
            for name, value in {"Content-Type": "text/plain", "Content-Length": str(len(text)),
                                "Connection": "close", **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(text)
            self.close_connection = True

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 256

    server = Server(("127.0.0.1", port), Handler)
    ready = directory / "ready"
    ready.with_suffix(".tmp").write_text(str(server.server_port))
    os.replace(ready.with_suffix(".tmp"), ready)
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
