"""What a seat change locks, on PostgreSQL: the key's row, for as long as its transaction runs
(so that two devices racing for the last seat are decided one after the other), and nothing of
the key's product or vendor. A lock on the vendor's row would make every activation,
deactivation and object-log entry of the vendor (an insert that checks its vendor, FOR KEY
SHARE) wait for each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.db import connection, transaction

from apps.audit.log import Actor
from apps.licensing.services.seats import Device, key_activate, key_deactivate
from tests.factories import ProductFactory, make_activation, make_key

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
]


@pytest.fixture
def other() -> Iterator[psycopg.Connection]:
    """A second session, as another request's would be."""
    settings = connection.settings_dict
    session = psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                              password=settings["PASSWORD"], host=settings["HOST"],
                              port=settings["PORT"] or 5432, autocommit=True)
    yield session
    session.close()


def _can_lock(session: psycopg.Connection, table: str, row_id: int, mode: str) -> bool:
    try:
        session.execute(f"SELECT id FROM {table} WHERE id = %s FOR {mode} NOWAIT",
                        [row_id]).fetchone()
    except psycopg.errors.LockNotAvailable:
        return False
    return True


def _deactivate(key, code: str) -> None:
    key_deactivate(key=key, machine_code=code, floating=False, actor=Actor.for_system("t"))


def _activate_new(key, code: str) -> None:
    key_activate(key=key, device=Device(code))


def _take_floating(key, code: str) -> None:
    key_activate(key=key, device=Device(code), floating_interval=60)


@pytest.mark.parametrize("change", [_deactivate, _activate_new, _take_floating],
                         ids=["deactivate", "new device", "new floating seat"])
def test_a_seat_change_locks_its_key_and_neither_its_product_nor_its_vendor(
        other: psycopg.Connection, change: Callable) -> None:
    product = ProductFactory()
    key = make_key(product, max_no_of_machines=5)
    make_activation(key, "m-1")
    key.product = product  # as the Web API loads it

    with transaction.atomic():
        change(key, "m-1" if change is _deactivate else "m-2")

        assert not _can_lock(other, "licensing_licensekey", key.pk, "UPDATE")
        # What another activation's or deactivation's writes of the same vendor need.
        assert _can_lock(other, "licensing_product", product.pk, "KEY SHARE")
        assert _can_lock(other, "accounts_vendor", product.vendor_id, "KEY SHARE")
        assert _can_lock(other, "licensing_product", product.pk, "NO KEY UPDATE")
    assert _can_lock(other, "licensing_licensekey", key.pk, "UPDATE")
