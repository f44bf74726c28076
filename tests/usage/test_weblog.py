"""web_api_log_write: every field of the call's record reaches its log row, on PostgreSQL
through a prepared statement (apps.core.pipeline), elsewhere through the ORM."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.usage.models import WebApiLog
from apps.usage.weblog import CallRecord, web_api_log_write
from tests.factories import make_vendor

pytestmark = pytest.mark.django_db(transaction=True)


def _record(vendor_id: int, **changes) -> CallRecord:
    values = dict(
        vendor_id=vendor_id, method="key.Activate" + "x" * 80, state=2013, token_id=7,
        product_id=11, key="K" * 70, ip="2001:db8::1", machine_code="m" * 140,
        friendly_name="Ünïcode PC ✓" + "f" * 300,
        floating_expires=dt.datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        user_agent="ua" * 200, do_int_value=-(2**62), do_id=2**40, country="SE")
    values.update(changes)
    return CallRecord(**values)


def test_every_field_of_the_record_is_stored_as_given_cut_to_its_column():
    vendor = make_vendor()
    before = timezone.now()

    web_api_log_write(_record(vendor.pk))

    row = WebApiLog.objects.get()
    assert (row.vendor_id, row.state, row.token_id, row.product_id) == (vendor.pk, 2013, 7, 11)
    assert row.method == ("key.Activate" + "x" * 80)[:64]
    assert (row.key, row.machine_code) == ("K" * 64, "m" * 128)
    assert row.friendly_name == ("Ünïcode PC ✓" + "f" * 300)[:255]
    assert row.user_agent == ("ua" * 200)[:255]
    assert row.ip == "2001:db8::1"
    assert row.floating_expires == dt.datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    assert (row.do_int_value, row.do_id, row.country) == (-(2**62), 2**40, "SE")
    assert before <= row.time <= timezone.now()
    assert row.source_id is None


def test_empty_values_are_stored_as_nulls_and_the_country_looked_up():
    vendor = make_vendor()

    web_api_log_write(CallRecord(vendor_id=vendor.pk, method="key.GetKey", state=1011))

    row = WebApiLog.objects.get()
    assert (row.token_id, row.product_id, row.ip, row.floating_expires) == (None,) * 4
    assert (row.do_int_value, row.do_id, row.key, row.country) == (None, None, "", "")


def test_inside_a_transaction_the_row_goes_with_it():
    vendor = make_vendor()

    with pytest.raises(RuntimeError), transaction.atomic():
        web_api_log_write(_record(vendor.pk))
        assert WebApiLog.objects.count() == 1  # visible inside, before the commit
        raise RuntimeError("the change fails")

    assert not WebApiLog.objects.exists()
    web_api_log_write(_record(vendor.pk))
    assert WebApiLog.objects.count() == 1
    assert connection.in_atomic_block is False


def test_a_deleted_vendors_rows_go_with_it_and_no_other_vendors():
    # The log's vendor column has no constraint in the database (a check per row written);
    # deleting a vendor still deletes its rows, through the ORM.
    gone, kept = make_vendor(), make_vendor()
    for vendor in (gone, kept, gone):
        web_api_log_write(_record(vendor.pk))

    gone.delete()

    assert list(WebApiLog.objects.values_list("vendor_id", flat=True)) == [kept.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
def test_writing_a_log_row_takes_no_lock_on_the_vendors_row():
    # A foreign key would have the row's transaction hold KEY SHARE on the vendor's row:
    # every concurrent call of the vendor would share that lock, and a change of the vendor
    # (FOR UPDATE) would wait for all of them.
    vendor = make_vendor()
    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                            password=settings["PASSWORD"], host=settings["HOST"],
                            port=settings["PORT"] or 5432, autocommit=True)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:  # deferred checks would lock at the commit
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            web_api_log_write(_record(vendor.pk))
            row = other.execute("SELECT id FROM accounts_vendor WHERE id = %s FOR UPDATE NOWAIT",
                                [vendor.pk]).fetchone()
            assert row == (vendor.pk,)
    finally:
        other.close()
