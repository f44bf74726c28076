"""Permission-matrix rows for Settings, Webhooks: endpoints (add, edit, rotate the secret,
remove) and an endpoint's deliveries (resend one, resend since a time, send a test event)."""

from __future__ import annotations

from apps.audit.log import Actor
from apps.webhooks.models import WebhookEndpoint
from apps.webhooks.services import endpoint_create, send_test_event
from tests.matrix import LOGIN

from .vendor_matrix import (
    NOT_ALLOWED,
    READ_OBJECT,
    WRITE_OBJECT_PAGE,
    WRITE_OBJECT_POST,
    WRITE_PAGE,
    Row,
    World,
)

# A public address literal: checked without a DNS look-up.
URL = "https://93.184.216.34/hooks"
# The secret is shown on the answer itself (200), never after a redirect.
SECRET_SHOWN = (LOGIN, 200, 200, 403, 200)
SECRET_SHOWN_OBJECT = (LOGIN, 200, 200, 403, 404)


def _endpoint(w: World) -> WebhookEndpoint:
    """An endpoint of the tenant (made once, outside the rolled-back requests)."""
    return WebhookEndpoint.objects.filter(vendor=w.tenant.vendor).first() or endpoint_create(
        vendor=w.tenant.vendor, actor=Actor.for_system("matrix"), url=URL,
        events=["key.created", "webhook.test"])[0]


def _endpoint_id(w: World) -> dict:
    return {"endpoint_id": _endpoint(w).pk}


def _delivery(w: World) -> dict:
    endpoint = _endpoint(w)
    delivery = endpoint.deliveries.first()
    if delivery is None:
        send_test_event(endpoint=endpoint, actor=Actor.for_system("matrix"))
        delivery = endpoint.deliveries.get()
    return {"endpoint_id": endpoint.pk, "delivery_id": delivery.pk}


def _form_data(w: World) -> dict:
    return {"url": URL, "description": "Matrix", "events": ["key.created"], "enabled": "on"}


ROWS: dict[str, Row] = {
    "webhook_endpoint_list": Row(),
    "webhook_endpoint_create": Row(get=WRITE_PAGE, post=SECRET_SHOWN, data=_form_data),
    "webhook_endpoint_edit": Row(kwargs=_endpoint_id, get=WRITE_OBJECT_PAGE,
                                 post=WRITE_OBJECT_POST, data=_form_data),
    "webhook_endpoint_rotate": Row(kwargs=_endpoint_id, get=WRITE_OBJECT_PAGE,
                                   post=SECRET_SHOWN_OBJECT,
                                   data=lambda w: {"overlap_hours": 24}),
    "webhook_endpoint_remove": Row(kwargs=_endpoint_id, get=NOT_ALLOWED,
                                   post=WRITE_OBJECT_POST),
    "webhook_delivery_list": Row(kwargs=_endpoint_id, get=READ_OBJECT),
    "webhook_resend": Row(kwargs=_delivery, get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
    "webhook_resend_since": Row(kwargs=_endpoint_id, get=NOT_ALLOWED, post=WRITE_OBJECT_POST,
                                data=lambda w: {"since": "2020-01-01T00:00"}),
    "webhook_test_event": Row(kwargs=_endpoint_id, get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
}
