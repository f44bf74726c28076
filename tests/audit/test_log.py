import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.log import Actor, diff, log_change, snapshot
from apps.audit.models import AppendOnlyError, ObjectLogEntry
from apps.licensing import services

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger exists on PostgreSQL only",
)


@pytest.fixture
def entry(tenant):
    return log_change(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner), obj=tenant.key,
                      action="noted", changes={"notes": ["a", "b"]})


def test_log_entry_records_actor_object_and_changes(tenant, entry):
    stored = ObjectLogEntry.objects.get(pk=entry.pk)
    assert (stored.actor_type, stored.actor_id, stored.actor_label) == (
        "user", tenant.owner.pk, tenant.owner.email)
    assert (stored.object_type, stored.object_id, stored.object_repr) == (
        "licensing.licensekey", str(tenant.key.pk), tenant.key.key)
    assert stored.changes == {"notes": ["a", "b"]}
    assert ObjectLogEntry.objects.for_object(tenant.key).first() == stored
    assert not ObjectLogEntry.objects.for_object(tenant.product).filter(pk=stored.pk).exists()


def test_actor_labels_for_token_and_system(tenant):
    token, _ = services.token_create(vendor=tenant.vendor, actor=Actor.for_system(),
                                     name="ci", permissions=["key.GetKey"])
    by_token = log_change(vendor=tenant.vendor, actor=Actor.for_token(token), obj=tenant.key,
                          action="x")
    by_system = log_change(vendor=tenant.vendor, actor=Actor.for_system("cron"),
                           obj=tenant.key, action="x")
    assert (by_token.actor_type, by_token.actor_id, by_token.actor_label) == (
        "token", token.pk, "token: ci")
    assert (by_system.actor_type, by_system.actor_id, by_system.actor_label) == (
        "system", None, "cron")


def test_snapshot_and_diff_give_changed_fields_only(tenant):
    before = snapshot(tenant.key, ["notes", "block", "expires", "customer"])
    logged_expiry = dt.datetime.fromisoformat(before["expires"])
    assert abs(logged_expiry - tenant.key.expires) < dt.timedelta(seconds=1)
    assert before["customer"] == str(tenant.customer)
    after = {**before, "block": True}
    assert diff(before, after) == {"block": [False, True]}


def test_saving_a_log_entry_again_is_refused(entry):
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    fetched = ObjectLogEntry.objects.get(pk=entry.pk)
    fetched.actor_label = "someone else"
    with pytest.raises(AppendOnlyError):
        fetched.save()
    assert ObjectLogEntry.objects.get(pk=entry.pk).action == "noted"
    assert ObjectLogEntry.objects.get(pk=entry.pk).actor_label != "someone else"


def test_deleting_a_log_entry_is_refused(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        ObjectLogEntry.objects.get(pk=entry.pk).delete()
    assert ObjectLogEntry.objects.filter(pk=entry.pk).exists()


@needs_postgres
def test_raw_sql_update_is_refused_by_the_database(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE licensing_objectlogentry SET action = 'forged' WHERE id = %s",
                       [entry.pk])
    assert ObjectLogEntry.objects.get(pk=entry.pk).action == "noted"


@needs_postgres
def test_raw_sql_delete_is_refused_by_the_database(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM licensing_objectlogentry WHERE id = %s", [entry.pk])
    assert ObjectLogEntry.objects.filter(pk=entry.pk).exists()


@needs_postgres
def test_queryset_update_and_delete_are_refused_by_the_database(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ObjectLogEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ObjectLogEntry.objects.filter(pk=entry.pk).delete()
    assert ObjectLogEntry.objects.get(pk=entry.pk).action == "noted"
