"""Every licensing change a vendor may want to hear of records one webhook event, in its own
transaction, with the object as the Web API shows it; nothing is recorded for a vendor whose
endpoints do not want the event, and another vendor's endpoints hear nothing."""

from __future__ import annotations

import pytest

from apps.audit.log import Actor
from apps.licensing import services
from apps.licensing.services.activations import activation_release
from apps.licensing.services.admission import SeatRefused
from apps.licensing.services.catalog import customer_create
from apps.licensing.services.seats import Device, key_activate, key_deactivate
from apps.webhooks.models import WebhookDelivery, WebhookEvent
from apps.webhooks.services import EVENT_TYPES, endpoint_create
from tests.factories import ProductFactory, make_key, make_vendor

SYSTEM = Actor.for_system("test")


@pytest.fixture
def product(db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    vendor = make_vendor("Hooked vendor")
    endpoint_create(vendor=vendor, actor=SYSTEM, url="http://127.0.0.1:9/hook",
                    events=[t for t in EVENT_TYPES if t != "webhook.test"])
    return ProductFactory(vendor=vendor)


def _types() -> list[str]:
    return list(WebhookEvent.objects.order_by("id").values_list("type", flat=True))


def test_key_lifecycle_events_carry_the_license_key_as_the_api_shows_it(product):
    key = make_key(product, max_no_of_machines=2)
    services.key_update(key=key, actor=SYSTEM, notes="VIP")
    services.key_set_blocked(key=key, actor=SYSTEM, blocked=True)
    services.key_set_blocked(key=key, actor=SYSTEM, blocked=False)
    services.key_extend(key=key, actor=SYSTEM, days=30)

    assert _types() == ["key.created", "key.changed", "key.blocked", "key.unblocked",
                        "key.extended"]
    blocked = WebhookEvent.objects.get(type="key.blocked").payload
    assert blocked["type"] == "key.blocked" and blocked["id"].startswith("evt_")
    assert blocked["vendor"] == product.vendor_id
    obj = blocked["data"]["object"]
    assert (obj["Key"], obj["ProductId"], obj["Block"], obj["MaxNoOfMachines"]) == (
        key.key, product.pk, True, 2)
    assert WebhookEvent.objects.get(type="key.changed").payload["data"]["object"]["Notes"] \
        == "VIP"
    assert WebhookDelivery.objects.filter(status="pending").count() == 5


def test_device_events_node_locked_and_floating(product):
    key = make_key(product, max_no_of_machines=1)
    key_activate(key=key, device=Device("pc-1", friendly_name="alice"))
    key_deactivate(key=key, machine_code="pc-1", floating=False, actor=SYSTEM)
    key_activate(key=key, device=Device("pc-2"), floating_interval=100, max_overdraft=1)
    key_activate(key=key, device=Device("pc-3"), floating_interval=100, max_overdraft=1)
    with pytest.raises(SeatRefused):
        key_activate(key=key, device=Device("pc-4"), floating_interval=100, max_overdraft=1)

    assert _types()[1:] == ["device.activated", "device.deactivated", "device.activated",
                            "device.activated", "floating.overdraft_used",
                            "floating.limit_reached"]
    first = WebhookEvent.objects.filter(type="device.activated").order_by("id").first()
    assert first.payload["data"]["object"]["FriendlyName"] == "alice"


def test_releasing_a_device_from_the_portal_is_a_deactivation(product):
    key = make_key(product, max_no_of_machines=1)
    result = key_activate(key=key, device=Device("pc-1"))
    assert result.activation is not None
    activation_release(activation=result.activation, actor=SYSTEM)
    assert _types()[-1] == "device.deactivated"


def test_customer_created(product):
    customer_create(vendor=product.vendor, actor=SYSTEM, name="Ann", email="ann@example.org")
    event = WebhookEvent.objects.get(type="customer.created")
    assert event.payload["data"]["object"]["Email"] == "ann@example.org"


def test_nothing_is_recorded_for_events_no_endpoint_wants(db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    vendor = make_vendor("Picky vendor")
    endpoint_create(vendor=vendor, actor=SYSTEM, url="http://127.0.0.1:9/hook",
                    events=["key.blocked"])
    other = make_vendor("Quiet vendor")
    key = make_key(ProductFactory(vendor=vendor))
    make_key(ProductFactory(vendor=other))
    services.key_update(key=key, actor=SYSTEM, notes="x")

    assert _types() == []
    services.key_set_blocked(key=key, actor=SYSTEM, blocked=True)
    assert _types() == ["key.blocked"]
    assert WebhookEvent.objects.get().vendor == vendor


def test_a_reseller_issuing_a_key_says_who_issued_it(product):
    from apps.licensing.services.resellers import (
        reseller_add,
        reseller_issue_key,
        right_grant,
        template_create,
    )

    template = template_create(product=product, actor=SYSTEM, name="Basic", period=30)
    reseller = reseller_add(vendor=product.vendor, actor=SYSTEM, name="Acme Resale")
    right = right_grant(reseller=reseller, template=template, quota=2, actor=SYSTEM)
    key = reseller_issue_key(right=right, actor=SYSTEM)

    event = WebhookEvent.objects.get(type="reseller.key_issued")
    obj = event.payload["data"]["object"]
    assert obj["Key"] == key.key
    assert obj["IssuedBy"] == {"ResellerId": reseller.pk, "Name": "Acme Resale",
                               "Template": "Basic"}
