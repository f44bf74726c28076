import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role
from apps.licensing.models import LicenseKey, Product
from apps.licensing.selectors import dashboard_counts, key_list

from ..factories import ProductFactory, add_member, make_activation, make_key, make_vendor


def test_anonymous_user_is_sent_to_login():
    response = Client().get(reverse("vendor_portal:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=/"


def test_dashboard_shows_the_vendors_products_and_counts(tenant, owner_client):
    ProductFactory(vendor=tenant.vendor, name="Second product")
    response = owner_client.get(reverse("vendor_portal:dashboard"))
    assert response.status_code == 200
    assert response.context["counts"] == {
        "products": 2, "keys": 1, "active_keys": 1, "blocked_keys": 0, "customers": 1,
        "activations": 1,
    }
    content = response.content.decode()
    assert tenant.product.name in content
    assert "Second product" in content


def test_dashboard_shows_recent_changes(tenant, owner_client):
    response = owner_client.get(reverse("vendor_portal:dashboard"))
    recent = list(response.context["recent_log"])
    assert any(entry.object_repr == tenant.key.key for entry in recent)


def test_member_of_two_vendors_can_switch_between_them(tenant, owner_client):
    second = make_vendor("Second Vendor Ltd")
    add_member(second, Role.READ_ONLY, user=tenant.owner)
    response = owner_client.post(reverse("vendor_portal:switch_vendor", args=[second.pk]),
                                 follow=True)
    assert response.status_code == 200
    assert response.context["request"].vendor == second
    assert tenant.product.name not in response.content.decode()
    # Roles are per vendor: read-only there, whatever the user is elsewhere.
    assert owner_client.get(reverse("vendor_portal:product_create")).status_code == 403


def test_switching_to_a_vendor_one_is_not_a_member_of_is_404(tenant, other_tenant,
                                                             owner_client):
    response = owner_client.post(
        reverse("vendor_portal:switch_vendor", args=[other_tenant.vendor.pk]))
    assert response.status_code == 404
    dashboard = owner_client.get(reverse("vendor_portal:dashboard"))
    assert dashboard.context["request"].vendor == tenant.vendor


def test_dashboard_lists_the_latest_keys_with_their_product(tenant, owner_client):
    body = owner_client.get(reverse("vendor_portal:dashboard")).content.decode()
    assert tenant.key.key in body
    assert tenant.product.name in body


@pytest.fixture
def keys_in_each_state(tenant, other_tenant):
    """Beside the tenant's own key (active: a period, expiring later, one device): an expired
    key, one of period 0 past its date (never expires), two blocked, a second product's key
    with a device, and another vendor's device."""
    product = tenant.product
    past = timezone.now() - dt.timedelta(days=1)
    LicenseKey.objects.filter(pk=make_key(product).pk).update(expires=past)  # expired
    LicenseKey.objects.filter(pk=make_key(product, period=0).pk).update(expires=past)  # never
    LicenseKey.objects.filter(pk=make_key(product).pk).update(block=True)  # blocked
    LicenseKey.objects.filter(pk=make_key(product, period=0).pk).update(block=True)
    make_activation(make_key(ProductFactory(vendor=tenant.vendor)), "second-product")
    make_activation(other_tenant.key, "another-vendors-device")


@pytest.mark.usefixtures("keys_in_each_state")
def test_dashboard_counts_each_state_of_key_of_this_vendor_only(owner_client):
    response = owner_client.get(reverse("vendor_portal:dashboard"))

    assert response.context["counts"] == {
        "products": 2, "keys": 6, "active_keys": 3, "blocked_keys": 2, "customers": 1,
        "activations": 2,
    }


@pytest.mark.usefixtures("keys_in_each_state")
@pytest.mark.parametrize(("count", "status"), [
    ("keys", ""), ("active_keys", "active"), ("blocked_keys", "blocked")])
def test_dashboard_counts_what_the_key_lists_filter_shows(tenant, count, status):
    """The dashboard's statement and the key list's filter (LicenseKeyQuerySet.active()...)
    say the same of every key."""
    listed = sum(key_list(product=product, status=status).count()
                 for product in Product.objects.for_vendor(tenant.vendor))

    assert dashboard_counts(vendor=tenant.vendor)[count] == listed
