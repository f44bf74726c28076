"""The customer-wide device cap (Cryptolens' MaxNoOfDevices): a customer's keys together never
hold more node-locked devices than the cap, whichever key a new device activates on."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.models import Activation, Customer, LicenseKey
from apps.licensing.services.seats import LIMIT_REACHED, Device, key_activate, key_deactivate

from ..factories import CustomerFactory, ProductFactory, make_key, make_vendor


def _capped_customer(cap: int = 3) -> tuple[Customer, LicenseKey, LicenseKey]:
    vendor = make_vendor("Cap vendor")
    customer = CustomerFactory(vendor=vendor, max_no_of_devices=cap)
    first = make_key(ProductFactory(vendor=vendor), customer=customer, max_no_of_machines=5)
    second = make_key(ProductFactory(vendor=vendor), customer=customer, max_no_of_machines=5)
    return customer, first, second


def _activate(key: LicenseKey, machine_code: str) -> None:
    key_activate(key=LicenseKey.objects.select_related("product__vendor").get(pk=key.pk),
                 device=Device(machine_code))


def test_activations_beyond_the_cap_fail_across_all_of_the_customers_keys(db):
    customer, first, second = _capped_customer(3)
    _activate(first, "pc-1")
    _activate(first, "pc-2")
    _activate(second, "pc-3")

    for key in (first, second):
        with pytest.raises(DomainError) as refused:
            _activate(key, "pc-4")
        assert refused.value.message == LIMIT_REACHED

    assert Activation.objects.filter(key__customer=customer).count() == 3
    assert first.activations.count() == 2  # below its own 5 seats: the cap refused it


def test_a_device_already_activated_still_reactivates_at_the_cap(db):
    _, first, second = _capped_customer(2)
    _activate(first, "pc-1")
    _activate(second, "pc-2")

    _activate(first, "pc-1")
    _activate(second, "pc-2")

    assert sorted(Activation.objects.values_list("machine_code", flat=True)) == ["pc-1", "pc-2"]


def test_deactivating_a_device_frees_room_under_the_cap(db):
    _, first, second = _capped_customer(1)
    _activate(first, "pc-1")
    key_deactivate(key=first, machine_code="pc-1", floating=False, actor=Actor.for_system())

    _activate(second, "pc-2")

    assert list(Activation.objects.values_list("machine_code", flat=True)) == ["pc-2"]


def test_a_cap_of_zero_means_no_cap(db):
    customer, first, _ = _capped_customer(0)
    for n in range(5):
        _activate(first, f"pc-{n}")
    assert Activation.objects.filter(key__customer=customer).count() == 5


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs PostgreSQL row locks: set DATABASE_URL=postgres://... to run")
def test_parallel_activations_on_two_keys_never_exceed_the_cap(transactional_db):
    """Each key is locked on its own, so only the lock on the customer row keeps two devices
    racing on two different keys from both taking the last place under the cap. Every thread
    has its own database connection; a barrier lets them reach the seat check together.
    Checked: with the customer row read without FOR UPDATE, most rounds give out 4 places."""
    for _ in range(3):
        customer, first, second = _capped_customer(3)
        outcomes = _race(first, second, devices=24)

        assert sorted(set(outcomes)) == sorted({"ok", LIMIT_REACHED})
        assert outcomes.count("ok") == 3
        assert Activation.objects.filter(key__customer=customer).count() == 3


def _race(first: LicenseKey, second: LicenseKey, *, devices: int) -> list[str]:
    barrier = threading.Barrier(devices)

    def activate(n: int) -> str:
        try:
            key = LicenseKey.objects.select_related("product__vendor").get(
                pk=(first, second)[n % 2].pk)
            barrier.wait(timeout=30)
            key_activate(key=key, device=Device(f"{first.pk}-pc-{n}"))
            return "ok"
        except DomainError as error:
            return error.message
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=devices) as pool:
        return list(pool.map(activate, range(devices)))
