"""The customer portal's Users page: the customer's application users (userauth), read-only
for everyone of the customer, removable by whoever may manage activations."""

from __future__ import annotations

from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.models import AppUser
from apps.licensing.services import app_user_authenticate, app_user_register

from .personas import client_for

LIST = reverse("customer_portal:app_user_list")


def _user(customer, username: str, **kwargs) -> AppUser:
    return app_user_register(vendor=customer.vendor, actor=Actor.for_system("test"),
                             username=username, password="pw", customer=customer, **kwargs)


def test_the_customers_people_see_its_users_only(portal, customer_reader_client):
    _user(portal.customer, "alice", email="alice@example.com")
    app_user_authenticate(vendor=portal.customer.vendor, username="alice", password="pw")
    _user(portal.neighbour, "neighbours-user")
    response = customer_reader_client.get(LIST)
    assert response.status_code == 200
    assertContains(response, "alice@example.com")
    assert [u.username for u in response.context["app_users"]] == ["alice"]
    assertNotContains(response, "neighbours-user")
    assertNotContains(response, "Remove")  # the reader may not remove
    assertContains(response, 'id="read-only-note"')


def test_the_customer_admin_removes_a_user(portal, customer_admin_client):
    user = _user(portal.customer, "alice")
    page = customer_admin_client.get(LIST)
    assertContains(page, reverse("customer_portal:app_user_remove", args=[user.pk]))
    assertContains(page, "data-confirm")

    response = customer_admin_client.post(reverse("customer_portal:app_user_remove",
                                                  args=[user.pk]))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not AppUser.objects.filter(pk=user.pk).exists()
    entry = ObjectLogEntry.objects.get(action="app user removed")
    assert entry.actor_id == portal.admin.pk and entry.vendor_id == portal.customer.vendor_id


def test_a_reader_may_not_remove(portal, customer_reader_client):
    user = _user(portal.customer, "alice")
    response = customer_reader_client.post(reverse("customer_portal:app_user_remove",
                                                   args=[user.pk]))
    assert response.status_code == 403
    assert AppUser.objects.filter(pk=user.pk).exists()


def test_another_customers_user_is_404(portal):
    theirs = _user(portal.neighbour, "neighbours-user")
    response = client_for(portal.admin).post(reverse("customer_portal:app_user_remove",
                                                     args=[theirs.pk]))
    assert response.status_code == 404
    assert AppUser.objects.filter(pk=theirs.pk).exists()


def test_another_vendors_user_is_404(portal, other_tenant):
    foreign = _user(other_tenant.customer, "foreign-user")
    response = client_for(portal.admin).post(reverse("customer_portal:app_user_remove",
                                                     args=[foreign.pk]))
    assert response.status_code == 404
    assert AppUser.objects.filter(pk=foreign.pk).exists()
