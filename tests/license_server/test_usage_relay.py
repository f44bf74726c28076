"""Usage-based licensing through the license server, with the portal and the server as real
processes and the official `licensing` client pointed at the server: increments and
decrements relayed while the portal is up; recorded (bound checked) while it is down, kept
across a crash, uploaded when it is back and applied exactly once, even when the same upload
reaches the portal several times at once.

PostgreSQL only: the portal process must share the test database, which on SQLite is an
in-memory database of this process."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from license_server import configuration as server_configuration
from license_server import wire
from licensing.internal import HelperMethods
from licensing.methods import Data, Key

from apps.audit.log import Actor
from apps.license_server.services import license_server_configuration_create
from apps.licensing import signing
from apps.licensing.models import DataObject, LicenseKey, Product
from apps.licensing.services import data_object_add, token_create
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_key, make_vendor

from .processes import LicenseServer, Portal

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the portal process shares the test database: set "
                              "DATABASE_URL=postgres://... to run"),
]
WAIT_S = 30
PERMISSIONS = ["key.Activate", "key.GetKey", "data.IncrementIntValueToKey",
               "data.DecrementIntValueToKey"]


@dataclass
class World:
    folder: Path
    token: str
    product: Product
    key: LicenseKey
    credits: DataObject
    vendor_xml: str
    upload_token: str


@pytest.fixture
def portal(django_db_setup, tmp_path) -> Iterator[Portal]:
    process = Portal("portal", tmp_path)
    yield process
    process.stop()


@pytest.fixture
def world(transactional_db, tmp_path, portal) -> World:
    vendor = make_vendor("Metered Ltd")
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=5)
    actor = Actor.for_system("test")
    credits = data_object_add(key=key, actor=actor, name="credits", int_value=0)
    _, token = token_create(vendor=vendor, actor=actor, name="app", permissions=PERMISSIONS)
    _, text = license_server_configuration_create(
        vendor=vendor, actor=actor, name="Plant",
        valid_until=timezone.now() + dt.timedelta(days=30), portal_url=portal.url)
    (tmp_path / "configuration.json").write_text(text)
    vendor_xml = signing.public_key_xml(vendor.signing_key.public_key_pem)
    upload_token = server_configuration.parse(text, vendor_public_key_xml=vendor_xml
                                              ).upload_token
    return World(tmp_path, token, product, key, credits, vendor_xml, upload_token)


@pytest.fixture(autouse=True)
def _client_address() -> Iterator[None]:
    previous = HelperMethods.server_address
    yield
    HelperMethods.server_address = previous


def _license_server(world: World) -> LicenseServer:
    server = LicenseServer("license-server", world.folder, {
        "cache_folder": "data", "cache_length_days": 30, "configuration": "configuration.json",
        "vendor_public_key": world.vendor_xml, "upload_interval": 0.3,
        "upstream_timeout": 5})
    HelperMethods.server_address = server.url + "/api/"
    return server


def _increment(world: World, amount: int, **bound):
    return Data.increment_int_value_to_key(world.token, world.product.pk, world.key.key,
                                           object_id=world.credits.pk, int_value=amount,
                                           **bound)


def _decrement(world: World, amount: int, **bound):
    return Data.decrement_int_value_to_key(world.token, world.product.pk, world.key.key,
                                           object_id=world.credits.pk, int_value=amount,
                                           **bound)


def _ok(answer: tuple) -> bool:
    return answer[0] is not None and answer[1] == ""


def _value(world: World) -> int:
    return DataObject.objects.get(pk=world.credits.pk).int_value


def _cache_the_license(world: World) -> None:
    """GetKey's signed answer, with the data objects, relayed and cached by the server."""
    activated, message = Key.activate(token=world.token, rsa_pub_key=world.vendor_xml,
                                      product_id=world.product.pk, key=world.key.key,
                                      machine_code="pc-1")
    assert activated is not None, message
    assert [(d["Name"], d["IntValue"]) for d in activated.data_objects] == [("credits", 0)]


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _uploaded_rows(world: World) -> list[WebApiLog]:
    return list(WebApiLog.objects.filter(vendor_id=world.product.vendor_id,
                                         user_agent__startswith="license server"))


def test_online_increments_and_decrements_are_relayed_to_the_portal(world, portal):
    portal.start()
    server = _license_server(world)
    server.start()

    assert _ok(_increment(world, 3))
    assert _ok(_decrement(world, 1))
    assert _ok(Data.increment_int_value_to_key(world.token, world.product.pk, world.key.key,
                                               name="credits", int_value=2))
    # The portal's refusal passes through unchanged (and is the server's offline wording).
    assert _increment(world, 5, enable_bound=True, bound=6) == (None, wire.BOUND_REACHED)

    assert _value(world) == 4
    relayed = WebApiLog.objects.filter(vendor_id=world.product.vendor_id,
                                       method__startswith="data.").order_by("id")
    assert [(r.method, r.state) for r in relayed] == [
        ("data.IncrementIntValueToKey", 8010), ("data.DecrementIntValueToKey", 8010),
        ("data.IncrementIntValueToKey", 8010), ("data.IncrementIntValueToKey", 8020)]
    assert server.stats()["usage_pending"] == []
    assert server.stats()["journal"] == {"pending": 0, "total": 4}
    server.stop()


def test_an_outage_is_recorded_kept_across_a_crash_and_uploaded_once(world, portal):
    portal.start()
    server = _license_server(world)
    server.start()
    _cache_the_license(world)  # credits = 0 in the signed license
    assert _ok(_increment(world, 2))  # relayed: 2

    portal.stop()
    bounded = {"enable_bound": True, "bound": 6}
    assert _ok(_increment(world, 3))  # 5
    assert _ok(_increment(world, 1, **bounded))  # 6
    assert _increment(world, 1, **bounded) == (None, wire.BOUND_REACHED)  # 7 > 6
    assert _ok(_decrement(world, 1))  # 5
    pending = [{"product_id": world.product.pk, "key": world.key.key,
                "data_object_id": world.credits.pk, "name": "credits", "records": 3,
                "delta": 3}]
    assert server.stats()["usage_pending"] == pending

    server.stop(crash=True)
    server.start()
    assert server.stats()["usage_pending"] == pending
    assert _increment(world, 2, **bounded) == (None, wire.BOUND_REACHED)  # still knows 5
    assert _value(world) == 2

    portal.start()
    _until(lambda: server.stats()["usage_pending"] == [], "the upload")
    assert _value(world) == 5
    assert Counter((r.method, r.state) for r in _uploaded_rows(world)) == {
        ("data.IncrementIntValueToKey", 8010): 2, ("data.DecrementIntValueToKey", 8010): 1,
        ("data.IncrementIntValueToKey", 8020): 2}
    # Back online: relayed again, counted once.
    assert _ok(_increment(world, 1))
    assert _value(world) == 6
    server.stop()


def _pending_records(folder: Path) -> list[dict]:
    with sqlite3.connect(folder / "data" / "license-server.sqlite3") as db:
        rows = db.execute("SELECT record FROM journal WHERE uploaded = 0 ORDER BY seq")
        return [json.loads(record) for (record,) in rows]


def _post_upload(portal: Portal, token: str, records: list[dict]) -> dict:
    data = urllib.parse.urlencode({"token": token, "Records": json.dumps(records)}).encode()
    with urllib.request.urlopen(portal.url + "/api/license-server/upload-log", data=data,
                                timeout=30) as response:
        return json.loads(response.read())


def test_the_same_upload_arriving_several_times_is_applied_once(world, portal):
    """What a retry after a lost answer looks like to the portal: the same records again,
    here four copies at once, then the server's own upload of them."""
    portal.start()
    server = _license_server(world)
    server.start()
    _cache_the_license(world)
    portal.stop()
    for _ in range(4):
        assert _ok(_increment(world, 1))
    server.stop()
    records = _pending_records(world.folder)
    assert [r["Usage"]["Delta"] for r in records] == [1, 1, 1, 1]

    portal.start()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _post_upload(portal, world.upload_token, records),
                                range(4)))

    assert sorted((a["stored"], a["duplicates"]) for a in answers) == [
        (0, 4), (0, 4), (0, 4), (4, 0)]
    assert _value(world) == 4

    server.start()  # it never saw an answer: it uploads them again
    _until(lambda: server.stats()["usage_pending"] == [], "the server's upload")
    assert _value(world) == 4
    assert len(_uploaded_rows(world)) == 4
    server.stop()
