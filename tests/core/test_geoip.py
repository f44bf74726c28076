"""Country look-ups from an optional MaxMind-format database, on every Web API log path."""

from __future__ import annotations

import netaddr
import pytest
from django.test import Client
from mmdb_writer import MMDBWriter

from apps.audit.log import Actor
from apps.core import geoip
from apps.licensing import fastpath
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_create
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_activation, make_key, make_vendor

SWEDISH = "81.2.69.160"
GERMAN_V6 = "2a02:8070::1"


@pytest.fixture
def geoip_database(tmp_path, settings):
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    writer.insert_network(netaddr.IPSet(["81.2.69.0/24"]),
                          {"country": {"iso_code": "SE"}})
    writer.insert_network(netaddr.IPSet(["2a02:8070::/32"]),
                          {"registered_country": {"iso_code": "DE"}})
    path = tmp_path / "countries.mmdb"
    writer.to_db_file(str(path))
    settings.GEOIP_DATABASE = str(path)
    geoip.reset()
    yield path
    geoip.reset()


def test_country_of_an_address(geoip_database):
    assert geoip.configured()
    assert geoip.country_of(SWEDISH) == "SE"
    assert geoip.country_of(GERMAN_V6) == "DE"  # registered country when no country
    for unknown in ("8.8.8.8", "10.0.0.1", "127.0.0.1", "not an ip", "", None):
        assert geoip.country_of(unknown) == ""


def test_without_a_database_every_country_is_empty(settings):
    settings.GEOIP_DATABASE = ""
    geoip.reset()
    assert not geoip.configured() and geoip.country_of(SWEDISH) == ""


def test_an_unreadable_database_is_logged_and_ignored(settings, tmp_path, caplog):
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    settings.GEOIP_DATABASE = str(broken)
    geoip.reset()
    assert geoip.country_of(SWEDISH) == ""
    assert "cannot be opened" in caplog.text
    geoip.reset()


@pytest.mark.parametrize("fast", [True, False])
def test_api_calls_are_logged_with_the_callers_country(geoip_database, db, monkeypatch, fast):
    if not fast:
        monkeypatch.setattr(fastpath, "available", lambda: False)
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=2)
    make_activation(key, "pc-1")
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)

    for machine in ("pc-1", "pc-2"):  # existing device (fast path on PostgreSQL), new device
        body = Client(REMOTE_ADDR=SWEDISH).post("/api/key/Activate", {
            "token": token, "ProductId": product.pk, "Key": key.key, "MachineCode": machine,
        }).json()
        assert body["result"] == 0, body

    assert list(WebApiLog.objects.values_list("country", flat=True)) == ["SE", "SE"]
