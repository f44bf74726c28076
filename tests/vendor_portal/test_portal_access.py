"""The vendor's side of the customer portal: customer settings, invitation links, sign-up
links and the customer's portal users."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import ObjectLogEntry
from apps.licensing.models import Customer, CustomerMembership, PortalLink
from apps.licensing.services.portal import portal_link_create

from ..factories import UserFactory, make_activation, make_key

LINK = re.compile(r"http://testserver/portal/join/([\w-]+)/")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _shown_token(response) -> str:
    found = LINK.findall(response.content.decode())
    assert len(set(found)) == 1, found
    return found[0]


@pytest.fixture
def portal_user(tenant) -> CustomerMembership:
    return CustomerMembership.objects.create(customer=tenant.customer,
                                             user=UserFactory(email="it@customer.example"))


@pytest.fixture
def invitation(tenant) -> PortalLink:
    return portal_link_create(vendor=tenant.vendor, actor=tenant.owner,
                              customer=tenant.customer)[0]


# --- Customer settings --------------------------------------------------------------------


def test_owner_creates_a_customer_who_manages_activations_under_a_device_cap(tenant,
                                                                            owner_client):
    response = owner_client.post(reverse("vendor_portal:customer_create"), {
        "name": "Big Corp", "allow_activation_management": "on", "max_no_of_devices": 250})

    customer = Customer.objects.get(vendor=tenant.vendor, name="Big Corp")
    assert response.status_code == 302
    assert (customer.allow_activation_management, customer.max_no_of_devices) == (True, 250)
    created = ObjectLogEntry.objects.for_object(customer).get(action="created")
    assert created.changes["max_no_of_devices"] == [None, 250]


def test_editing_a_customer_changes_its_portal_settings_and_logs_them(tenant, admin_client_):
    url = reverse("vendor_portal:customer_edit", args=[tenant.customer.pk])
    form = admin_client_.get(url).context["form"]
    assert form.initial["max_no_of_devices"] == 0

    response = admin_client_.post(url, {**form.initial, "allow_activation_management": "on",
                                        "max_no_of_devices": 3})

    assert response.status_code == 302
    tenant.customer.refresh_from_db()
    assert (tenant.customer.allow_activation_management, tenant.customer.max_no_of_devices) \
        == (True, 3)
    updated = ObjectLogEntry.objects.for_object(tenant.customer).get(action="updated")
    assert updated.changes == {"allow_activation_management": [False, True],
                               "max_no_of_devices": [0, 3]}


def test_a_negative_device_cap_is_refused(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:customer_edit",
                                         args=[tenant.customer.pk]),
                                 {"name": "X", "max_no_of_devices": -1})
    assert response.status_code == 200
    assert "max_no_of_devices" in response.context["form"].errors


def test_customer_page_shows_the_settings_and_devices_used_of_the_cap(tenant, read_only_client):
    Customer.objects.filter(pk=tenant.customer.pk).update(
        allow_activation_management=True, max_no_of_devices=10)
    make_activation(make_key(tenant.product, customer=tenant.customer), "pc-2")

    content = read_only_client.get(
        reverse("vendor_portal:customer_detail", args=[tenant.customer.pk])).content.decode()

    assert "2 of 10 devices across all keys" in content
    assert "portal users with the permission may deactivate devices" in content


# --- Invitation links of one customer -----------------------------------------------------


def test_invitation_link_is_shown_once_and_only_its_digest_is_stored(tenant, owner_client):
    response = owner_client.post(
        reverse("vendor_portal:customer_invitation_create", args=[tenant.customer.pk]),
        {"can_manage_activations": "on", "expires_in_days": 7})

    assert response.status_code == 200
    token = _shown_token(response)
    link = PortalLink.objects.get(vendor=tenant.vendor)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (link.customer, link.can_manage_activations, link.created_by) == (
        tenant.customer, True, tenant.owner)
    assert abs(link.expires_at - (timezone.now() + dt.timedelta(days=7))) < dt.timedelta(
        minutes=1)
    detail = owner_client.get(reverse("vendor_portal:customer_detail",
                                      args=[tenant.customer.pk])).content.decode()
    assert token not in detail
    assert Client().get(f"/portal/join/{token}/").status_code == 200


def test_invitation_link_without_expiry_never_expires(tenant, owner_client):
    owner_client.post(reverse("vendor_portal:customer_invitation_create",
                              args=[tenant.customer.pk]), {"expires_in_days": ""})
    link = PortalLink.objects.get(vendor=tenant.vendor)
    assert (link.expires_at, link.can_manage_activations) == (None, False)


@pytest.mark.parametrize("days", [0, 3651, "soon"])
def test_an_impossible_expiry_creates_no_link(tenant, owner_client, days):
    response = owner_client.post(reverse("vendor_portal:customer_invitation_create",
                                         args=[tenant.customer.pk]), {"expires_in_days": days})
    assert response.status_code == 200
    assert "expires_in_days" in response.context["form"].errors
    assert not PortalLink.objects.exists()


def test_customer_page_lists_its_links_with_a_revoke_button_for_writers(tenant, invitation,
                                                                       owner_client,
                                                                       read_only_client):
    url = reverse("vendor_portal:customer_detail", args=[tenant.customer.pk])
    revoke = reverse("vendor_portal:portal_link_revoke", args=[invitation.pk])
    owner_page = owner_client.get(url).content.decode()
    read_only_page = read_only_client.get(url).content.decode()

    assert list(owner_client.get(url).context["portal_links"]) == [invitation]
    assert revoke in owner_page and "Create invitation link" in owner_page
    assert revoke not in read_only_page and "Create invitation link" not in read_only_page


def test_revoked_invitation_link_lets_nobody_join(tenant, owner_client):
    link, token = portal_link_create(vendor=tenant.vendor, actor=tenant.owner,
                                     customer=tenant.customer)

    response = owner_client.post(reverse("vendor_portal:portal_link_revoke", args=[link.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:customer_detail",
                                           args=[tenant.customer.pk])
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert Client().get(f"/portal/join/{token}/").status_code == 404
    assert ObjectLogEntry.objects.for_object(link).filter(action="revoked").exists()


def test_read_only_member_cannot_create_or_revoke_links(tenant, invitation, read_only_client):
    create = read_only_client.post(
        reverse("vendor_portal:customer_invitation_create", args=[tenant.customer.pk]),
        {"expires_in_days": 7})
    revoke = read_only_client.post(reverse("vendor_portal:portal_link_revoke",
                                           args=[invitation.pk]))

    assert (create.status_code, revoke.status_code) == (403, 403)
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert PortalLink.objects.count() == 1


def test_other_vendor_gets_404_on_this_vendors_customer_links_and_portal_users(
        tenant, invitation, portal_user, other_vendor_client):
    posts = [
        (reverse("vendor_portal:customer_invitation_create", args=[tenant.customer.pk]),
         {"expires_in_days": 7}),
        (reverse("vendor_portal:portal_link_revoke", args=[invitation.pk]), {}),
        (reverse("vendor_portal:portal_user_permission", args=[portal_user.pk]),
         {"can_manage_activations": "true"}),
        (reverse("vendor_portal:portal_user_remove", args=[portal_user.pk]), {}),
    ]
    assert [other_vendor_client.post(url, data).status_code for url, data in posts] == [404] * 4
    invitation.refresh_from_db()
    portal_user.refresh_from_db()
    assert invitation.revoked_at is None and not portal_user.can_manage_activations
    assert PortalLink.objects.count() == 1


# --- The customer's portal users ----------------------------------------------------------


def test_customer_page_lists_the_portal_users(tenant, portal_user, read_only_client):
    response = read_only_client.get(reverse("vendor_portal:customer_detail",
                                            args=[tenant.customer.pk]))
    assert list(response.context["portal_users"]) == [portal_user]
    assert "it@customer.example" in response.content.decode()


def test_admin_toggles_a_portal_users_permission_to_deactivate(tenant, portal_user,
                                                               admin_client_):
    url = reverse("vendor_portal:portal_user_permission", args=[portal_user.pk])

    response = admin_client_.post(url, {"can_manage_activations": "true"})
    portal_user.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:customer_detail",
                                           args=[tenant.customer.pk])
    assert portal_user.can_manage_activations

    admin_client_.post(url, {"can_manage_activations": "false"})
    portal_user.refresh_from_db()
    assert not portal_user.can_manage_activations
    changes = [e.changes["can_manage_activations"] for e in ObjectLogEntry.objects.for_object(
        tenant.customer).filter(action="portal user changed").order_by("id")]
    assert changes == [[False, True], [True, False]]


def test_owner_removes_a_portal_user_who_then_loses_the_portal(tenant, portal_user,
                                                               owner_client):
    response = owner_client.post(reverse("vendor_portal:portal_user_remove",
                                         args=[portal_user.pk]))

    assert response.status_code == 302
    assert not CustomerMembership.objects.filter(pk=portal_user.pk).exists()
    assert _client(portal_user.user).get(reverse("customer_portal:license_list")
                                         ).status_code == 403


def test_read_only_member_cannot_change_portal_users(tenant, portal_user, read_only_client):
    toggle = read_only_client.post(reverse("vendor_portal:portal_user_permission",
                                           args=[portal_user.pk]),
                                   {"can_manage_activations": "true"})
    remove = read_only_client.post(reverse("vendor_portal:portal_user_remove",
                                           args=[portal_user.pk]))
    assert (toggle.status_code, remove.status_code) == (403, 403)
    portal_user.refresh_from_db()
    assert not portal_user.can_manage_activations


# --- Vendor-wide sign-up links ------------------------------------------------------------


def test_customer_list_links_to_the_sign_up_links(tenant, read_only_client):
    content = read_only_client.get(reverse("vendor_portal:customer_list")).content.decode()
    assert reverse("vendor_portal:portal_link_list") in content


def test_owner_creates_a_sign_up_link_shown_once(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:portal_link_create"), {
        "name": "Support site", "can_manage_activations": "on", "expires_in_days": 30})

    assert response.status_code == 200
    token = _shown_token(response)
    link = PortalLink.objects.get(vendor=tenant.vendor)
    assert (link.name, link.customer, link.can_manage_activations) == (
        "Support site", None, True)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.expires_at is not None
    listing = owner_client.get(reverse("vendor_portal:portal_link_list"))
    assert list(listing.context["page"]) == [link]
    assert "Support site" in listing.content.decode()
    assert token not in listing.content.decode()
    join = Client().get(urlsplit(LINK.search(response.content.decode()).group(0)).path)
    assert join.status_code == 200


def test_sign_up_link_without_expiry_and_without_name_is_refused(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:portal_link_create"),
                                 {"expires_in_days": ""})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not PortalLink.objects.exists()

    owner_client.post(reverse("vendor_portal:portal_link_create"), {"name": "Forever"})
    assert PortalLink.objects.get().expires_at is None


def test_sign_up_link_list_shows_only_this_vendors_sign_up_links(tenant, other_tenant,
                                                                 invitation, owner_client):
    mine = portal_link_create(vendor=tenant.vendor, actor=tenant.owner, name="Mine")[0]
    portal_link_create(vendor=other_tenant.vendor, actor=other_tenant.owner, name="Theirs")

    page = owner_client.get(reverse("vendor_portal:portal_link_list")).context["page"]

    assert list(page) == [mine]  # not the other vendor's, nor the customer invitation


def test_revoking_a_sign_up_link_returns_to_the_list(tenant, owner_client):
    link, token = portal_link_create(vendor=tenant.vendor, actor=tenant.owner, name="Web")

    response = owner_client.post(reverse("vendor_portal:portal_link_revoke", args=[link.pk]))

    assert response["Location"] == reverse("vendor_portal:portal_link_list")
    assert Client().get(f"/portal/join/{token}/").status_code == 404
    page = owner_client.get(reverse("vendor_portal:portal_link_list")).content.decode()
    assert "Revoked" in page
    assert reverse("vendor_portal:portal_link_revoke", args=[link.pk]) not in page


def test_read_only_member_sees_sign_up_links_but_cannot_create_them(tenant, read_only_client):
    portal_link_create(vendor=tenant.vendor, actor=tenant.owner, name="Web")
    listing = read_only_client.get(reverse("vendor_portal:portal_link_list"))
    assert listing.status_code == 200
    assert "Create sign-up link" not in listing.content.decode()
    assert read_only_client.post(reverse("vendor_portal:portal_link_create"),
                                 {"name": "Nope"}).status_code == 403
    assert PortalLink.objects.count() == 1
