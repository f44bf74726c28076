"""Settings, Webhooks: an endpoint's deliveries, resend, and the test event."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.log import Actor
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from apps.webhooks.services import emit, send_test_event

from .webhooks_data import make_endpoint, public_dns  # noqa: F401  (fixture)


def _deliveries_url(endpoint) -> str:
    return reverse("vendor_portal:webhook_delivery_list", args=[endpoint.pk])


def _failed_delivery(endpoint, type: str = "key.created") -> WebhookDelivery:
    event = emit(vendor_id=endpoint.vendor_id, type=type, data=lambda: {"key": "ABCD"})
    assert event is not None
    delivery = event.deliveries.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.FAILED, attempts=7,
        next_attempt_at=timezone.now() + dt.timedelta(hours=6))
    WebhookAttempt.objects.create(delivery=delivery, status_code=500, latency_ms=42,
                                  response_excerpt="<script>alert(1)</script>",
                                  error="")
    return delivery


@pytest.fixture
def endpoint(tenant, public_dns):  # noqa: F811  (the fixture above)
    return make_endpoint(tenant.vendor)[0]


def test_delivery_page_lists_deliveries_and_attempts(endpoint, owner_client):
    delivery = _failed_delivery(endpoint)
    response = owner_client.get(_deliveries_url(endpoint))
    content = response.content.decode()
    assert response.status_code == 200
    assert delivery.event.event_id in content and "key.created" in content
    assert "Gave up" in content and "42 ms" in content and ">500<" in content
    assert reverse("vendor_portal:webhook_resend", args=[endpoint.pk, delivery.pk]) in content


def test_response_excerpts_are_escaped(endpoint, owner_client):
    _failed_delivery(endpoint)
    content = owner_client.get(_deliveries_url(endpoint)).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_deliveries_can_be_filtered_by_status(endpoint, owner_client):
    failed = _failed_delivery(endpoint)
    pending = emit(vendor_id=endpoint.vendor_id, type="key.created", data=dict
                   ).deliveries.get()
    response = owner_client.get(_deliveries_url(endpoint), {"status": "pending"})
    assert [d.pk for d in response.context["page"]] == [pending.pk]
    response = owner_client.get(_deliveries_url(endpoint), {"status": "failed"})
    assert [d.pk for d in response.context["page"]] == [failed.pk]
    response = owner_client.get(_deliveries_url(endpoint), {"status": "nonsense"})
    assert len(response.context["page"]) == 2


def test_deliveries_are_paginated(endpoint, owner_client):
    for _ in range(27):
        emit(vendor_id=endpoint.vendor_id, type="key.created", data=dict)
    first = owner_client.get(_deliveries_url(endpoint))
    assert len(first.context["page"]) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert len(owner_client.get(_deliveries_url(endpoint), {"page": 2}).context["page"]) == 2


def test_read_only_member_sees_deliveries_without_buttons(endpoint, read_only_client):
    delivery = _failed_delivery(endpoint)
    content = read_only_client.get(_deliveries_url(endpoint)).content.decode()
    assert delivery.event.event_id in content
    assert reverse("vendor_portal:webhook_resend", args=[endpoint.pk, delivery.pk]) \
        not in content
    assert reverse("vendor_portal:webhook_test_event", args=[endpoint.pk]) not in content
    response = read_only_client.post(reverse("vendor_portal:webhook_resend",
                                             args=[endpoint.pk, delivery.pk]))
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.FAILED


def test_resend_puts_the_delivery_back_to_pending(endpoint, owner_client):
    delivery = _failed_delivery(endpoint)
    response = owner_client.post(reverse("vendor_portal:webhook_resend",
                                         args=[endpoint.pk, delivery.pk]), follow=True)
    assert response.redirect_chain[-1][0] == _deliveries_url(endpoint)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.PENDING
    assert delivery.next_attempt_at <= timezone.now()
    content = response.content.decode()
    assert f"Event {delivery.event.event_id} queued" in content
    assert "&lt;script&gt;" in content  # the earlier attempt is still listed


def test_resend_of_a_disabled_endpoint_says_why(endpoint, owner_client):
    delivery = _failed_delivery(endpoint)
    endpoint.enabled = False
    endpoint.save()
    response = owner_client.post(reverse("vendor_portal:webhook_resend",
                                         args=[endpoint.pk, delivery.pk]), follow=True)
    assert response.status_code == 200
    assert "Enable the endpoint first." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.FAILED


def test_resend_since_queues_every_event_since_then(endpoint, owner_client):
    old, recent = _failed_delivery(endpoint), _failed_delivery(endpoint)
    WebhookEvent.objects.filter(pk=old.event_id).update(
        created=timezone.now() - dt.timedelta(days=10))
    since = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = owner_client.post(reverse("vendor_portal:webhook_resend_since",
                                         args=[endpoint.pk]), {"since": since}, follow=True)
    assert "1 event queued to be sent again." in response.content.decode()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, recent.status) == (WebhookDelivery.FAILED, WebhookDelivery.PENDING)


def test_resend_since_without_a_time_is_a_message_not_an_error(endpoint, owner_client):
    response = owner_client.post(reverse("vendor_portal:webhook_resend_since",
                                         args=[endpoint.pk]), {"since": "yesterday"},
                                 follow=True)
    assert response.status_code == 200
    assert "Enter the date and time to resend from." in response.content.decode()


def test_resend_of_another_endpoints_delivery_is_404(tenant, endpoint, owner_client):
    other_endpoint = make_endpoint(tenant.vendor, url="https://other.example.com/x")[0]
    delivery = _failed_delivery(other_endpoint)
    response = owner_client.post(reverse("vendor_portal:webhook_resend",
                                         args=[endpoint.pk, delivery.pk]))
    assert response.status_code == 404


def test_other_vendor_cannot_resend_or_see_deliveries(endpoint, other_vendor_client):
    delivery = _failed_delivery(endpoint)
    assert other_vendor_client.get(_deliveries_url(endpoint)).status_code == 404
    response = other_vendor_client.post(reverse("vendor_portal:webhook_resend",
                                                args=[endpoint.pk, delivery.pk]))
    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.FAILED


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_test_event_to_a_closed_port_lists_the_failed_attempt(
        tenant, owner_client, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    endpoint = make_endpoint(tenant.vendor, url=f"http://127.0.0.1:{_closed_port()}/")[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("vendor_portal:webhook_test_event",
                                             args=[endpoint.pk]))
    assert response.status_code == 302
    event = WebhookEvent.objects.get(vendor=tenant.vendor, type="webhook.test")
    delivery = event.deliveries.get(endpoint=endpoint)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "ConnectionRefusedError" in attempt.error
    content = owner_client.get(response["Location"]).content.decode()
    assert f"Test event {event.event_id} queued." in content
    assert event.event_id in content and "webhook.test" in content
    assert attempt.error in content


def test_test_event_is_sent_even_to_an_endpoint_not_subscribed_to_it(tenant, endpoint,
                                                                    owner_client):
    endpoint.events = ["key.created"]
    endpoint.save()
    owner_client.post(reverse("vendor_portal:webhook_test_event", args=[endpoint.pk]))
    assert endpoint.deliveries.filter(event__type="webhook.test").count() == 1


def test_delivery_page_of_the_test_event_service(endpoint, owner_client):
    event = send_test_event(endpoint=endpoint, actor=Actor.for_system("test"))
    content = owner_client.get(_deliveries_url(endpoint)).content.decode()
    assert event.event_id in content and "Pending" in content
