"""Changes to data objects a license server recorded offline, applied by the portal when the
server uploads its journal: through the data-object service, exactly once (a retried upload
adds nothing), only for keys the configuration covers, never to another vendor's object."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from django.utils import timezone
from license_server import configuration as server_configuration
from license_server import wire

from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.license_server.models import UploadedRecord
from apps.license_server.services import license_server_configuration_create
from apps.license_server.uploads import license_server_upload
from apps.licensing import signing
from apps.licensing.models import DataObject
from apps.licensing.services import data_object_change_int
from apps.usage.models import WebApiLog

URL = "/api/license-server/upload-log"
INCREMENT, DECREMENT = "data.incrementintvaluetokey", "data.decrementintvaluetokey"


@pytest.fixture
def token(tenant) -> str:
    _, text = license_server_configuration_create(
        vendor=tenant.vendor, actor=Actor.for_user(tenant.owner), name="Site",
        valid_until=timezone.now() + dt.timedelta(days=30))
    vendor_xml = signing.public_key_xml(tenant.vendor.signing_key.public_key_pem)
    return server_configuration.parse(text, vendor_public_key_xml=vendor_xml).upload_token


def _change(tenant, delta: int, *, data_object: DataObject | None = None, **changes) -> dict:
    """A journal record as the license server writes it for a change it made offline."""
    obj = data_object or tenant.data_object
    return {"Id": uuid.uuid4().hex, "Time": time.time() - 60,
            "Method": INCREMENT if delta >= 0 else DECREMENT, "ProductId": tenant.product.pk,
            "Key": tenant.key.key, "MachineCode": "", "FriendlyName": "", "IP": "10.1.2.3",
            "State": 8010, "FloatingExpires": None, "Source": "local", "UserAgent": "py",
            "Usage": {"DataObjectId": obj.pk, "Name": obj.name, "Delta": delta}, **changes}


def _upload(client, token: str, records: list[dict]) -> dict:
    return client.post(URL, {"token": token, "Records": json.dumps(records)}).json()


def _value(obj: DataObject) -> int:
    return DataObject.objects.get(pk=obj.pk).int_value


def test_offline_changes_are_applied_and_logged(client, tenant, token):
    start = tenant.data_object.int_value

    answer = _upload(client, token, [_change(tenant, 5), _change(tenant, -2)])

    assert answer == {"stored": 2, "duplicates": 0, "refused": 0, "result": 0, "message": ""}
    assert _value(tenant.data_object) == start + 3
    rows = WebApiLog.objects.filter(vendor=tenant.vendor).order_by("id")
    assert [(r.method, r.state, r.do_id, r.do_int_value) for r in rows] == [
        ("data.IncrementIntValueToKey", 8010, tenant.data_object.pk, start + 5),
        ("data.DecrementIntValueToKey", 8010, tenant.data_object.pk, start + 3)]


def test_a_retried_upload_applies_nothing_twice(client, tenant, token):
    start = tenant.data_object.int_value
    first, second = _change(tenant, 5), _change(tenant, 1)
    _upload(client, token, [first])  # the portal applied it; its answer was lost

    answer = _upload(client, token, [first, second, second])

    assert (answer["stored"], answer["duplicates"]) == (1, 2)
    assert _value(tenant.data_object) == start + 6
    assert WebApiLog.objects.filter(vendor=tenant.vendor).count() == 2


def test_the_service_reports_what_it_applied(tenant, token):
    gone = DataObject.objects.create(key=tenant.key, name="gone", int_value=0)
    records = [_change(tenant, 2), _change(tenant, 1, data_object=gone)]
    gone.delete()

    result = license_server_upload(token=token, records_text=json.dumps(records))

    assert (result.stored, result.usage_applied, result.usage_failed) == (2, 1, 1)


def test_a_change_the_portal_cannot_make_is_logged_as_failed_and_not_retried(client, tenant,
                                                                           token):
    start = tenant.data_object.int_value
    removed = DataObject.objects.create(key=tenant.key, name="removed", int_value=0)
    lost = _change(tenant, 4, data_object=removed)
    removed.delete()
    overflow = _change(tenant, 2**63 - 1)

    answer = _upload(client, token, [lost, overflow, _change(tenant, 1)])
    again = _upload(client, token, [lost, overflow])

    assert answer["stored"] == 3
    assert again["duplicates"] == 2
    assert _value(tenant.data_object) == start + 1
    assert sorted(WebApiLog.objects.values_list("state", flat=True)) == [8010, 8020, 8020]


def test_the_bound_is_not_applied_again_on_upload(client, tenant, token):
    """The device was told the change succeeded (the license server checked the bound
    against the value it knew) and has used it; Cryptolens' offline log keeps no bound."""
    DataObject.objects.filter(pk=tenant.data_object.pk).update(int_value=100)

    _upload(client, token, [_change(tenant, 5, Usage={
        "DataObjectId": tenant.data_object.pk, "Name": "usage", "Delta": 5,
        "Bound": 100})])

    assert _value(tenant.data_object) == 105


def test_another_vendors_data_object_is_never_changed(client, tenant, other_tenant, token):
    theirs = other_tenant.data_object
    start = theirs.int_value
    # Their object's id on our key, and their key outright.
    records = [_change(tenant, 7, data_object=theirs),
               _change(tenant, 7, data_object=theirs, ProductId=other_tenant.product.pk,
                       Key=other_tenant.key.key)]

    answer = _upload(client, token, records)

    assert (answer["stored"], answer["refused"]) == (1, 1)
    assert _value(theirs) == start
    assert WebApiLog.objects.get(vendor=tenant.vendor).state == 8020
    assert not WebApiLog.objects.filter(vendor=other_tenant.vendor).exists()


@pytest.mark.parametrize("usage", [
    None,
    {"DataObjectId": "1", "Delta": 1},
    {"DataObjectId": 1, "Delta": True},
    {"DataObjectId": 0, "Delta": 1},
    {"DataObjectId": 1},
    "wrong-sign",
], ids=["missing", "string-id", "bool-delta", "zero-id", "no-delta", "wrong-sign"])
def test_a_malformed_change_refuses_the_batch_and_applies_nothing(client, tenant, token,
                                                                  usage):
    start = tenant.data_object.int_value
    bad = _change(tenant, 3)
    if usage == "wrong-sign":  # a decrement that would add
        bad["Method"] = DECREMENT
    elif usage is None:
        del bad["Usage"]
    else:
        bad["Usage"] = usage

    answer = _upload(client, token, [_change(tenant, 1), bad])

    assert answer == {"result": 1, "message": "The input parameters were incorrect."}
    assert _value(tenant.data_object) == start
    assert not WebApiLog.objects.exists()
    assert not UploadedRecord.objects.exists()


def test_a_failed_change_recorded_offline_is_only_logged(client, tenant, token):
    start = tenant.data_object.int_value
    refused = _change(tenant, 3, State=8020)  # e.g. past the bound, refused by the server
    del refused["Usage"]

    answer = _upload(client, token, [refused])

    assert answer["stored"] == 1
    assert _value(tenant.data_object) == start


def test_the_servers_bound_message_is_the_portals(tenant):
    """Offline, the license server refuses a change past its bound with the portal's words."""
    with pytest.raises(DomainError) as refused:
        data_object_change_int(data_object=tenant.data_object, actor=Actor.for_system(),
                               delta=1, bound=tenant.data_object.int_value)

    assert refused.value.message == wire.BOUND_REACHED


def test_an_upload_tells_the_vendors_webhooks(tenant, token, settings):
    from apps.audit.log import Actor
    from apps.webhooks.models import WebhookEvent
    from apps.webhooks.services import endpoint_create

    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint_create(vendor=tenant.vendor, actor=Actor.for_system("test"),
                    url="http://127.0.0.1:9/hook", events=["license_server.upload_received"])
    license_server_upload(token=token, records_text=json.dumps([_change(tenant, 5)]))

    data = WebhookEvent.objects.get(type="license_server.upload_received").payload["data"]
    assert (data["object"]["Stored"], data["object"]["UsageApplied"]) == (1, 1)
