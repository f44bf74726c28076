"""Seat limits under real concurrency, on PostgreSQL.

Why a gunicorn subprocess rather than pytest-django's `live_server`: the live server is one
Python process, so its request threads take turns on the GIL and a missing row lock can hide
behind that. Here gunicorn runs 4 worker processes x 8 threads (32 requests truly in flight),
each thread with its own persistent PostgreSQL connection to the test database, and a warm-up
wave first makes every thread hot so that racing requests reach the seat check together. The
only thing that can then keep a sixth device off a five-seat key is the database: the
`SELECT ... FOR UPDATE` on the key row in apps/licensing/services/seats.py (and on the product
row for key serials). Checked: with those locks removed, these tests fail on every run (6-11
seats given out, duplicate serials). Test data is written with `transactional_db`, so it is
committed and gunicorn sees it.

SQLite has no row locks and serialises writers anyway, so these tests skip there.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import connection
from django.utils import timezone

from apps.audit.log import Actor
from apps.licensing import signing
from apps.licensing.license_payload import FLOATING_PREFIX, OVERDRAFT_PREFIX
from apps.licensing.models import Activation, LicenseKey, Product
from apps.licensing.services import token_create
from apps.licensing.services.seats import LIMIT_REACHED
from apps.usage import states
from apps.usage.models import WebApiLog
from tests import servers
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks: set DATABASE_URL=postgres://... to run",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
CLIENT_THREADS = 50
GUNICORN_WORKERS = 4
GUNICORN_THREADS = 8


@dataclass
class Server:
    base_url: str


@pytest.fixture(scope="module")
def gunicorn_server(django_db_setup, tmp_path_factory) -> Iterator[Server]:
    """gunicorn on a loopback port, serving the test database with the test settings.
    Persistent connections: after the warm-up no request pays for a new backend, so racing
    requests reach the seat check together. gunicorn stops (module teardown) before the test
    database is dropped."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    process, base_url = servers.start(log, workers=GUNICORN_WORKERS, threads=GUNICORN_THREADS,
                                      timeout=60)
    try:
        servers.wait_until_up(process, base_url, log)
        yield Server(base_url)
    finally:
        servers.stop(process)


@dataclass
class Setup:
    token: str
    product: Product
    public_key_pem: str


@pytest.fixture
def api_setup(transactional_db) -> Setup:
    vendor = make_vendor("Concurrency Ltd")
    product = ProductFactory(vendor=vendor)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="load",
                            permissions=["key.Activate", "key.CreateKey", "key.GetKey"])
    return Setup(token, product, vendor.signing_key.public_key_pem)


def _warm_up(server: Server, setup: Setup, key: LicenseKey) -> None:
    """Enough signed GetKey calls that every gunicorn thread has loaded the URLconf and the
    signing key and holds a database connection before the race starts."""
    data = {"token": setup.token, "ProductId": str(setup.product.pk), "Key": key.key,
            "Sign": "True", "SignMethod": "1"}
    bodies = _in_parallel([lambda: _post(server.base_url, "GetKey", data)] * 96)
    assert all(b["result"] == 0 for b in bodies), bodies[0]


def _post(base_url: str, method: str, data: dict[str, str]) -> dict:
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(
        f"{base_url}/api/key/{method}", data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())


def _in_parallel(calls: list[Callable[[], dict]]) -> list[dict]:
    """Run every call on CLIENT_THREADS threads, the first wave released at the same instant."""
    go = threading.Event()

    def run(call: Callable[[], dict]) -> dict:
        go.wait()
        return call()

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        futures = [pool.submit(run, call) for call in calls]
        go.set()
        return [f.result() for f in futures]


def _activate(server: Server, setup: Setup, key: LicenseKey, machine_code: str,
              **extra: str) -> Callable[[], dict]:
    data = {"token": setup.token, "ProductId": str(setup.product.pk), "Key": key.key,
            "MachineCode": machine_code, "Sign": "True", "SignMethod": "1", **extra}
    return lambda: _post(server.base_url, "Activate", data)


def _signed_license(body: dict, public_key_pem: str) -> dict:
    payload = base64.b64decode(body["licenseKey"])
    signing.load_public_key(public_key_pem).verify(
        base64.b64decode(body["signature"]), payload, padding.PKCS1v15(), hashes.SHA256())
    return json.loads(payload)


def _succeeded(answers: list[tuple[str, dict]]) -> dict[str, dict]:
    for _, body in answers:
        assert body["result"] in (0, 1), body
        assert body["result"] == 0 or body["message"] == LIMIT_REACHED, body
    return {code: body for code, body in answers if body["result"] == 0}


def test_200_parallel_activations_fill_exactly_five_seats(gunicorn_server, api_setup):
    key = make_key(api_setup.product, max_no_of_machines=5)
    codes = [f"machine-{n:03d}" for n in range(200)]
    _warm_up(gunicorn_server, api_setup, key)

    bodies = _in_parallel([_activate(gunicorn_server, api_setup, key, c) for c in codes])

    winners = _succeeded(list(zip(codes, bodies, strict=True)))
    assert len(winners) == 5
    assert set(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) \
        == set(winners)
    for code, body in winners.items():
        machines = _signed_license(body, api_setup.public_key_pem)["ActivatedMachines"]
        assert code in {m["Mid"] for m in machines}
    # Every call is in the Web API log, none lost under load.
    logged = Counter(WebApiLog.objects.filter(method="key.Activate", key=key.key)
                     .values_list("state", flat=True))
    assert logged == {states.ACTIVATION_NEW: 5, states.ACTIVATION_LIMIT: 195}


def test_parallel_floating_activations_never_exceed_seats_plus_overdraft(
        gunicorn_server, api_setup):
    key = make_key(api_setup.product, max_no_of_machines=3)
    floating = {"FloatingTimeInterval": "300", "MaxOverdraft": "2"}
    codes = [f"float-{n:03d}" for n in range(100)]
    _warm_up(gunicorn_server, api_setup, key)

    bodies = _in_parallel([_activate(gunicorn_server, api_setup, key, c, **floating)
                           for c in codes])

    winners = _succeeded(list(zip(codes, bodies, strict=True)))
    assert len(winners) == 5
    # Seats are only ever added here (T = 300 s, no release), so the final count bounds
    # every count the run went through.
    seats = Activation.objects.filter(key=key, floating=True,
                                      floating_expires__gt=timezone.now())
    assert set(seats.values_list("machine_code", flat=True)) == set(winners)
    assert seats.filter(overdraft=True).count() == 2
    assert not Activation.objects.filter(key=key, floating=False).exists()
    mids = {}
    for code, body in winners.items():
        machines = _signed_license(body, api_setup.public_key_pem)["ActivatedMachines"]
        (mids[code],) = [m["Mid"] for m in machines if m["Mid"].endswith(":" + code)]
    assert sorted(mid.removesuffix(code) for code, mid in mids.items()) \
        == [FLOATING_PREFIX] * 3 + [OVERDRAFT_PREFIX] * 2


def test_floating_seat_holders_keep_their_seats_while_newcomers_race(gunicorn_server,
                                                                     api_setup):
    key = make_key(api_setup.product, max_no_of_machines=3)
    floating = {"FloatingTimeInterval": "300", "MaxOverdraft": "2"}
    holders = [f"holder-{n}" for n in range(5)]
    for code in holders:
        assert _activate(gunicorn_server, api_setup, key, code, **floating)()["result"] == 0
    newcomers = [f"newcomer-{n:02d}" for n in range(45)]

    codes = holders + newcomers
    bodies = _in_parallel([_activate(gunicorn_server, api_setup, key, c, **floating)
                           for c in codes])

    assert set(_succeeded(list(zip(codes, bodies, strict=True)))) == set(holders)
    assert Activation.objects.filter(key=key, floating=True).count() == 5


def test_parallel_create_key_hands_out_unique_consecutive_serials(gunicorn_server, api_setup):
    product = api_setup.product
    first = Product.objects.get(pk=product.pk).next_key_serial
    sizes = [1, 3] * 20  # 80 keys from 40 calls
    data = [{"token": api_setup.token, "ProductId": str(product.pk), "NoOfKeys": str(n)}
            for n in sizes]

    bodies = _in_parallel([lambda d=d: _post(gunicorn_server.base_url, "CreateKey", d)
                           for d in data])

    assert all(b["result"] == 0 for b in bodies), bodies
    returned = [k for b in bodies for k in b.get("keys", [b["key"]])]
    assert len(returned) == len(set(returned)) == sum(sizes)
    serials = sorted(LicenseKey.objects.filter(product=product, key__in=returned)
                     .values_list("serial", flat=True))
    assert serials == list(range(first, first + sum(sizes)))
    for body, size in zip(bodies, sizes, strict=True):  # a batch is one consecutive run
        batch = sorted(LicenseKey.objects.filter(product=product, key__in=body.get(
            "keys", [body["key"]])).values_list("serial", flat=True))
        assert batch == list(range(batch[0], batch[0] + size))
