"""People who belong to several customers (of one vendor or several) switch between them."""

from __future__ import annotations

from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from .personas import client_for, member

LIST = reverse("customer_portal:license_list")


def _switch(membership_id: int) -> str:
    return reverse("customer_portal:switch_customer", args=[membership_id])


def test_a_user_of_two_customers_switches_between_them(portal, other_tenant):
    elsewhere = member(other_tenant.customer, can_manage_activations=False, user=portal.admin)
    client = client_for(portal.admin)
    first = client.get(LIST)
    assertContains(first, portal.key.key)
    assertContains(first, f'action="{_switch(elsewhere.pk)}"')

    response = client.post(_switch(elsewhere.pk))

    assert response.status_code == 302 and response["Location"] == LIST
    second = client.get(LIST)
    assertContains(second, other_tenant.key.key)
    assertNotContains(second, portal.key.key)
    assertContains(second, f'action="{_switch(portal.admin_membership.pk)}"')
    # The permission follows the customer: read-only there.
    assert client.post(reverse("customer_portal:device_deactivate"),
                       {"activation": [other_tenant.activation.pk]}).status_code == 403
    client.post(_switch(portal.admin_membership.pk))
    assertContains(client.get(LIST), portal.key.key)


def test_a_user_of_one_customer_sees_no_switcher(portal, customer_admin_client):
    assertNotContains(customer_admin_client.get(LIST), 'id="customer-switcher"')


def test_switching_to_someone_elses_membership_is_404(portal, customer_reader_client):
    response = customer_reader_client.post(_switch(portal.admin_membership.pk))
    assert response.status_code == 404
    assertContains(customer_reader_client.get(LIST), portal.key.key)


def test_switching_needs_a_post(portal, customer_admin_client):
    assert customer_admin_client.get(_switch(portal.admin_membership.pk)).status_code == 405
