"""Scale-out: two portal processes (two gunicorn instances on two ports, as two hosts behind a
load balancer would be) share one PostgreSQL database. Parallel activations split across both
still fill exactly the key's seats: the limit is enforced by the database row lock, not by
anything held in a web process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.licensing import states
from apps.licensing.audit import Actor
from apps.licensing.models import Activation, WebApiLog
from apps.licensing.services import token_create
from apps.licensing.services.seats import LIMIT_REACHED
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL row locks: set DATABASE_URL=postgres://... to run"),
]
ROOT = Path(__file__).resolve().parents[2]
SEATS = 5
CALLS = 120


def _database_url() -> str:
    db = connection.settings_dict  # the test database
    quote = urllib.parse.quote
    return (f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}")


def _start(log: Path) -> tuple[subprocess.Popen, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="licensing_portal.settings_test", DEBUG="1",
               DATABASE_URL=_database_url(), DB_CONN_MAX_AGE="600", ALLOWED_HOSTS="127.0.0.1",
               SECRET_KEY=settings.SECRET_KEY, LOG_LEVEL="WARNING",
               SIGNING_KEY_ENCRYPTION_SECRET=settings.SIGNING_KEY_ENCRYPTION_SECRET)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "licensing_portal.wsgi", "--workers", "2",
             "--threads", "8", "--bind", f"fd://{sock.fileno()}", "--chdir", str(ROOT),
             "--graceful-timeout", "5"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    return process, base


def _wait_until_up(process: subprocess.Popen, base: str, log: Path) -> None:
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


@pytest.fixture(scope="module")
def two_portals(django_db_setup, tmp_path_factory) -> Iterator[list[str]]:
    folder = tmp_path_factory.mktemp("portals")
    started = [_start(folder / f"portal-{n}.log") for n in (1, 2)]
    try:
        for n, (process, base) in enumerate(started, 1):
            _wait_until_up(process, base, folder / f"portal-{n}.log")
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _post(base: str, method: str, data: dict[str, str]) -> dict:
    request = urllib.request.Request(f"{base}/api/key/{method}",
                                     data=urllib.parse.urlencode(data).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _in_parallel(calls: list[Callable[[], dict]]) -> list[dict]:
    go = threading.Event()

    def run(call: Callable[[], dict]) -> dict:
        go.wait()
        return call()

    with ThreadPoolExecutor(max_workers=40) as pool:
        futures = [pool.submit(run, call) for call in calls]
        go.set()
        return [f.result() for f in futures]


def test_a_seat_limit_holds_across_two_portal_processes(two_portals, transactional_db):
    vendor = make_vendor("Scale-out Ltd")
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=SEATS)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="scale",
                            permissions=["key.Activate", "key.GetKey"])
    base = {"token": token, "ProductId": str(product.pk), "Key": key.key}
    warm = _in_parallel([lambda b=b: _post(b, "GetKey", base) for b in two_portals * 24])
    assert all(body["result"] == 0 for body in warm), warm[0]

    codes = [f"host-{n:03d}" for n in range(CALLS)]
    bodies = _in_parallel([
        lambda c=c, n=n: _post(two_portals[n % 2], "Activate", {**base, "MachineCode": c})
        for n, c in enumerate(codes)])

    winners = [c for c, b in zip(codes, bodies, strict=True) if b["result"] == 0]
    assert len(winners) == SEATS
    # Half the calls went to each portal; each answered every call with a seat or a refusal.
    assert all(b["result"] == 0 or b["message"] == LIMIT_REACHED for b in bodies)
    assert set(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) \
        == set(winners)
    logged = Counter(WebApiLog.objects.filter(method="key.Activate", key=key.key)
                     .values_list("state", flat=True))
    assert logged == {states.ACTIVATION_NEW: SEATS, states.ACTIVATION_LIMIT: CALLS - SEATS}
