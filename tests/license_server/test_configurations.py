"""Issuing and revoking license-server configurations, from the service and the dashboard."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from license_server import configuration as server_configuration

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.license_server.models import LicenseServerConfiguration
from apps.license_server.services import (
    license_server_configuration_create,
    license_server_configuration_revoke,
    public_key_xml,
    resolve_keys,
)
from apps.licensing import signing
from apps.licensing.services import signing_key_rotate
from tests.factories import make_key


def _issue(tenant, **changes):
    spec = {"vendor": tenant.vendor, "actor": Actor.for_user(tenant.owner), "name": "Site A",
            "valid_until": timezone.now() + dt.timedelta(days=30), "keys": [tenant.key],
            "customer": tenant.customer, "portal_url": "https://portal.example"}
    return license_server_configuration_create(**{**spec, **changes})


def test_issued_file_is_signed_by_the_vendor_and_carries_the_servers_key_pair(tenant):
    configuration, text = _issue(tenant)

    vendor_xml = signing.public_key_xml(tenant.vendor.signing_key.public_key_pem)
    parsed = server_configuration.parse(text, vendor_public_key_xml=vendor_xml)
    assert parsed.floating_keys == {(tenant.product.pk, tenant.key.key): 2}
    assert parsed.portal == "https://portal.example"
    assert parsed.server_public_key_xml == public_key_xml(configuration)
    assert parsed.valid_until == int(configuration.valid_until.timestamp())


def _vendor_xml(tenant) -> str:
    return signing.public_key_xml(tenant.vendor.signing_key.public_key_pem)


def test_the_servers_private_key_and_upload_secret_are_not_stored(tenant):
    configuration, text = _issue(tenant)

    parsed = server_configuration.parse(text, vendor_public_key_xml=_vendor_xml(tenant))
    stored = LicenseServerConfiguration.objects.filter(pk=configuration.pk).values().get()
    assert "PRIVATE KEY" not in str(stored)
    assert parsed.upload_token not in str(stored)


def test_issuing_and_revoking_are_in_the_object_log(tenant):
    configuration, _ = _issue(tenant)
    license_server_configuration_revoke(configuration=configuration,
                                        actor=Actor.for_user(tenant.owner))

    actions = ObjectLogEntry.objects.for_object(configuration).values_list("action", flat=True)
    assert sorted(actions) == ["created", "revoked"]
    assert LicenseServerConfiguration.objects.get().is_revoked


def test_another_vendors_key_cannot_be_configured(tenant, other_tenant):
    with pytest.raises(DomainError, match="Could not find the key"):
        _issue(tenant, keys=[other_tenant.key])
    with pytest.raises(DomainError, match="Could not find the key"):
        resolve_keys(vendor=tenant.vendor, lines=other_tenant.key.key)


def test_a_past_date_is_refused(tenant):
    with pytest.raises(DomainError, match="future"):
        _issue(tenant, valid_until=timezone.now() - dt.timedelta(minutes=1))


def test_keys_are_read_one_per_line_with_an_optional_product(tenant):
    second = make_key(tenant.product)

    found = resolve_keys(vendor=tenant.vendor,
                         lines=f"{tenant.key.key}\n\n{tenant.product.pk}:{second.key.lower()}")

    assert found == [tenant.key, second]


def test_dashboard_shows_the_file_once_and_the_public_key_after(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:license_server_create"), {
        "name": "Plant 2", "valid_until": "2031-06-30", "keys": tenant.key.key,
        "customer": tenant.customer.pk})

    assert response.status_code == 200
    configuration = LicenseServerConfiguration.objects.get()
    assert list(configuration.keys.all()) == [tenant.key]
    text = response.context["file_text"]
    assert server_configuration.parse(
        text, vendor_public_key_xml=_vendor_xml(tenant)).id == configuration.pk
    detail = owner_client.get(reverse("vendor_portal:license_server_detail",
                                      args=[configuration.pk])).content.decode()
    assert escape(public_key_xml(configuration)) in detail
    assert "PRIVATE KEY" not in detail


def test_dashboard_explains_an_unknown_key(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:license_server_create"), {
        "name": "Plant 2", "valid_until": "2031-06-30", "keys": "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"})

    assert response.status_code == 200
    assert "Could not find the key ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ." in response.content.decode()
    assert not LicenseServerConfiguration.objects.exists()


def test_other_vendor_gets_404_on_the_configuration(tenant, other_vendor_client):
    configuration, _ = _issue(tenant)

    for name in ("license_server_detail", "license_server_revoke"):
        url = reverse(f"vendor_portal:{name}", args=[configuration.pk])
        assert other_vendor_client.post(url).status_code == 404
    assert not LicenseServerConfiguration.objects.get().is_revoked


def test_dashboard_gives_the_vendor_public_key_the_server_pins(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:license_server_create"), {
        "name": "Plant 2", "valid_until": "2031-06-30", "keys": tenant.key.key})
    configuration = LicenseServerConfiguration.objects.get()
    detail = owner_client.get(reverse("vendor_portal:license_server_detail",
                                      args=[configuration.pk]))

    vendor_xml = _vendor_xml(tenant)
    download = "data:application/xml;base64," + base64.b64encode(vendor_xml.encode()).decode()
    for page in (response, detail):
        html = page.content.decode()
        assert escape(vendor_xml) in html
        assert f'download="vendor-public-key.xml" href="{download}"' in html
    # The key shown is the one the configuration verifies with.
    parsed = server_configuration.parse(response.context["file_text"],
                                      vendor_public_key_xml=detail.context["vendor_key_xml"])
    assert parsed.id == configuration.pk


def test_after_a_key_rotation_the_page_keeps_the_key_that_signed_the_configuration(
        tenant, owner_client):
    configuration, text = _issue(tenant)
    signing_xml = _vendor_xml(tenant)
    signing_key_rotate(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner))

    detail = owner_client.get(reverse("vendor_portal:license_server_detail",
                                      args=[configuration.pk]))

    assert detail.context["vendor_key_xml"] == signing_xml != _vendor_xml(tenant)
    server_configuration.parse(text, vendor_public_key_xml=detail.context["vendor_key_xml"])
