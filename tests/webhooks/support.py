"""The receiver process (receiver.py) driven from a test: start, stop, tell it how to answer
and which secrets to check with, read what it received."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("receiver.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    def __init__(self, directory: Path, port: int = 0) -> None:
        self.directory, self.port = directory, port
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.configure(mode="ok", secrets=[])

    @property
    def url(self) -> str:
        assert self.port, "start the receiver first, or give it a port"
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self, timeout: float = 10) -> Receiver:
        ready = self.directory / "ready"
        ready.unlink(missing_ok=True)
        self.log_file = (self.directory / "receiver.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(self.directory), str(self.port)],
            stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the receiver did not start:\n"
                                   + (self.directory / "receiver.log").read_text()[-3000:])
            time.sleep(0.02)
        self.port = int(ready.read_text())
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
            self.log_file.close()

    def configure(self, *, mode: str | None = None, secrets: list[str] | None = None) -> None:
        path = self.directory / "control.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        if mode is not None:
            current["mode"] = mode
        if secrets is not None:
            current["secrets"] = secrets
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(current))
        os.replace(tmp, path)

    def records(self) -> list[dict[str, Any]]:
        path = self.directory / "received.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def wait_for(self, condition: Callable[[list[dict[str, Any]]], bool],
                 timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.records()
            if condition(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver never got what was expected: {found}")
            time.sleep(0.02)
