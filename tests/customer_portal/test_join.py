"""Joining the customer portal through a vendor's link: sign-up links and invitations."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from apps.access import SESSION_CUSTOMER_KEY
from apps.accounts.models import User
from apps.licensing.models import Customer, CustomerMembership, PortalLink
from apps.licensing.services.portal import (
    SESSION_PORTAL_TOKEN,
    portal_link_create,
    portal_link_revoke,
)
from tests.factories import PASSWORD, CustomerFactory, UserFactory, confirm_last_email

from .personas import client_for, member


def _join_url(token: str) -> str:
    return reverse("customer_portal:join", args=[token])


def _link(portal, **options) -> tuple[PortalLink, str]:
    return portal_link_create(vendor=portal.tenant.vendor, actor=portal.tenant.owner, **options)


def _sign_up(client: Client, email: str, *, confirm: bool = True) -> User:
    """Sign up, then (unless `confirm` is False) open the confirmation e-mail's link."""
    response = client.post(reverse("account_signup"), {
        "email": email, "password1": PASSWORD, "password2": PASSWORD, "organisation": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    if confirm:
        confirm_last_email(Client())  # the link may well be opened in another browser
    return User.objects.get(email=email)


def _expire(link: PortalLink) -> None:
    PortalLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1))


def test_anonymous_visitor_is_offered_sign_up_and_log_in(portal, client):
    _, token = _link(portal)
    response = client.get(_join_url(token))
    assert response.status_code == 200
    assertContains(response, f"<h1>Join {portal.tenant.vendor.name}'s customer portal</h1>")
    signup = f"{reverse('account_signup')}?{urlencode({'next': '/portal/'})}"
    login = f"{reverse('account_login')}?{urlencode({'next': _join_url(token)})}"
    assertContains(response, f'href="{signup}"')
    assertContains(response, f'href="{login}"')
    assert client.session[SESSION_PORTAL_TOKEN] == token


def test_signing_up_through_a_link_with_the_permission_grants_it(portal, client):
    _, token = _link(portal, can_manage_activations=True)
    client.get(_join_url(token))
    user = _sign_up(client, "it-admin@newcustomer.example")

    membership = CustomerMembership.objects.get(user=user)
    assert membership.customer.vendor == portal.tenant.vendor
    assert membership.customer.email == "it-admin@newcustomer.example"
    assert membership.can_manage_activations and membership.may_deactivate
    assert SESSION_PORTAL_TOKEN not in client.session


def test_a_sign_up_link_grants_nothing_until_the_address_is_verified(portal, client):
    customer = CustomerFactory(vendor=portal.tenant.vendor, email="victim@acme.example",
                               allow_activation_management=True)
    _, token = _link(portal, can_manage_activations=True)
    client.get(_join_url(token))

    user = _sign_up(client, "victim@acme.example", confirm=False)
    assert not CustomerMembership.objects.filter(user=user).exists()
    assert not CustomerMembership.objects.filter(customer=customer).exists()

    confirm_last_email(Client())
    membership = CustomerMembership.objects.get(user=user)
    assert membership.customer == customer and membership.may_deactivate


def test_a_link_revoked_before_the_address_is_verified_grants_nothing(portal, client):
    link, token = _link(portal, can_manage_activations=True)
    client.get(_join_url(token))
    user = _sign_up(client, "pending@acme.example", confirm=False)
    portal_link_revoke(link=link, actor=portal.tenant.owner)

    confirm_last_email(Client())

    assert not CustomerMembership.objects.filter(user=user).exists()


def test_signing_up_through_a_link_joins_the_customer_with_that_email(portal, client):
    customer = CustomerFactory(vendor=portal.tenant.vendor, email="buyer@acme.example",
                               allow_activation_management=True)
    _, token = _link(portal, can_manage_activations=True)
    client.get(_join_url(token))
    user = _sign_up(client, "buyer@acme.example")

    membership = CustomerMembership.objects.get(user=user)
    assert membership.customer == customer and membership.may_deactivate


def test_signing_up_through_a_link_without_the_permission_is_read_only(portal, client):
    _, token = _link(portal)
    client.get(_join_url(token))
    user = _sign_up(client, "viewer@newcustomer.example")
    assert not CustomerMembership.objects.get(user=user).may_deactivate


@pytest.mark.parametrize("spoil", ["expired", "revoked"])
def test_an_expired_or_revoked_link_grants_nothing(portal, client, spoil):
    link, token = _link(portal, can_manage_activations=True, expires_in_days=7)
    if spoil == "expired":
        _expire(link)
    else:
        portal_link_revoke(link=link, actor=portal.tenant.owner)
    customers_before = Customer.objects.count()

    response = client.get(_join_url(token))
    assert response.status_code == 404
    assertContains(response, "This link is not valid", status_code=404)
    assert SESSION_PORTAL_TOKEN not in client.session
    user = _sign_up(client, f"late-{spoil}@newcustomer.example")
    assert not CustomerMembership.objects.filter(user=user).exists()

    client.force_login(user)
    assert client.post(_join_url(token)).status_code == 404
    assert not CustomerMembership.objects.filter(user=user).exists()
    assert Customer.objects.count() == customers_before


def test_a_link_that_expires_after_the_visit_grants_nothing_at_sign_up(portal, client):
    link, token = _link(portal, can_manage_activations=True, expires_in_days=7)
    client.get(_join_url(token))
    _expire(link)
    user = _sign_up(client, "slow@newcustomer.example")
    assert not CustomerMembership.objects.filter(user=user).exists()


def test_unknown_token_is_a_404_page(db, client):
    response = client.get(_join_url("no-such-token"))
    assertContains(response, "This link is not valid", status_code=404)


def test_per_customer_invitation_joins_that_customer(portal):
    _, token = _link(portal, customer=portal.neighbour)
    user = UserFactory()
    client = client_for(user)
    assertContains(client.get(_join_url(token)), "Join</button>")

    response = client.post(_join_url(token))

    assert response.status_code == 302
    assert response["Location"] == reverse("customer_portal:license_list")
    membership = CustomerMembership.objects.get(user=user)
    assert membership.customer == portal.neighbour and not membership.can_manage_activations
    assert client.session[SESSION_CUSTOMER_KEY] == membership.pk
    assertContains(client.get(response["Location"]), portal.neighbour_key.key)


def test_joining_another_customer_switches_to_it(portal, customer_admin_client):
    _, token = _link(portal, customer=portal.neighbour)
    customer_admin_client.post(_join_url(token))
    response = customer_admin_client.get(reverse("customer_portal:license_list"))
    assertContains(response, portal.neighbour_key.key)
    assertNotContains(response, portal.key.key)


def test_logged_in_visitor_is_asked_before_joining(portal):
    _, token = _link(portal, customer=portal.neighbour)
    user = UserFactory()
    response = client_for(user).get(_join_url(token))
    assert response.status_code == 200
    assertContains(response, f"You are logged in as {user.email}")
    assert not CustomerMembership.objects.filter(user=user).exists()


def test_people_of_a_customer_get_a_header_link_to_the_portal(portal, customer_admin_client):
    portal_url = reverse("customer_portal:license_list")
    dashboard = reverse("vendor_portal:dashboard")
    assert customer_admin_client.get(dashboard)["Location"] == portal_url
    assertContains(customer_admin_client.get(portal_url), f'href="{portal_url}"')
    vendor_page = client_for(portal.tenant.owner).get(dashboard)
    assertNotContains(vendor_page, "Customer portal")
    member(portal.customer, can_manage_activations=False, user=portal.tenant.owner)
    assertContains(client_for(portal.tenant.owner).get(dashboard), "Customer portal")


@pytest.mark.parametrize(("can_manage", "allowed", "stated"), [
    (True, True, "You will be allowed to deactivate devices."),
    (False, True, "You will see licenses and devices but not deactivate them"),
    (True, False, "You will see licenses and devices but not deactivate them"),
])
def test_the_join_page_states_the_permission_the_user_will_get(portal, client, can_manage,
                                                               allowed, stated):
    _, token = _link(portal, customer=portal.customer, can_manage_activations=can_manage)
    Customer.objects.filter(pk=portal.customer.pk).update(allow_activation_management=allowed)
    assertContains(client.get(_join_url(token)), stated)
    user = UserFactory()
    client.force_login(user)
    client.post(_join_url(token))
    assert CustomerMembership.objects.get(user=user).may_deactivate == (can_manage and allowed)
