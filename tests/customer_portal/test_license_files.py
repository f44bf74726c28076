"""A customer's people download the license file of one of their own devices (read-only users
too: the device holds its seat already, so nothing is spent or changed)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from licensing.methods import Helpers
from licensing.models import LicenseKey as ClientLicenseKey

from apps.audit.models import ObjectLogEntry
from apps.licensing.signing import public_key_xml
from apps.usage.models import WebApiLog
from tests.customer_portal.personas import client_for
from tests.factories import make_activation


def _url(key, device, file_format: str | None = None) -> str:
    url = reverse("customer_portal:device_license_file", args=[key.pk, device.pk])
    return f"{url}?format={file_format}" if file_format else url


@pytest.mark.parametrize("who", ["admin", "reader"])
def test_a_user_of_the_customer_downloads_a_file_that_verifies_on_that_device(portal, who):
    client = client_for(getattr(portal, who))
    seats = portal.key.activations.count()
    log_rows, entries = WebApiLog.objects.count(), ObjectLogEntry.objects.count()

    response = client.get(_url(portal.key, portal.activation, "string"))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="ActivationFile')
    loaded = ClientLicenseKey.load_from_string(
        public_key_xml(portal.tenant.vendor.signing_key.public_key_pem),
        response.content.decode(), 30)
    assert loaded is not None
    assert loaded.key == portal.key.key
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code=portal.activation.machine_code)
    assert portal.key.activations.count() == seats
    assert (WebApiLog.objects.count(), ObjectLogEntry.objects.count()) == (log_rows, entries)


def test_the_classic_dotnet_format_is_offered_too(portal, customer_reader_client):
    page = customer_reader_client.get(_url(portal.key, portal.activation)).content.decode()
    assert "?format=string" in page and "?format=linq" in page
    response = customer_reader_client.get(_url(portal.key, portal.activation, "linq"))
    assert response.status_code == 200
    assert f'"mid": "{portal.activation.machine_code}"'.encode() in response.content


def test_the_device_tables_link_each_node_locked_device_to_its_file(portal,
                                                                    customer_reader_client):
    floating = make_activation(portal.key, "float-1", floating=True)
    for name, args in (("license_detail", [portal.key.pk]), ("device_list", [])):
        page = customer_reader_client.get(reverse(f"customer_portal:{name}", args=args)
                                          ).content.decode()
        assert f'href="{_url(portal.key, portal.activation)}"' in page
        assert _url(portal.key, floating) not in page


def test_another_customers_device_is_404(portal, customer_admin_client):
    for key, device in ((portal.neighbour_key, portal.neighbour_activation),
                        (portal.foreign_key, portal.foreign_activation),
                        (portal.key, portal.neighbour_activation)):
        assert customer_admin_client.get(_url(key, device, "string")).status_code == 404


def test_a_floating_seat_gets_no_file(portal, customer_admin_client):
    floating = make_activation(portal.key, "float-1", floating=True)
    assert customer_admin_client.get(_url(portal.key, floating, "string")).status_code == 404


def test_a_blocked_license_gets_no_file(portal, customer_admin_client):
    portal.key.block = True
    portal.key.save(update_fields=["block"])
    response = customer_admin_client.get(_url(portal.key, portal.activation, "string"))
    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert "This license is blocked" in response.content.decode()
