"""The public invitation link: landing, login first, accepting with the invited address."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from apps.access import SESSION_RESELLER_KEY
from apps.accounts.models import Reseller
from apps.licensing.services.resellers import reseller_invite
from tests.factories import UserFactory, make_vendor

from .personas import client_for

INVITED = "partner@reseller.example"
DASHBOARD = reverse("reseller_portal:dashboard")


def invite(vendor, mailoutbox, capture, email: str = INVITED) -> tuple[Reseller, str]:
    """Invite `email` to resell for `vendor`; return the reseller and the link's path."""
    owner = vendor.memberships.get().user
    template = "http://testserver" + reverse("reseller_portal:accept", args=["TOKEN"]).replace(
        "TOKEN", "{token}")
    with capture(execute=True):
        reseller = reseller_invite(vendor=vendor, actor=owner, name="Partner", email=email,
                                   company="Partner GmbH", accept_url_template=template)
    url = re.search(r"http://testserver/\S+", mailoutbox[-1].body).group(0)
    return reseller, urlsplit(url).path


@pytest.fixture
def invitation(db, mailoutbox, django_capture_on_commit_callbacks) -> tuple[Reseller, str]:
    return invite(make_vendor("Northwind"), mailoutbox, django_capture_on_commit_callbacks)


def test_unknown_token_is_a_404_page_for_anyone(db):
    url = reverse("reseller_portal:accept", args=["not-a-real-token"])
    response = Client().get(url)
    assert response.status_code == 404
    assertContains(response, "This invitation is not valid", status_code=404)
    assert client_for(UserFactory()).post(url).status_code == 404


def test_anonymous_visitor_is_sent_to_log_in_with_a_note_to_sign_up_first(invitation):
    _, path = invitation
    response = Client().get(path, follow=True)
    first_hop = response.redirect_chain[0]
    assert first_hop == (f"{reverse('account_login')}?next={quote(path, safe='/')}", 302)
    assertContains(response, "Sign up with that address first")
    assertContains(response, INVITED)


def test_the_invited_address_accepts_and_lands_on_the_reseller_portal(invitation):
    reseller, path = invitation
    user = UserFactory(email=INVITED)
    client = client_for(user)
    page = client.get(path)
    assertContains(page, "Accept invitation")
    assertContains(page, "Resell for Northwind")

    response = client.post(path)

    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    reseller.refresh_from_db()
    assert (reseller.user, reseller.accepted_at is not None) == (user, True)
    assert client.session[SESSION_RESELLER_KEY] == reseller.pk
    assertContains(client.get(DASHBOARD), "Reselling for <b id=\"reseller-vendor\">Northwind</b>",
                   html=False)


def test_another_address_is_refused_with_a_message(invitation):
    reseller, path = invitation
    client = client_for(UserFactory(email="someone@else.example"))
    assertContains(client.get(path), "This invitation is for partner@reseller.example")

    response = client.post(path, follow=True)

    assert response.status_code == 200
    assertContains(response, "Log in with that address to accept it.")
    reseller.refresh_from_db()
    assert reseller.user is None and reseller.accepted_at is None


def test_a_used_invitation_link_is_404(invitation):
    _, path = invitation
    client = client_for(UserFactory(email=INVITED))
    assert client.post(path).status_code == 302
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


def test_accepting_a_second_vendor_chooses_it_and_the_switcher_goes_back(
        invitation, mailoutbox, django_capture_on_commit_callbacks):
    first, first_path = invitation
    client = client_for(UserFactory(email=INVITED))
    client.post(first_path)
    second, second_path = invite(make_vendor("Southwind"), mailoutbox,
                                 django_capture_on_commit_callbacks)
    client.post(second_path)

    page = client.get(DASHBOARD)
    assert page.context["request"].reseller == second
    switch = reverse("reseller_portal:switch_reseller", args=[first.pk])
    assertContains(page, f'action="{switch}"')

    assert client.post(switch).status_code == 302
    assert client.get(DASHBOARD).context["request"].reseller == first
