"""The application users (userauth) section of the vendor's customer page: list, remove,
and a password reset token shown once."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.models import AppUser
from apps.licensing.services import app_user_change_password, app_user_register
from apps.licensing.services.userauth import CredentialsRejected
from tests.factories import CustomerFactory


def _user(tenant, username="alice", customer=None, **kwargs) -> AppUser:
    return app_user_register(vendor=tenant.vendor, actor=Actor.for_system("test"),
                             username=username, password="pw",
                             customer=customer or tenant.customer, **kwargs)


def test_the_customer_page_lists_its_app_users(tenant, read_only_client):
    _user(tenant, "alice", email="alice@example.com")
    _user(tenant, "stranger", customer=CustomerFactory(vendor=tenant.vendor))
    response = read_only_client.get(reverse("vendor_portal:customer_detail",
                                            args=[tenant.customer.pk]))
    assertContains(response, "alice@example.com")
    assertContains(response, "Never")  # no login yet
    assertNotContains(response, "stranger")
    # Read-only members see the list without the actions.
    assertNotContains(response, "Reset password")


def test_owner_sees_the_actions_with_a_confirmation(tenant, owner_client):
    user = _user(tenant)
    response = owner_client.get(reverse("vendor_portal:customer_detail",
                                        args=[tenant.customer.pk]))
    html = response.content.decode()
    for name in ("app_user_remove", "app_user_reset_password"):
        action = reverse(f"vendor_portal:{name}", args=[user.pk])
        form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>', html)
        assert form and "data-confirm" in form.group(0)


def test_remove_deletes_the_user_and_logs_it(tenant, owner_client):
    user = _user(tenant)
    response = owner_client.post(reverse("vendor_portal:app_user_remove", args=[user.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:customer_detail",
                                           args=[tenant.customer.pk]) + "#app-users"
    assert not AppUser.objects.filter(pk=user.pk).exists()
    entry = ObjectLogEntry.objects.get(action="app user removed")
    assert entry.actor_type == "user" and entry.actor_id == tenant.owner.pk


def test_reset_password_shows_a_single_use_token_once(tenant, owner_client):
    user = _user(tenant)
    response = owner_client.post(reverse("vendor_portal:app_user_reset_password",
                                         args=[user.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = response.context["token"]
    assertContains(response, token)
    stored = AppUser.objects.get(pk=user.pk)
    assert stored.reset_token_hash and token not in stored.reset_token_hash

    app_user_change_password(user=stored, actor=Actor.for_system("test"), new_password="new",
                             reset_token=token)
    assert check_password("new", AppUser.objects.get(pk=user.pk).password)
    with pytest.raises(CredentialsRejected):
        app_user_change_password(user=stored, actor=Actor.for_system("test"),
                                 new_password="again", reset_token=token)
    # The customer page never shows the token again.
    page = owner_client.get(reverse("vendor_portal:customer_detail", args=[tenant.customer.pk]))
    assertNotContains(page, token)


def test_read_only_members_may_not_remove_or_reset(tenant, read_only_client):
    user = _user(tenant)
    for name in ("app_user_remove", "app_user_reset_password"):
        response = read_only_client.post(reverse(f"vendor_portal:{name}", args=[user.pk]))
        assert response.status_code == 403
    assert AppUser.objects.get(pk=user.pk).reset_token_hash == ""


def test_another_vendor_gets_404(tenant, other_vendor_client):
    user = _user(tenant)
    for name in ("app_user_remove", "app_user_reset_password"):
        response = other_vendor_client.post(reverse(f"vendor_portal:{name}", args=[user.pk]))
        assert response.status_code == 404
    assert AppUser.objects.get(pk=user.pk).reset_token_hash == ""


def test_posts_need_a_csrf_token(tenant):
    user = _user(tenant)
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.owner)
    response = client.post(reverse("vendor_portal:app_user_remove", args=[user.pk]))
    assert response.status_code == 403
    assert AppUser.objects.filter(pk=user.pk).exists()


def test_the_reset_token_page_says_its_expiry_is_utc(tenant, owner_client):
    user = _user(tenant)
    response = owner_client.post(reverse("vendor_portal:app_user_reset_password",
                                         args=[user.pk]))
    expires = AppUser.objects.get(pk=user.pk).reset_token_expires
    assertContains(response, f"expires {expires:%Y-%m-%d %H:%M} UTC")


# --- The vendor-wide list: every user of the vendor's application, with or without customer --

LIST = reverse("vendor_portal:app_user_list")


def test_the_list_shows_users_with_and_without_a_customer(tenant, read_only_client):
    _user(tenant, "alice", email="alice@example.com")
    loner = app_user_register(vendor=tenant.vendor, actor=Actor.for_system("test"),
                              username="loner", password="pw", email="loner@example.com")
    assert loner.customer is None

    response = read_only_client.get(LIST)

    assert response.status_code == 200
    assert [u.username for u in response.context["page"]] == ["alice", "loner"]
    customer_url = reverse("vendor_portal:customer_detail", args=[tenant.customer.pk])
    assertContains(response, f'<a href="{customer_url}">')
    assertContains(response, "loner@example.com")
    assertContains(response, "No customer")
    assertNotContains(response, "Reset password")  # read-only: no actions


def test_the_list_never_shows_another_vendors_users(tenant, other_tenant, other_vendor_client):
    ours = _user(tenant, "ours-only")
    theirs = app_user_register(vendor=other_tenant.vendor, actor=Actor.for_system("test"),
                               username="theirs-only", password="pw")

    response = other_vendor_client.get(LIST)

    assert [u.username for u in response.context["page"]] == ["theirs-only"]
    assertNotContains(response, "ours-only")
    assert other_vendor_client.get(LIST, {"q": "ours"}).context["page"].paginator.count == 0
    for name in ("app_user_remove", "app_user_reset_password"):
        url = reverse(f"vendor_portal:{name}", args=[ours.pk])
        assert other_vendor_client.post(url, {"back": "list"}).status_code == 404
    assert AppUser.objects.filter(pk=ours.pk).exists()
    assert AppUser.objects.filter(pk=theirs.pk).exists()


def test_the_list_is_searchable_and_paginated(tenant, owner_client):
    for n in range(30):
        app_user_register(vendor=tenant.vendor, actor=Actor.for_system("test"),
                          username=f"user{n:02}", password="pw")
    _user(tenant, "bob", email="bob@builder.example")

    first = owner_client.get(LIST)
    assert first.context["page"].paginator.count == 31 and len(first.context["page"]) == 25
    assert [u.username for u in owner_client.get(LIST, {"page": 2}).context["page"]][-1] == \
        "user29"
    assert [u.username for u in owner_client.get(LIST, {"q": "BUILDER"}).context["page"]] == \
        ["bob"]
    without = owner_client.get(LIST, {"without_customer": "1"}).context["page"]
    assert without.paginator.count == 30


def test_the_list_offers_the_actions_and_removing_returns_to_it(tenant, owner_client):
    loner = app_user_register(vendor=tenant.vendor, actor=Actor.for_system("test"),
                              username="loner", password="pw")
    html = owner_client.get(LIST).content.decode()
    for name in ("app_user_remove", "app_user_reset_password"):
        action = reverse(f"vendor_portal:{name}", args=[loner.pk])
        form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>', html)
        assert form and "data-confirm" in form.group(0)

    response = owner_client.post(reverse("vendor_portal:app_user_remove", args=[loner.pk]),
                                 {"back": "list"})

    assert response.status_code == 302 and response["Location"] == LIST
    assert not AppUser.objects.filter(pk=loner.pk).exists()


def test_removing_a_user_without_customer_returns_to_the_list(tenant, owner_client):
    loner = app_user_register(vendor=tenant.vendor, actor=Actor.for_system("test"),
                              username="loner", password="pw")
    response = owner_client.post(reverse("vendor_portal:app_user_remove", args=[loner.pk]))
    assert response["Location"] == LIST


def test_the_customers_navigation_links_the_list(tenant, owner_client):
    html = owner_client.get(reverse("vendor_portal:customer_list")).content.decode()
    nav = re.search(r'<nav class="report-nav" aria-label="Customers">.*?</nav>', html, re.S)
    assert nav and re.findall(r'<a href="([^"]+)"', nav.group(0)) == [
        reverse("vendor_portal:customer_list"), LIST, reverse("vendor_portal:portal_link_list")]
