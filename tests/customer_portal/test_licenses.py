"""The license list and a license's devices, as the customer's people see them."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains

from apps.licensing.models import LicenseKey
from tests.factories import ProductFactory, make_activation, make_key

from .personas import client_for

LIST = reverse("customer_portal:license_list")


def _detail(key) -> str:
    return reverse("customer_portal:license_detail", args=[key.pk])


def _keys_listed(response) -> list[str]:
    return [key.key for key in response.context["page"]]


def test_customer_admin_sees_only_their_customers_licenses(portal, customer_admin_client):
    response = customer_admin_client.get(LIST)
    assert response.status_code == 200
    assert _keys_listed(response) == [portal.key.key]
    assertNotContains(response, portal.neighbour_key.key)
    assertNotContains(response, portal.foreign_key.key)


def test_license_of_another_customer_of_the_same_vendor_is_404(portal, customer_admin_client):
    assert customer_admin_client.get(_detail(portal.neighbour_key)).status_code == 404


def test_license_of_another_vendor_is_404(portal, customer_admin_client):
    assert customer_admin_client.get(_detail(portal.foreign_key)).status_code == 404


def test_missing_license_is_404(portal, customer_admin_client):
    assert customer_admin_client.get(reverse("customer_portal:license_detail",
                                             args=[999_999])).status_code == 404


def test_license_list_shows_seats_used_of_max_with_infinity_for_unlimited(portal,
                                                                          customer_admin_client):
    unlimited = make_key(portal.tenant.product, customer=portal.customer, max_no_of_machines=0)
    make_activation(portal.key, "floating-1", floating=True,
                    floating_expires=timezone.now() + dt.timedelta(minutes=5))
    response = customer_admin_client.get(LIST)
    rows = {key.key: key for key in response.context["page"]}
    assert rows[portal.key.key].seats_used == 1  # node-locked only; the floating seat apart
    assert rows[portal.key.key].floating_used == 1
    assertContains(response, "1 / 2")
    assertContains(response, "0 / ∞")
    assert rows[unlimited.key].max_no_of_machines == 0


def test_license_list_shows_the_customer_wide_device_cap_when_there_is_one(
        portal, customer_admin_client):
    assertNotContains(customer_admin_client.get(LIST), 'id="device-cap"')
    second = make_key(portal.tenant.product, customer=portal.customer, max_no_of_machines=5)
    make_activation(second, "machine-2")
    make_activation(second, "floating-2", floating=True)
    portal.customer.max_no_of_devices = 10
    portal.customer.save()
    assertContains(customer_admin_client.get(LIST),
                   "2 of the 10 devices allowed across all licenses are in use.")


def test_license_list_badges_blocked_expired_and_trial_keys(portal, customer_admin_client):
    product = ProductFactory(vendor=portal.tenant.vendor, name="Trialware", trial_feature=2)
    trial = make_key(product, customer=portal.customer, features=[False, True] + [False] * 6)
    not_trial = make_key(product, customer=portal.customer, features=[True] + [False] * 7)
    LicenseKey.objects.filter(pk=portal.key.pk).update(block=True)
    expired = make_key(portal.tenant.product, customer=portal.customer)
    LicenseKey.objects.filter(pk=expired.pk).update(expires=timezone.now() - dt.timedelta(days=1))

    rows = {key.key: key for key in customer_admin_client.get(LIST).context["page"]}
    assert rows[trial.key].is_trial and not rows[not_trial.key].is_trial
    badges = {key: _badges(customer_admin_client, rows[key])
              for key in (trial.key, not_trial.key, portal.key.key, expired.key)}
    assert badges == {trial.key: ["Active", "Trial"], not_trial.key: ["Active"],
                      portal.key.key: ["Blocked"], expired.key: ["Expired"]}


def _badges(client, key) -> list[str]:
    content = client.get(_detail(key)).content.decode()
    status = re.search(r"<dt>Status</dt><dd>(.*?)</dd>", content, re.S).group(1)
    return re.findall(r'<span class="badge[^"]*">([^<]+)</span>', status)


def test_license_page_lists_its_devices(portal, customer_admin_client):
    expires = timezone.now() + dt.timedelta(minutes=5)
    make_activation(portal.key, "float-code", friendly_name="KIOSK", floating=True,
                    floating_expires=expires, ip="198.51.100.7")
    response = customer_admin_client.get(_detail(portal.key))
    assert response.status_code == 200
    assert [d.machine_code for d in response.context["devices"]] == ["machine-1", "float-code"]
    for text in ("machine-1", "LAPTOP-1", "192.0.2.1", "Node-locked", "KIOSK", "Floating",
                 "198.51.100.7", timezone.localtime(expires).strftime("%Y-%m-%d %H:%M")):
        assertContains(response, text)


def test_customer_admin_gets_checkboxes_and_a_deactivate_button(portal, customer_admin_client):
    response = customer_admin_client.get(_detail(portal.key))
    assertContains(response, f'name="activation" value="{portal.activation.pk}"')
    assertContains(response, "Deactivate selected")
    assertNotContains(response, 'id="read-only-note"')


def test_user_without_the_permission_sees_devices_read_only(portal, customer_reader_client):
    response = customer_reader_client.get(_detail(portal.key))
    assertContains(response, "LAPTOP-1")
    assertNotContains(response, 'name="activation"')
    assertNotContains(response, "Deactivate selected")
    assertContains(response, "your account does not have the permission")


def test_customer_without_activation_management_is_read_only_for_everyone(
        portal, customer_admin_client):
    portal.customer.allow_activation_management = False
    portal.customer.save()
    response = customer_admin_client.get(_detail(portal.key))
    assertNotContains(response, 'name="activation"')
    assertContains(response, "has not enabled activation management")
    assertInHTML('<span class="badge">Read-only</span>', response.content.decode())


def test_anonymous_is_sent_to_login(portal, client):
    response = client.get(_detail(portal.key))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={_detail(portal.key)}"


def test_vendor_owner_who_is_no_customer_user_is_refused(portal):
    response = client_for(portal.tenant.owner).get(LIST)
    assert response.status_code == 403
