"""The license server and the portal as real processes, the official `licensing` client
pointed at the license server: relay, cache, license files, offline floating seats, and the
journal reaching the portal's Web API log after an outage and a crash; and the server installed
on its own, from its wheel, into an environment without Django.

PostgreSQL only: the portal process must share the test database, which on SQLite is an
in-memory database of this process."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from license_server import configuration as server_configuration
from license_server import wire
from licensing.internal import HelperMethods
from licensing.methods import Key

from apps.audit.log import Actor
from apps.license_server import configuration_file
from apps.license_server.services import license_server_configuration_create, public_key_xml
from apps.license_server.wheel import LICENSE_SERVER
from apps.licensing import signing
from apps.licensing.license_files import license_file
from apps.licensing.models import Activation, LicenseKey, Product
from apps.licensing.services import token_create
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_key, make_vendor

from . import keys
from .processes import LICENSE_SERVER_COMMAND, LicenseServer, Portal, importable, standalone_install

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the portal process shares the test database: set "
                              "DATABASE_URL=postgres://... to run"),
]
FLOATING = 300  # seconds a floating seat is held after its last call
UPLOAD_TIMEOUT_S = 30


@dataclass
class World:
    folder: Path
    token: str
    product: Product
    node_locked: LicenseKey
    floating: LicenseKey
    vendor_xml: str
    server_xml: str
    configuration_text: str
    vendor_private_key_encrypted: str


@pytest.fixture
def portal(django_db_setup, tmp_path) -> Iterator[Portal]:
    process = Portal("portal", tmp_path)
    yield process
    process.stop()


@pytest.fixture
def world(transactional_db, tmp_path, portal) -> World:
    vendor = make_vendor("Relay Ltd")
    product = ProductFactory(vendor=vendor)
    node_locked = make_key(product, max_no_of_machines=5)
    floating = make_key(product, max_no_of_machines=3)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="app",
                            permissions=["key.Activate", "key.GetKey", "key.Deactivate",
                                         "ai.RegisterEvent"])
    configuration, text = license_server_configuration_create(
        vendor=vendor, actor=Actor.for_system("test"), name="Plant",
        valid_until=timezone.now() + dt.timedelta(days=30), keys=[floating],
        portal_url=portal.url)
    (tmp_path / "licenses").mkdir()
    (tmp_path / "licenses" / "floating.skm").write_bytes(license_file(key=floating).content)
    (tmp_path / "configuration.json").write_text(text)
    return World(tmp_path, token, product, node_locked, floating,
                 signing.public_key_xml(vendor.signing_key.public_key_pem),
                 public_key_xml(configuration), text,
                 vendor.signing_key.private_key_encrypted)


@pytest.fixture(autouse=True)
def _client_address() -> Iterator[None]:
    previous = HelperMethods.server_address
    yield
    HelperMethods.server_address = previous


def _license_server(world: World, name: str = "license-server", *,
                    command: Path = LICENSE_SERVER_COMMAND, **config) -> LicenseServer:
    server = LicenseServer(name, world.folder, {
        "cache_folder": "data", "cache_length_days": 30, "license_files": ["licenses"],
        "configuration": "configuration.json", "vendor_public_key": world.vendor_xml,
        "upload_interval": 0.3, "upstream_timeout": 5, **config}, command=command)
    HelperMethods.server_address = server.url + "/api/"
    return server


def _activate(world: World, key: LicenseKey, machine: str, public_xml: str, **extra):
    return Key.activate(token=world.token, rsa_pub_key=public_xml, product_id=world.product.pk,
                        key=key.key, machine_code=machine, **extra)


def _floating(world: World, machine: str):
    return _activate(world, world.floating, machine, world.server_xml,
                     floating_time_interval=FLOATING)


def _uploaded(vendor_id: int, expected: int) -> list[WebApiLog]:
    """The license server's records in the portal's log, once `expected` have arrived."""
    deadline = time.monotonic() + UPLOAD_TIMEOUT_S
    while True:
        rows = list(WebApiLog.objects.filter(vendor_id=vendor_id,
                                             user_agent__startswith="license server"))
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_relay_cache_floating_seats_and_the_journal_across_an_outage(world, portal):
    portal.start()
    server = _license_server(world)
    server.start()

    # Relayed: the portal's signed answer, verified with the vendor's key.
    relayed, message = _activate(world, world.node_locked, "device-1", world.vendor_xml)
    assert relayed is not None, message
    assert Activation.objects.filter(key=world.node_locked, machine_code="device-1").exists()

    portal.stop()
    cached, message = _activate(world, world.node_locked, "device-1", world.vendor_xml)
    assert cached is not None, message
    assert "device-1" in {m.Mid for m in cached.activated_machines}
    # The very bytes the portal signed, relayed and then served from the cache unchanged.
    assert (cached.raw_response.license_key, cached.raw_response.signature) == (
        relayed.raw_response.license_key, relayed.raw_response.signature)
    assert _activate(world, world.node_locked, "device-2", world.vendor_xml) == (
        None, wire.UNREACHABLE)

    # Offline floating: 3 seats for 5 devices, signed with the license server's key.
    answers = {f"pc-{n}": _floating(world, f"pc-{n}") for n in range(1, 6)}
    assert [pc for pc, (lic, _) in answers.items() if lic is not None] == ["pc-1", "pc-2",
                                                                           "pc-3"]
    assert answers["pc-4"] == (None, wire.LIMIT_REACHED)
    assert {m.Mid for m in answers["pc-1"][0].activated_machines} == {"floating:pc-1"}
    assert Key.deactivate(world.token, world.product.pk, world.floating.key, "pc-1",
                          floating=True) == (True, "")
    assert _floating(world, "pc-4")[0] is not None
    assert _floating(world, "pc-5") == (None, wire.LIMIT_REACHED)

    # A crash loses neither the journal nor the seats.
    server.stop(crash=True)
    server.start()
    assert _floating(world, "pc-5") == (None, wire.LIMIT_REACHED)
    assert server.stats()["journal"]["pending"] == 11

    portal.start()
    rows = _uploaded(world.product.vendor_id, expected=11)
    assert Counter(row.state for row in rows) == {2010: 1, 2020: 1, 2014: 4, 2024: 4, 6011: 1}
    assert {row.machine_code for row in rows if row.state == 2014} == {"pc-1", "pc-2", "pc-3",
                                                                       "pc-4"}
    server.stop()


def test_offline_mode_never_contacts_the_portal(world, portal):
    portal.start()
    online = _license_server(world)
    online.start()
    assert _activate(world, world.node_locked, "device-1", world.vendor_xml)[0] is not None
    online.stop()
    portal_calls = WebApiLog.objects.filter(token_id__isnull=False).count()

    offline = _license_server(world, "offline")
    offline.start("--offline")
    cached, message = _activate(world, world.node_locked, "device-1", world.vendor_xml)
    new = _activate(world, world.node_locked, "device-2", world.vendor_xml)

    assert cached is not None, message
    assert new == (None, wire.UNREACHABLE)
    assert WebApiLog.objects.filter(token_id__isnull=False).count() == portal_calls
    assert offline.stats()["journal"]["pending"] == 2
    offline.stop()


def _expired_configuration(world: World) -> str:
    """The vendor's configuration with its end date in the past, properly signed."""
    outer = json.loads(world.configuration_text)
    payload = json.loads(base64.b64decode(outer["configuration"]))
    payload["ValidUntil"] = int(time.time()) - 60
    return configuration_file.build_file(
        payload, lambda data: signing.sign(world.vendor_private_key_encrypted, data))


@pytest.mark.parametrize(("configuration", "message"), [
    (lambda w: keys.tamper_configuration(w.configuration_text, FloatingKeys=[
        {"ProductId": w.product.pk, "Key": w.floating.key, "MaxNoOfMachines": 50}]),
     server_configuration.TAMPERED),
    (_expired_configuration, server_configuration.EXPIRED),
], ids=["edited", "expired"])
def test_edited_or_expired_configuration_stops_local_floating(world, configuration, message):
    (world.folder / "issued-configuration.json").write_text(configuration(world))
    server = _license_server(world, configuration="issued-configuration.json", offline=True)
    server.start()

    assert _floating(world, "pc-1") == (None, message)
    server.stop()


def test_tampered_license_file_is_refused(world):

    skm = world.folder / "licenses" / "floating.skm"
    skm.write_bytes(keys.tamper_skm(skm.read_bytes(), MaxNoOfMachines=50))
    server = _license_server(world, offline=True)
    server.start()
    assert _floating(world, "pc-1") == (None, wire.NO_FLOATING_FILE)
    assert server.stats()["license_files"] == []
    server.stop()


def test_the_server_installed_alone_from_its_wheel_relays_an_activate(world, portal, tmp_path):
    """What the customer's IT does: a fresh environment, the wheel from the dashboard, no
    network, cryptography and nothing else (here linked in from this environment)."""
    wheel = LICENSE_SERVER.build(folder=tmp_path / "dist")
    python = standalone_install(tmp_path / "standalone", wheel)
    found = importable(python, ["django", "celery", "torch", "apps", "licensing_portal",
                                "cryptography", "license_server"], cwd=tmp_path)
    assert {name for name, path in found.items() if path} == {"cryptography", "license_server"}
    assert found["license_server"].startswith(str(tmp_path / "standalone" / "venv"))

    portal.start()
    server = _license_server(world, "standalone", command=python.with_name("license-server"))
    server.start()
    activated, message = _activate(world, world.node_locked, "standalone-pc", world.vendor_xml)

    # The client returns a license only when the portal's signature checks out.
    assert activated is not None, message
    assert activated.key == world.node_locked.key
    assert Activation.objects.filter(key=world.node_locked, machine_code="standalone-pc").exists()
    assert server.stats()["journal"]["total"] == 1
    server.stop()
