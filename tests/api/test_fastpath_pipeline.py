"""Outside a transaction, as in production, the fast path's statement runs in libpq's pipeline
mode and the answer is built and signed while PostgreSQL commits it (apps.core.pipeline):
the answer goes out only once the commit, and with it the log row, is confirmed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import psycopg
import pytest
from django.db import DataError, OperationalError, connection, transaction
from django.test import Client
from psycopg import pq

from apps.audit.log import Actor
from apps.core import pipeline
from apps.licensing import fastpath
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_create
from apps.usage import states, weblog
from apps.usage.models import WebApiLog
from tests.factories import (
    ProductFactory,
    make_activation,
    make_key,
    make_resold_key,
    make_vendor,
)

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the fast path exists on PostgreSQL only"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def setup():
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=5)
    make_activation(key, "pc-1", friendly_name="ONE")
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)
    return product, key, token


@pytest.fixture
def pipelined(monkeypatch) -> list[str]:
    """The statements that went through the pipeline."""
    ran: list[str] = []
    run = pipeline._Pipelined.run

    def spy(self, statement, params):
        ran.append(statement.name.decode())
        return run(self, statement, params)

    monkeypatch.setattr(pipeline._Pipelined, "run", spy)
    return ran


def _activate(product, key, token, machine: str = "pc-1", **extra) -> dict:
    return Client().post("/api/key/Activate", {
        "token": token, "ProductId": product.pk, "Key": key.key, "MachineCode": machine,
        "Sign": "True", "SignMethod": 1, **extra}).json()


def _license(body: dict) -> dict:
    license_json = json.loads(base64.b64decode(body["licenseKey"]))
    license_json.pop("SignDate")
    return license_json


def test_a_known_device_is_answered_through_the_pipeline_as_the_ordinary_path_answers(
        setup, pipelined, monkeypatch):
    product, key, token = setup
    fast = _activate(product, key, token, ModelVersion=3)
    assert fast["result"] == 0, fast
    assert len(pipelined) == 1
    assert connection.connection.pgconn.pipeline_status == pq.PipelineStatus.OFF
    assert list(WebApiLog.objects.values_list("state", "machine_code")) == [
        (states.ACTIVATION_EXISTING, "pc-1")]

    monkeypatch.setattr(fastpath, "available", lambda: False)
    assert _license(fast) == _license(_activate(product, key, token, ModelVersion=3))


def test_get_key_is_answered_through_the_pipeline(setup, pipelined):
    product, key, token = setup
    body = Client().post("/api/key/GetKey", {"token": token, "ProductId": product.pk,
                                             "Key": key.key, "Sign": "True"}).json()
    assert body["result"] == 0, body
    assert len(pipelined) == 1
    assert list(WebApiLog.objects.values_list("state", flat=True)) == [states.VALIDATION_OK]


@pytest.fixture
def doomed_commits() -> Iterator[None]:
    """A deferred check that fails at commit every log row of the device "pc-doomed"."""
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION test_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.machine_code = 'pc-doomed' THEN RAISE EXCEPTION 'doomed'; END IF;
                RETURN NULL;
            END $$""")
        cursor.execute("""
            CREATE CONSTRAINT TRIGGER test_doomed AFTER INSERT ON licensing_webapilog
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_doomed()""")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_doomed ON licensing_webapilog")
            cursor.execute("DROP FUNCTION test_doomed()")


def test_no_success_is_answered_when_the_commit_fails(setup, pipelined, doomed_commits):
    product, key, token = setup
    make_activation(key, "pc-doomed")

    body = _activate(product, key, token, machine="pc-doomed")

    assert body["result"] == 1 and "licenseKey" not in body
    # The statement ran, its row came back, the commit failed; then the failure's own log
    # row was tried (through the pipeline too), and its commit failed the same way.
    assert pipelined == [fastpath._SQL.name.decode(), weblog._INSERT.name.decode()]
    assert not WebApiLog.objects.filter(machine_code="pc-doomed").exists()
    # The connection is as good as before.
    assert _activate(product, key, token)["result"] == 0
    assert WebApiLog.objects.get().machine_code == "pc-1"


def test_a_query_made_while_the_commit_is_pending_waits_for_it(pipelined):
    # ModelVersion 3 names a resold key's reseller, read while the answer is built.
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    key = make_resold_key(product)
    make_activation(key, "pc")
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)

    body = _activate(product, key, token, machine="pc", ModelVersion=3)

    assert body["result"] == 0, body
    assert len(pipelined) == 1
    assert _license(body)["Reseller"]["Name"] == "Partner"
    assert WebApiLog.objects.get().state == states.ACTIVATION_EXISTING


def test_a_device_the_fast_path_declines_is_activated_on_the_same_connection(setup,
                                                                            pipelined):
    product, key, token = setup
    assert _activate(product, key, token, machine="pc-new")["result"] == 0
    # Tried, nothing written; then the ordinary path (its reads go through the pipeline too).
    assert pipelined[0] == fastpath._SQL.name.decode()
    assert list(WebApiLog.objects.values_list("state", "machine_code")) == [
        (states.ACTIVATION_NEW, "pc-new")]
    assert key.activations.filter(machine_code="pc-new").exists()


DIVIDE = pipeline.Statement("SELECT 10 / %(by)s, %(by)s", {"by": "integer"})


def test_a_failing_statement_leaves_the_connection_usable():
    with pytest.raises(DataError):
        pipeline.run(DIVIDE, {"by": 0})
    row, committed = pipeline.run(DIVIDE, {"by": 5})
    committed()
    assert row == (2, 5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_connection_lost_before_the_statement_is_replaced_by_the_next_query():
    pipeline.run(DIVIDE, {"by": 1})[1]()
    settings = connection.settings_dict
    with psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                         password=settings["PASSWORD"], host=settings["HOST"],
                         port=settings["PORT"] or None, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)",
                      [connection.connection.info.backend_pid])

    with pytest.raises(OperationalError):
        pipeline.run(DIVIDE, {"by": 1})

    assert connection.connection is None  # closed: its state was unknown
    row, committed = pipeline.run(DIVIDE, {"by": 2})
    committed()
    assert row == (5, 2)


def test_a_statement_deallocated_behind_its_back_is_prepared_again(setup):
    product, key, token = setup
    assert _activate(product, key, token)["result"] == 0  # prepared on this connection
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")  # as a pooler resetting a connection would

    assert _activate(product, key, token)["result"] == 0
    assert WebApiLog.objects.count() == 2


def test_a_rolled_back_transaction_leaves_the_prepared_statements_alone(setup):
    # psycopg deallocates every statement it prepared after a ROLLBACK; it prepared none.
    product, key, token = setup
    assert _activate(product, key, token)["result"] == 0
    with pytest.raises(RuntimeError), transaction.atomic():
        fastpath.load(key.pk)  # the fast path's statement inside a transaction
        raise RuntimeError

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] >= 2
    assert _activate(product, key, token)["result"] == 0
