"""After every database connection of a running portal is killed (what a PostgreSQL restart or
fail-over does to them), API calls succeed again with no restart of the portal: persistent
connections (CONN_MAX_AGE) are checked before reuse (CONN_HEALTH_CHECKS) and replaced. The
full restart under load, with the answers during the outage, is `bench/faults postgres`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import connection

from apps.audit.log import Actor
from apps.licensing.models import Activation
from apps.licensing.services import token_create
from apps.usage.models import WebApiLog
from tests import servers
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="kills PostgreSQL backends: set DATABASE_URL=postgres://... to run"),
]
THREADS = 4


@pytest.fixture(scope="module")
def portal(django_db_setup, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("portal") / "gunicorn.log"
    process, base = servers.start(log, workers=1, threads=THREADS)
    try:
        servers.wait_until_up(process, base, log)
        yield base
    finally:
        servers.stop(process)


def _kill_other_backends() -> int:
    """Terminate the portal role's other connections to the test database (gunicorn's) and
    wait until they have exited. pg_terminate_backend only signals a backend; until the
    backend acts on it, its connection still looks alive to the portal, and a call sent in
    that window meets the outage itself (the retryable answer, `bench/faults postgres`).
    A backend leaves pg_stat_activity after writing its goodbye to the socket, so from then
    on every killed connection is one that died while idle. OFFSET 0 keeps the filter in a
    subquery, so the terminate call only sees those rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, pg_terminate_backend(pid) FROM (SELECT pid "
                       "FROM pg_stat_activity WHERE datname = current_database() "
                       "AND usename = current_user AND pid <> pg_backend_pid() OFFSET 0) "
                       "AS others")
        killed = [pid for pid, done in cursor.fetchall() if done]
        deadline = time.monotonic() + 10
        while True:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                           [killed])
            (left,) = cursor.fetchone()
            if not left:
                return len(killed)
            assert time.monotonic() < deadline, f"{left} killed backends still running"
            time.sleep(0.01)


def test_api_calls_succeed_after_every_database_connection_was_killed(portal,
                                                                     transactional_db):
    vendor = make_vendor("Reconnect Ltd")
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=50)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="reconnect",
                            permissions=["key.Activate", "key.GetKey"])
    base = {"token": token, "ProductId": str(product.pk), "Key": key.key}
    for _ in range(THREADS * 4):  # every thread holds a persistent connection
        assert servers.post(portal, "GetKey", base)["result"] == 0

    assert _kill_other_backends() >= 1

    answers = [servers.post(portal, "Activate", {**base, "MachineCode": f"after-{n}"})
               for n in range(THREADS * 3)]
    assert [a["result"] for a in answers] == [0] * (THREADS * 3)
    assert Activation.objects.filter(key=key).count() == THREADS * 3
    assert WebApiLog.objects.filter(key=key.key, method="key.Activate").count() == THREADS * 3
