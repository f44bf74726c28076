"""Shared plumbing of bench/load.py and the fault scenarios (bench/faults/): a throwaway
PostgreSQL database, Django set up in this process for seeding, gunicorn with production
settings, Celery workers, a small HTTP client and percentiles. Standard library plus the
project's own dependencies; everything on loopback."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
PYTHON = sys.executable


def fail(message: str) -> None:
    print(f"{Path(sys.argv[0]).name}: {message}", file=sys.stderr)
    sys.exit(2)


# --- PostgreSQL -----------------------------------------------------------------------------


def database_settings(url: str | None = None) -> dict:
    url = url or os.environ.get("DATABASE_URL", "")
    if not url:
        fail("DATABASE_URL is not set; a PostgreSQL one is needed, e.g.\n"
             "  DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal_ops")
    import dj_database_url

    db = dj_database_url.parse(url)
    if "postgresql" not in db["ENGINE"]:
        fail(f"DATABASE_URL must point at PostgreSQL, not {db['ENGINE']}.")
    return db


def _admin(db: dict, dbname: str | None = None):
    import psycopg

    return psycopg.connect(dbname=dbname or db["NAME"], user=db["USER"] or None,
                           password=db["PASSWORD"] or None, host=db["HOST"] or HOST,
                           port=db["PORT"] or 5432, autocommit=True, connect_timeout=10)


def create_database(db: dict, name: str) -> None:
    """CREATE DATABASE from the maintenance database `postgres` (DATABASE_URL's own database
    need not exist)."""
    from psycopg import sql

    with _admin(db, "postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(db: dict, name: str) -> None:
    from psycopg import sql

    with _admin(db, "postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def database_url(db: dict, name: str) -> str:
    quote = urllib.parse.quote
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or HOST}:{db['PORT'] or 5432}/{quote(name, safe='')}"


# --- Django in this process, and the environment of the processes it starts ---------------


def production_env(database: str, redis_url: str = "", **extra: str) -> dict[str, str]:
    """Production settings as bench/api.py uses them: DEBUG=0, a throwaway SECRET_KEY, the
    bench host only, no HTTPS redirect (plain loopback HTTP)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="licensing_portal.settings", DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS=HOST, SECURE_SSL_REDIRECT="0",
        DATABASE_URL=database, LOG_LEVEL="WARNING",
        PYTHONWARNINGS="ignore:No directory at",  # WhiteNoise before collectstatic
    )
    env.update(extra)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def django_setup(env: dict[str, str]) -> None:
    """Make this process a Django process with `env` (for migrate and seeding)."""
    import warnings

    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


@dataclass
class Tenant:
    vendor_id: int
    token: str
    product_id: int
    public_key_pem: str


def seed_tenant(name: str) -> Tenant:
    """A vendor (with its signing key), a product and an all-methods access token."""
    from apps.accounts.models import User
    from apps.audit.log import Actor
    from apps.licensing.api_methods import API_METHODS
    from apps.licensing.services import product_create, token_create
    from apps.licensing.services.vendors import vendor_create

    actor = Actor.for_system("bench")
    tag = f"{name}-{os.getpid()}-{secrets.token_hex(3)}"
    owner = User.objects.create_user(username=tag, email=f"{tag}@example.invalid",
                                     password=secrets.token_urlsafe(12))
    vendor = vendor_create(owner=owner, name=name)
    product = product_create(vendor=vendor, actor=actor, name=f"{name} product")
    _, token = token_create(vendor=vendor, actor=actor, name=name, permissions=API_METHODS)
    return Tenant(vendor.pk, token, product.pk, vendor.signing_key.public_key_pem)


def make_key(product_id: int, seats: int, **spec) -> tuple[int, str]:
    from apps.audit.log import Actor
    from apps.licensing.models import Product
    from apps.licensing.services import KeySpec, key_create

    key = key_create(product=Product.objects.get(pk=product_id), actor=Actor.for_system("bench"),
                     spec=KeySpec(period=365, max_no_of_machines=seats, **spec))[0]
    return key.pk, key.key


# --- Processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def log_path(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"ops-{prefix}-")) / f"{prefix}.log"


def start_gunicorn(env: dict[str, str], port: int, log: Path, *, workers: int = 2,
                   threads: int = 1, timeout_s: float = 90) -> subprocess.Popen:
    """gunicorn with the sample production config (deploy/portal/gunicorn.conf.py), on
    loopback; returns once it answers."""
    command = [PYTHON, "-m", "gunicorn", "licensing_portal.wsgi",
               "-c", str(ROOT / "deploy/portal/gunicorn.conf.py"),
               "-b", f"{HOST}:{port}", "--workers", str(workers), "--threads", str(threads),
               "--chdir", str(ROOT), "--log-level", "warning", "--access-logfile", "-"
               if env.get("OPS_ACCESS_LOG") else "/dev/null"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            status, _ = request(port, "GET", "/api/key/GetKey", timeout=2)
            if status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    stop(process)
    fail(f"gunicorn did not answer within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")
    raise AssertionError  # unreachable


def start_celery_worker(env: dict[str, str], log: Path, *, queues: str,
                        concurrency: int = 1, name: str = "ops") -> subprocess.Popen:
    command = [PYTHON, "-m", "celery", "-A", "licensing_portal", "worker", "-Q", queues,
               "--concurrency", str(concurrency), "--loglevel", "info", "-n",
               f"{name}-{secrets.token_hex(3)}@%h", "--without-gossip", "--without-mingle",
               "--without-heartbeat"]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM the process group (gunicorn's or Celery's workers too), then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def processes() -> Iterator[list[subprocess.Popen]]:
    """Collects started processes and stops them all on the way out, whatever happens."""
    started: list[subprocess.Popen] = []
    try:
        yield started
    finally:
        for process in reversed(started):
            stop(process)


# --- HTTP -----------------------------------------------------------------------------------


def request(port: int, method: str, path: str, data: dict[str, str] | None = None, *,
            timeout: float = 15, headers: dict[str, str] | None = None,
            conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=timeout)
    body = urllib.parse.urlencode(data) if data is not None else None
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    try:
        conn.request(method, path, body, all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        raise
    finally:
        if own:
            conn.close()


def api(port: int, method: str, data: dict[str, str], **kwargs) -> tuple[int, dict | None]:
    """POST /api/key/<method>; the HTTP status and the JSON body (None when not JSON)."""
    status, body = request(port, "POST", f"/api/{method}", data, **kwargs)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]
