"""Usage reports: each figure against a small log counted by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.licensing.models import LicenseKey
from apps.reports.usage import (
    Scope,
    activations_by_country,
    active_devices,
    end_users,
    new_keys,
    top_failing_keys,
    verification_by_key,
)
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_key, make_vendor

NOV = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def day(n: int, hour: int = 12) -> dt.datetime:
    return NOV + dt.timedelta(days=n - 1, hours=hour)


def _key(product, created: dt.datetime, **spec):
    key = make_key(product, **spec)
    LicenseKey.objects.filter(pk=key.pk).update(created=created)
    return key


@pytest.fixture
def world(db):
    vendor = make_vendor("Reporter")
    product = ProductFactory(vendor=vendor)
    k1 = _key(product, day(1), max_no_of_machines=5)
    k2 = _key(product, day(2), max_no_of_machines=5)
    old = _key(product, NOV - dt.timedelta(days=40))
    other_product = ProductFactory(vendor=vendor)
    k3 = _key(other_product, day(3))

    def log(key, when, state, machine="", country="", ip="192.0.2.1", product_id=None):
        WebApiLog.objects.create(vendor=vendor, time=when, state=state, machine_code=machine,
                                 product_id=product_id or key.product_id, key=key.key,
                                 country=country, ip=ip, method="key.Activate")

    log(k1, day(1), 2011, "m1", "SE")
    log(k1, day(1, 13), 2010, "m1", "SE")  # same device again: still one
    log(k1, day(1), 2011, "m2", "DE")
    log(k2, day(1), 2011, "m1", "SE")  # same machine code, other key: another end user
    log(k1, day(2), 2010, "m1", "SE")
    log(k1, day(2), 1010)  # GetKey: a verification, not a device
    log(k1, day(2), 2021, "m3", "US")  # refused: limit reached
    log(k2, day(2), 1020)
    log(k2, day(2), 1020)
    log(k3, day(2), 2011, "m9")  # other product, no country
    bogus = type("K", (), {"key": "AAAAA-BBBBB-CCCCC-DDDDD", "product_id": product.pk})
    for ip in ("203.0.113.1", "203.0.113.1", "203.0.113.2"):
        log(bogus, day(2), 2020, "guess", ip=ip)  # a guessed key that does not exist
    log(k1, NOV + dt.timedelta(days=31), 2011, "m5")  # December: outside November
    return vendor, product, (k1, k2, k3, old)


def _scope(world, **kwargs) -> Scope:
    vendor = world[0]
    return Scope(vendor=vendor, start=NOV, end=NOV + dt.timedelta(days=30), **kwargs)


def test_active_devices_per_day_and_per_key(world):
    _vendor, product, (k1, *_rest) = world

    assert active_devices(_scope(world)) == {day(1).date(): 2, day(2).date(): 2}
    assert active_devices(_scope(world, product_id=product.pk)) == {
        day(1).date(): 2, day(2).date(): 1}
    assert active_devices(_scope(world, keys=[(k1.product_id, k1.key)])) == {
        day(1).date(): 2, day(2).date(): 1}


def test_end_users_are_key_and_machine_pairs_per_month(world):
    assert end_users(_scope(world)) == {NOV.date(): 4}  # k1/m1, k1/m2, k2/m1, k3/m9


def test_new_keys_per_month(world):
    assert new_keys(_scope(world)) == {NOV.date(): 3}


def test_verification_success_ratio_per_key(world):
    _vendor, _product, (k1, k2, k3, _old) = world
    by_key = {row["key"]: row for row in verification_by_key(_scope(world))}

    assert (by_key[k1.key]["total"], by_key[k1.key]["ok"]) == (6, 5)
    assert by_key[k1.key]["ratio"] == pytest.approx(5 / 6)
    assert (by_key[k2.key]["ok"], by_key[k2.key]["failed"]) == (1, 2)
    assert "AAAAA-BBBBB-CCCCC-DDDDD" not in by_key  # unknown keys: see top_failing_keys
    assert [row["key"] for row in verification_by_key(_scope(world))] == [k2.key, k1.key, k3.key]


def test_top_failing_keys_include_unknown_keys(world):
    _vendor, _product, (k1, k2, *_rest) = world
    rows = top_failing_keys(_scope(world))

    assert [(r["key"], r["failed"], r["known"]) for r in rows] == [
        ("AAAAA-BBBBB-CCCCC-DDDDD", 3, False), (k2.key, 2, True), (k1.key, 1, True)]
    assert rows[0]["ips"] == 2


def test_activations_by_country(world):
    assert activations_by_country(_scope(world)) == [("SE", 4), ("DE", 1), ("", 1)]
