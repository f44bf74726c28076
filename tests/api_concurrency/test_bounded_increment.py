"""Bounded increments and decrements under real concurrency, on PostgreSQL.

gunicorn runs 4 worker processes x 8 threads against the test database (as in
test_seat_limits.py: one Python process would take turns on the GIL and could hide a
read-then-write race); 50 client threads fire 200 calls released at the same instant. Only the
database can then keep a counter bounded at 50 from passing 50: the conditional UPDATE in
apps/licensing/services/data_objects.py (data_object_change_int). Checked: with the bound
tested in Python after a plain read instead, the counter ends above 50.

SQLite serialises writers anyway, so these tests skip there."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.audit.log import Actor
from apps.licensing.models import Activation, DataObject
from apps.licensing.services import token_create
from apps.licensing.services.data_objects import BOUND_REACHED
from apps.usage import states
from apps.usage.models import WebApiLog
from tests import servers
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run",
    ),
]

CLIENT_THREADS = 50
CALLS = 200
BOUND = 50


@pytest.fixture(scope="module")
def base_url(django_db_setup, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    process, base = servers.start(log, workers=4, threads=8, timeout=60)
    try:
        servers.wait_until_up(process, base, log)
        yield base
    finally:
        servers.stop(process)


def _post(base: str, path: str, data: dict[str, str]) -> dict:
    request = urllib.request.Request(f"{base}/api/data/{path}",
                                     data=urllib.parse.urlencode(data).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())


def _in_parallel(calls: list[Callable[[], dict]]) -> list[dict]:
    go = threading.Event()

    def run(call: Callable[[], dict]) -> dict:
        go.wait()
        return call()

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        futures = [pool.submit(run, call) for call in calls]
        go.set()
        return [f.result() for f in futures]


@pytest.fixture
def counter(transactional_db):
    vendor = make_vendor("Counters Ltd")
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=2)
    Activation.objects.create(key=key, machine_code="pc-1")
    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="usage",
                         permissions=["data.IncrementIntValueToKey",
                                      "data.DecrementIntValueToKey",
                                      "data.IncrementIntValueToMachineCode",
                                      "data.IncrementIntValue", "data.ListDataObjectsToKey"])[1]
    return token, product, key


def _warm_up(base: str, token: str, product, key) -> None:
    data = {"token": token, "ProductId": str(product.pk), "Key": key.key}
    bodies = _in_parallel([lambda: _post(base, "ListDataObjectsToKey", data)] * 96)
    assert all(b["result"] == 0 for b in bodies), bodies[0]


@pytest.mark.parametrize("method", ["IncrementIntValueToKey", "IncrementIntValueToMachineCode",
                                    "IncrementIntValue"])
def test_200_parallel_increments_on_a_counter_bounded_at_50_end_at_exactly_50(
        base_url, counter, method):
    token, product, key = counter
    owner = ({"machine_key": key, "machine_code": "pc-1", "referencer_type": 3}
             if method.endswith("MachineCode") else {"key": key})
    obj = DataObject.objects.create(name="credits", int_value=0, **owner)
    _warm_up(base_url, token, product, key)
    data = {"token": token, "ProductId": str(product.pk), "Key": key.key, "MachineCode": "pc-1",
            "Id": str(obj.pk), "IntValue": "1", "EnableBound": "True", "Bound": str(BOUND)}

    bodies = _in_parallel([lambda: _post(base_url, method, data)] * CALLS)

    obj.refresh_from_db()
    assert obj.int_value == BOUND
    assert Counter((b["result"], b["message"]) for b in bodies) == {
        (0, ""): BOUND, (1, BOUND_REACHED): CALLS - BOUND}
    logged = Counter(WebApiLog.objects.filter(method=f"data.{method}")
                     .values_list("state", flat=True))
    assert logged == {states.DATA_OBJECT_CHANGED: BOUND,
                      states.DATA_OBJECT_FAILED: CALLS - BOUND}
    # Each success logged the value it left: 1 .. 50, each once.
    assert sorted(WebApiLog.objects.filter(method=f"data.{method}",
                                           state=states.DATA_OBJECT_CHANGED)
                  .values_list("do_int_value", flat=True)) == list(range(1, BOUND + 1))


def test_parallel_decrements_never_pass_the_lower_bound(base_url, counter):
    token, product, key = counter
    obj = DataObject.objects.create(key=key, name="credits", int_value=30)
    _warm_up(base_url, token, product, key)
    data = {"token": token, "ProductId": str(product.pk), "Key": key.key, "Id": str(obj.pk),
            "IntValue": "2", "EnableBound": "True", "Bound": "0"}

    bodies = _in_parallel([lambda: _post(base_url, "DecrementIntValueToKey", data)] * 100)

    obj.refresh_from_db()
    assert obj.int_value == 0
    assert Counter(b["result"] for b in bodies) == {0: 15, 1: 85}
