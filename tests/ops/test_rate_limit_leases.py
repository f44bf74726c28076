"""The Web API's budgets hold across processes when each process counts them by leases
(apps.core.ratelimit.hit_leased): two portal processes (gunicorn instances, as two hosts
would be) share one Redis, and parallel calls with one token, split across both, are served
up to the token's budget and no further, each served call with its log row."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.api import errors
from apps.audit.log import Actor
from apps.licensing.services import token_create
from apps.usage.models import WebApiLog
from tests import servers
from tests.factories import ProductFactory, make_key, make_vendor
from tests.rediscache import REDIS_URL, on_redis

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql" or not REDIS_URL,
                       reason="needs PostgreSQL and REDIS_URL (a Redis database of your own)"),
]
BUDGET = 2_000  # the smallest budget that is leased: 2 units at a time
CALLS = 2_150
PROCESSES, THREADS = 2, 4
PREFIX = f"lease-test-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def two_portals(django_db_setup, tmp_path_factory) -> Iterator[list[str]]:
    folder = tmp_path_factory.mktemp("portals")
    # A day's window: no window ends while the test runs (they are aligned to the clock).
    env = {"TEST_SERVER_REDIS_URL": REDIS_URL, "TEST_SERVER_CACHE_PREFIX": PREFIX,
           "API_RATE_LIMIT_PER_TOKEN": f"{BUDGET}/86400", "API_RATE_LIMIT_PER_IP": "0"}
    with on_redis(PREFIX):  # the portals' counters, emptied before and after
        started = [servers.start(folder / f"portal-{n}.log", workers=1, threads=THREADS,
                                 extra_env=env) for n in range(PROCESSES)]
        try:
            for n, (process, base) in enumerate(started):
                servers.wait_until_up(process, base, folder / f"portal-{n}.log")
            yield [base for _, base in started]
        finally:
            for process, _ in started:
                servers.stop(process)


def test_a_token_budget_counted_by_leases_holds_across_processes(two_portals,
                                                                 transactional_db):
    vendor = make_vendor("Budget Ltd")
    key = make_key(ProductFactory(vendor=vendor))
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="budget",
                            permissions=["key.GetKey"])
    call = {"token": token, "ProductId": str(key.product_id), "Key": key.key}
    go = threading.Event()

    def get_key(n: int) -> dict:
        go.wait()
        return servers.post(two_portals[n % PROCESSES], "GetKey", call)

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(get_key, n) for n in range(CALLS)]
        go.set()
        answers = [f.result() for f in futures]

    outcomes = Counter("served" if a["result"] == 0 else a["message"] for a in answers)
    assert set(outcomes) == {"served", errors.TOO_MANY_REQUESTS}
    # Never past the budget; short of it by at most the units reserved and not spent: one
    # lease (2 units, 1 beyond its call) per thread of each process.
    assert BUDGET - PROCESSES * THREADS <= outcomes["served"] <= BUDGET
    assert WebApiLog.objects.filter(key=key.key, method="key.GetKey").count() == \
        outcomes["served"]
