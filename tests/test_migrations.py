"""The split of apps.licensing (issue #15) moved models between apps without moving data: a
database filled at the schema before the split is migrated, and every row is still there, read
through the models' new homes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

# The last migrations before the split; audit and usage did not exist.
BEFORE_SPLIT = [("accounts", "0003_resellers"), ("licensing", "0014_webapilog_source_id"),
                ("audit", None), ("usage", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _fill(old) -> dict:
    """One row of every moved model (and what they point at), made with the old models."""
    now = timezone.now().replace(microsecond=0)
    user = old.get_model("accounts", "User").objects.create(username="u1", email="u1@x.test")
    vendor = old.get_model("accounts", "Vendor").objects.create(name="Before the split")
    customer = old.get_model("licensing", "Customer").objects.create(vendor=vendor, name="Acme")
    membership = old.get_model("accounts", "CustomerMembership").objects.create(
        customer=customer, user=user, can_manage_activations=True)
    link = old.get_model("accounts", "PortalLink").objects.create(
        vendor=vendor, customer=customer, token_hash="a" * 64, name="Invite")
    log = old.get_model("licensing", "WebApiLog").objects.create(
        vendor=vendor, time=now, product_id=7, key="KEY-1", state=2011, method="key.Activate",
        machine_code="pc-1", country="SE", source_id=123)
    event = old.get_model("licensing", "Event").objects.create(
        vendor=vendor, time=now, product_id=7, key="KEY-1", event_name="opened", value=3)
    session = old.get_model("licensing", "FloatingSession").objects.create(
        vendor=vendor, product_id=7, key="KEY-1", machine_code="pc-1", start_t=10, end_t=20)
    progress = old.get_model("licensing", "ReportProgress").objects.create(
        vendor=vendor, floating_log_id=log.pk)
    entries = old.get_model("licensing", "ObjectLogEntry").objects
    link_entry = entries.create(vendor=vendor, time=now, actor_type="system", actor_label="s",
                                object_type="accounts.portallink", object_id=str(link.pk),
                                object_repr="Invite", action="created")
    key_entry = entries.create(vendor=vendor, time=now, actor_type="system", actor_label="s",
                               object_type="licensing.customer", object_id=str(customer.pk),
                               object_repr="Acme", action="created")
    return {"user": user.pk, "vendor": vendor.pk, "customer": customer.pk,
            "membership": membership.pk, "link": link.pk, "log": log.pk, "event": event.pk,
            "session": session.pk, "progress": progress.pk, "link_entry": link_entry.pk,
            "key_entry": key_entry.pk, "now": now}


@pytest.mark.django_db(transaction=True)
def test_every_row_survives_the_split_of_the_licensing_app():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    ids = _fill(_migrate(BEFORE_SPLIT))

    _migrate(latest)

    from apps.audit.models import ObjectLogEntry
    from apps.licensing.models import CustomerMembership, PortalLink
    from apps.usage.models import Event, FloatingSession, ReportProgress, WebApiLog

    log = WebApiLog.objects.get(pk=ids["log"])
    assert (log.vendor_id, log.key, log.state, log.machine_code, log.country, log.source_id,
            log.time) == (ids["vendor"], "KEY-1", 2011, "pc-1", "SE", 123, ids["now"])
    assert Event.objects.get(pk=ids["event"]).value == 3
    assert (FloatingSession.objects.get(pk=ids["session"]).end_t) == 20
    assert ReportProgress.objects.get(pk=ids["progress"]).floating_log_id == ids["log"]
    membership = CustomerMembership.objects.get(pk=ids["membership"])
    assert (membership.customer_id, membership.user_id, membership.can_manage_activations) == \
        (ids["customer"], ids["user"], True)
    link = PortalLink.objects.get(pk=ids["link"])
    assert (link.customer_id, link.name) == (ids["customer"], "Invite")
    # Log entries of a moved model follow its new name; the others are untouched.
    assert ObjectLogEntry.objects.get(pk=ids["link_entry"]).object_type == \
        "licensing.portallink"
    assert ObjectLogEntry.objects.for_object(link).count() == 1
    assert ObjectLogEntry.objects.get(pk=ids["key_entry"]).object_type == "licensing.customer"
    # New rows still get fresh ids after the old ones.
    newer = WebApiLog.objects.create(vendor_id=ids["vendor"], state=1011, method="key.GetKey",
                                     time=ids["now"] + dt.timedelta(seconds=1))
    assert newer.pk > ids["log"]
