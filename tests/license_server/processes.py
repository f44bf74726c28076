"""The portal (gunicorn) and the license server as real processes for the end-to-end tests.

The portal serves the PostgreSQL test database (data written with `transactional_db` is
committed, so it sees it), like tests/api_concurrency/test_seat_limits.py. The license server
is started through `manage.py license_server` with DATABASE_URL pointing at a port where
nothing listens: it would fail if it touched a database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings

from tests import servers

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60
NO_DATABASE = "postgres://nobody:nothing@127.0.0.1:9/none"  # port 9: discard, never a DB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in {"REDIS_URL", "DATABASE_URL"} and not k.startswith("LICENSE_SERVER_")}


class Process:
    def __init__(self, name: str, log_folder: Path) -> None:
        self.name = name
        self.log = log_folder / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def _spawn(self, command: list[str], env: dict[str, str], probe: str) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + probe, timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self, *, crash: bool = False) -> None:
        """SIGTERM (a clean stop), or SIGKILL to simulate a crash or power cut."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class Portal(Process):
    def start(self) -> None:
        env = _base_env() | {
            "DJANGO_SETTINGS_MODULE": "licensing_portal.settings_test",
            "DATABASE_URL": servers.database_url(), "DEBUG": "1", "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": settings.SECRET_KEY, "LOG_LEVEL": "WARNING",
            "SIGNING_KEY_ENCRYPTION_SECRET": settings.SIGNING_KEY_ENCRYPTION_SECRET,
        }
        self._spawn([sys.executable, "-m", "gunicorn", "licensing_portal.wsgi",
                     "--workers", "1", "--threads", "4", "--bind", f"127.0.0.1:{self.port}",
                     "--chdir", str(ROOT), "--graceful-timeout", "2"], env, "/api/key/GetKey")


class LicenseServer(Process):
    def __init__(self, name: str, log_folder: Path, config: dict) -> None:
        super().__init__(name, log_folder)
        self.config_path = log_folder / f"{name}.json"
        self.config_path.write_text(json.dumps({**config, "port": self.port,
                                                "host": "127.0.0.1"}))

    def start(self, *flags: str) -> None:
        env = _base_env() | {"DATABASE_URL": NO_DATABASE, "DEBUG": "1",
                             "DJANGO_SETTINGS_MODULE": "licensing_portal.settings"}
        self._spawn([sys.executable, "manage.py", "license_server",
                     "--config", str(self.config_path), *flags], env, "/stats")

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/stats", timeout=5) as response:
            return json.loads(response.read())
