"""Scale-out: two portal processes (two gunicorn instances on two ports, as two hosts behind a
load balancer would be) share one PostgreSQL database. Parallel activations split across both
still fill exactly the key's seats: the limit is enforced by the database row lock, not by
anything held in a web process."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.audit.log import Actor
from apps.licensing.models import Activation
from apps.licensing.services import token_create
from apps.licensing.services.seats import LIMIT_REACHED
from apps.usage import states
from apps.usage.models import WebApiLog
from tests import servers
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL row locks: set DATABASE_URL=postgres://... to run"),
]
SEATS = 5
CALLS = 120


@pytest.fixture(scope="module")
def two_portals(django_db_setup, tmp_path_factory) -> Iterator[list[str]]:
    folder = tmp_path_factory.mktemp("portals")
    started = [servers.start(folder / f"portal-{n}.log") for n in (1, 2)]
    try:
        for n, (process, base) in enumerate(started, 1):
            servers.wait_until_up(process, base, folder / f"portal-{n}.log")
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            servers.stop(process)


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
    warm = _in_parallel([lambda b=b: servers.post(b, "GetKey", base) for b in two_portals * 24])
    assert all(body["result"] == 0 for body in warm), warm[0]

    codes = [f"host-{n:03d}" for n in range(CALLS)]
    bodies = _in_parallel([
        lambda c=c, n=n: servers.post(two_portals[n % 2], "Activate", {**base, "MachineCode": c})
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
