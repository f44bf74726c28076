"""gunicorn processes serving the PostgreSQL test database, for tests that need real
processes (seat races, scale-out, reconnects, the license server's portal): the test
settings, persistent connections, loopback only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database (once django_db_setup has run), as a DATABASE_URL."""
    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    host = db["HOST"] or "127.0.0.1"
    if "/" in host:  # a Unix socket directory
        return (f"postgres://{user}:{password}@/{urllib.parse.quote(db['NAME'], safe='')}"
                f"?host={urllib.parse.quote(host, safe='')}")
    return f"postgres://{user}:{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def start(log: Path, workers: int = 2, threads: int = 8, timeout: int = 30,
          extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """gunicorn on a free loopback port; returns the process and its base URL. Persistent
    connections (DB_CONN_MAX_AGE), and the same secrets as this process, so it can decrypt
    the signing keys made here. `extra_env` adds to its environment (settings_test reads
    TEST_SERVER_REDIS_URL: the cache on Redis instead of in each process)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="licensing_portal.settings_test", DEBUG="1",
               DATABASE_URL=database_url(), DB_CONN_MAX_AGE="600", ALLOWED_HOSTS="127.0.0.1",
               SECRET_KEY=settings.SECRET_KEY, LOG_LEVEL="WARNING",
               SIGNING_KEY_ENCRYPTION_SECRET=settings.SIGNING_KEY_ENCRYPTION_SECRET)
    env.update(extra_env or {})
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "licensing_portal.wsgi", "--workers", str(workers),
             "--threads", str(threads), "--bind", f"fd://{sock.fileno()}", "--chdir", str(ROOT),
             "--graceful-timeout", "5", "--timeout", str(timeout)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    return process, base


def wait_until_up(process: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/key/GetKey", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer:\n{log.read_text()[-3000:]}")


def post(base: str, method: str, data: dict[str, str]) -> dict:
    request = urllib.request.Request(f"{base}/api/key/{method}",
                                     data=urllib.parse.urlencode(data).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
