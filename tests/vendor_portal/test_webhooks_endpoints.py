"""Settings, Webhooks: the endpoint list, add, edit, rotate the secret, remove."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.core.sealed import unseal
from apps.webhooks.models import WebhookEndpoint
from apps.webhooks.services import EVENT_TYPES, SECRET_PURPOSE

from .webhooks_data import URL, make_endpoint, public_dns  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("public_dns")

FORM = {"url": URL, "description": "CRM sync", "events": ["key.created", "device.activated"]}


def _url(name: str, endpoint: WebhookEndpoint | None = None) -> str:
    return reverse(f"vendor_portal:{name}", args=[endpoint.pk] if endpoint else [])


def _logged(vendor) -> str:
    return json.dumps(list(ObjectLogEntry.objects.for_vendor(vendor).values_list(
        "changes", flat=True)))


def test_list_shows_endpoints_with_status_and_add_button_for_owner(tenant, owner_client):
    _, secret = make_endpoint(tenant.vendor)
    response = owner_client.get(_url("webhook_endpoint_list"))
    content = response.content.decode()
    assert response.status_code == 200
    assert URL in content and "CRM sync" in content and "Enabled" in content
    assert _url("webhook_endpoint_create") in content
    assert secret not in content


def test_list_shows_disabled_reason_and_failing_since(tenant, owner_client):
    endpoint, _ = make_endpoint(tenant.vendor)
    endpoint.enabled, endpoint.disabled_reason = False, "Every delivery failed for 3 days."
    endpoint.save()
    content = owner_client.get(_url("webhook_endpoint_list")).content.decode()
    assert "Disabled" in content and "Every delivery failed for 3 days." in content


def test_read_only_member_sees_the_list_without_add_or_edit(tenant, read_only_client):
    endpoint, _ = make_endpoint(tenant.vendor)
    content = read_only_client.get(_url("webhook_endpoint_list")).content.decode()
    assert URL in content
    assert _url("webhook_endpoint_create") not in content
    assert _url("webhook_endpoint_edit", endpoint) not in content


def test_form_offers_every_event_grouped(owner_client):
    response = owner_client.get(_url("webhook_endpoint_create"))
    content = response.content.decode()
    assert response.status_code == 200
    for event_type in EVENT_TYPES:
        assert f'value="{event_type}"' in content
    groups = [label for label, _ in response.context["form"].event_groups()]
    assert groups[:3] == ["Keys", "Devices", "Floating licenses"]
    assert "Other" not in groups


def test_created_endpoint_shows_its_secret_once(tenant, owner_client):
    response = owner_client.post(_url("webhook_endpoint_create"), FORM)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(vendor=tenant.vendor)
    secret = response.context["secret"]
    content = response.content.decode()
    assert content.count(secret) == 1
    assert "Portal-Signature" in content and "docs/webhooks.md" in content
    assert unseal(endpoint.secret_encrypted, purpose=SECRET_PURPOSE) == secret
    assert (endpoint.url, endpoint.events) == (URL, ["device.activated", "key.created"])
    for page in (_url("webhook_endpoint_list"), _url("webhook_endpoint_edit", endpoint),
                 _url("webhook_delivery_list", endpoint)):
        assert secret not in owner_client.get(page).content.decode(), page
    assert secret not in _logged(tenant.vendor)


@pytest.mark.parametrize("url, message", [
    ("ftp://hooks.example.com/x", "must start with https://"),
    ("https://10.0.0.1/x", "private, loopback or link-local"),
    ("https://hooks.example.com/" + "x" * 600, "too long"),
])
def test_bad_address_is_a_form_error(tenant, owner_client, settings, url, message):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = owner_client.post(_url("webhook_endpoint_create"), {**FORM, "url": url})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["url"])
    assert not WebhookEndpoint.objects.filter(vendor=tenant.vendor).exists()


def test_private_address_is_refused_even_where_dns_says_so(tenant, owner_client, settings,
                                                           monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))])
    response = owner_client.post(_url("webhook_endpoint_create"), FORM)
    assert "private" in " ".join(response.context["form"].errors["url"])


def test_no_events_is_a_form_error(tenant, owner_client):
    response = owner_client.post(_url("webhook_endpoint_create"), {**FORM, "events": []})
    assert response.status_code == 200
    assert response.context["form"].errors["events"] == ["Choose at least one event."]
    assert not WebhookEndpoint.objects.filter(vendor=tenant.vendor).exists()


def test_edit_changes_events_and_disables(tenant, owner_client):
    endpoint, _ = make_endpoint(tenant.vendor)
    page = owner_client.get(_url("webhook_endpoint_edit", endpoint))
    assert page.status_code == 200
    assert page.context["form"]["events"].value() == ["key.created", "webhook.test"]
    response = owner_client.post(_url("webhook_endpoint_edit", endpoint),
                                 {**FORM, "events": ["order.completed"]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.enabled) == (["order.completed"], False)


def test_edit_with_a_bad_address_is_a_form_error(tenant, owner_client):
    endpoint, _ = make_endpoint(tenant.vendor)
    response = owner_client.post(_url("webhook_endpoint_edit", endpoint),
                                 {**FORM, "url": "ftp://x.example.com/", "enabled": "on"})
    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    endpoint.refresh_from_db()
    assert endpoint.url == URL


def test_rotation_asks_first_then_shows_the_new_secret_once(tenant, owner_client):
    endpoint, old = make_endpoint(tenant.vendor)
    page = owner_client.get(_url("webhook_endpoint_rotate", endpoint))
    assert page.status_code == 200
    assert page.context["form"]["overlap_hours"].value() == 24
    response = owner_client.post(_url("webhook_endpoint_rotate", endpoint),
                                 {"overlap_hours": 24})
    assert response.status_code == 200
    new = response.context["secret"]
    content = response.content.decode()
    assert new != old and content.count(new) == 1 and old not in content
    endpoint.refresh_from_db()
    assert unseal(endpoint.secret_encrypted, purpose=SECRET_PURPOSE) == new
    assert endpoint.previous_secret_expires is not None
    assert endpoint.previous_secret_expires.strftime("%Y-%m-%d %H:%M") in content
    for page_url in (_url("webhook_endpoint_list"), _url("webhook_endpoint_edit", endpoint),
                     _url("webhook_delivery_list", endpoint)):
        assert new not in owner_client.get(page_url).content.decode()
    assert new not in _logged(tenant.vendor) and old not in _logged(tenant.vendor)


@pytest.mark.parametrize("hours", ["-1", "169"])
def test_rotation_overlap_outside_0_to_168_is_a_form_error(tenant, owner_client, hours):
    endpoint, old = make_endpoint(tenant.vendor)
    response = owner_client.post(_url("webhook_endpoint_rotate", endpoint),
                                 {"overlap_hours": hours})
    assert response.status_code == 200
    assert response.context["form"].errors["overlap_hours"]
    endpoint.refresh_from_db()
    assert unseal(endpoint.secret_encrypted, purpose=SECRET_PURPOSE) == old


def test_remove_deletes_the_endpoint(tenant, owner_client):
    endpoint, _ = make_endpoint(tenant.vendor)
    response = owner_client.post(_url("webhook_endpoint_remove", endpoint))
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_read_only_member_cannot_change_anything(tenant, read_only_client):
    endpoint, old = make_endpoint(tenant.vendor)
    assert read_only_client.get(_url("webhook_endpoint_create")).status_code == 403
    assert read_only_client.post(_url("webhook_endpoint_create"), FORM).status_code == 403
    for name in ("webhook_endpoint_edit", "webhook_endpoint_rotate", "webhook_endpoint_remove",
                 "webhook_test_event", "webhook_resend_since"):
        assert read_only_client.post(_url(name, endpoint), FORM).status_code == 403, name
    endpoint.refresh_from_db()
    assert unseal(endpoint.secret_encrypted, purpose=SECRET_PURPOSE) == old
    assert WebhookEndpoint.objects.filter(vendor=tenant.vendor).count() == 1
    assert not endpoint.deliveries.exists()


def test_other_vendors_endpoint_is_404_everywhere(tenant, other_vendor_client):
    endpoint, _ = make_endpoint(tenant.vendor)
    for name in ("webhook_endpoint_edit", "webhook_endpoint_rotate", "webhook_delivery_list"):
        assert other_vendor_client.get(_url(name, endpoint)).status_code == 404, name
    for name in ("webhook_endpoint_edit", "webhook_endpoint_rotate", "webhook_endpoint_remove",
                 "webhook_test_event", "webhook_resend_since"):
        assert other_vendor_client.post(_url(name, endpoint), {
            **FORM, "overlap_hours": 1, "since": "2020-01-01T00:00"}).status_code == 404, name
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, url=URL).exists()
    assert not endpoint.deliveries.exists()


@pytest.mark.parametrize("url", ["https://hooks.example.com:99999/", "https://[::1/",
                                 "https://hooks.example.com:abc/"])
def test_a_broken_address_is_a_form_error_not_a_500(owner_client, url):
    from django.urls import reverse

    response = owner_client.post(reverse("vendor_portal:webhook_endpoint_create"),
                                 {"url": url, "events": ["key.created"]})
    assert response.status_code == 200
    assert "not a valid URL" in response.content.decode()
