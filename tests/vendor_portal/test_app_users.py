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
                                           args=[tenant.customer.pk])
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
