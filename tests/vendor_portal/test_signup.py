"""Sign-up: with an organisation it makes a vendor; through a portal link it joins a portal."""

from __future__ import annotations

from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Membership, Role, User
from apps.licensing.models import CustomerMembership
from apps.licensing.services.portal import SESSION_PORTAL_TOKEN, portal_link_create
from tests.factories import CustomerFactory, confirm_last_email, make_vendor

PASSWORD = "a-long-enough-password-9"


def _sign_up(client: Client, email: str, organisation: str = "") -> None:
    response = client.post(reverse("account_signup"), {
        "email": email, "password1": PASSWORD, "password2": PASSWORD,
        "organisation": organisation})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_signing_up_with_an_organisation_makes_the_user_its_owner(db):
    _sign_up(Client(), "founder@new.example", "New Software Ltd")
    user = User.objects.get(email="founder@new.example")
    membership = Membership.objects.get(user=user)
    assert (membership.vendor.name, membership.role) == ("New Software Ltd", Role.OWNER)
    assert membership.vendor.signing_key
    assert len(mail.outbox) == 1  # the verification e-mail


def test_signing_up_through_a_portal_link_joins_the_portal_and_makes_no_vendor(db):
    vendor = make_vendor("Seller")
    customer = CustomerFactory(vendor=vendor, email="buyer@client.example")
    _, token = portal_link_create(vendor=vendor, actor=vendor.memberships.get().user,
                                  can_manage_activations=True)
    client = Client()
    session = client.session
    session[SESSION_PORTAL_TOKEN] = token
    session.save()

    _sign_up(client, "buyer@client.example")
    user = User.objects.get(email="buyer@client.example")
    assert not CustomerMembership.objects.filter(user=user).exists()  # not before verification

    confirm_last_email(client)

    assert not Membership.objects.filter(user=user).exists()
    membership = CustomerMembership.objects.get(user=user)
    assert membership.customer == customer and membership.can_manage_activations


def test_a_user_without_vendor_or_portal_is_asked_for_an_organisation(db):
    client = Client()
    _sign_up(client, "someone@new.example")
    user = User.objects.get(email="someone@new.example")
    client.force_login(user)

    assert client.get(reverse("vendor_portal:dashboard"))["Location"] == \
        reverse("vendor_portal:organisation_create")
    response = client.post(reverse("vendor_portal:organisation_create"),
                           {"organisation": "Later Ltd"})
    assert response.status_code == 302
    assert Membership.objects.get(user=user).vendor.name == "Later Ltd"


def test_an_invitee_signs_up_with_the_filled_in_address_and_still_verifies_it(
        tenant_invitation, client):
    """The invitation fills in the address; it proves nothing about it (the vendor saw the
    link), so the address is verified as any other before the invitation can be accepted."""
    from allauth.account.models import EmailAddress

    from apps.accounts.services import SESSION_INVITATION_TOKEN

    client.get(tenant_invitation.path)
    assert 'value="invitee@example.com"' in client.get(reverse("account_signup")).content.decode()
    _sign_up(client, "invitee@example.com")
    user = User.objects.get(email="invitee@example.com")
    assert not EmailAddress.objects.get(user=user).verified
    assert SESSION_INVITATION_TOKEN not in client.session
    confirm_last_email(client)
    assert client.post(tenant_invitation.path).status_code == 302
    assert Membership.objects.get(user=user).role == Role.ADMIN
