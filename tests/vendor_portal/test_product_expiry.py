"""The product's expiry settings page and the notices on the key page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.licensing.models import ExpiryNotice

VALID = {"expiry_notices_enabled": "on", "expiry_notice_days": "1, 14", "block_expired": "on"}


def _url(tenant) -> str:
    return reverse("vendor_portal:product_expiry", args=[tenant.product.pk])


def test_the_page_shows_the_defaults_off_and_says_vendors_opt_in(tenant, owner_client):
    page = owner_client.get(_url(tenant))

    assert page.status_code == 200
    assert page.context["form"].initial == {"expiry_notices_enabled": False,
                                            "expiry_notice_days": "30, 7, 1",
                                            "block_expired": False}
    assert "Off until you switch it on" in page.content.decode()


def test_admin_switches_notices_and_blocking_on(tenant, admin_client_):
    response = admin_client_.post(_url(tenant), VALID)

    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:key_list", args=[tenant.product.pk])
    tenant.product.refresh_from_db()
    assert (tenant.product.expiry_notices_enabled, tenant.product.expiry_notice_days,
            tenant.product.block_expired) == (True, "14, 1", True)
    entry = ObjectLogEntry.objects.for_object(tenant.product).get(action="updated")
    assert entry.actor_label == tenant.admin.email


@pytest.mark.parametrize("days", ["garbage", "0", "400", "7, 7", "1,2,3,4,5,6", "7;1", "x" * 500])
def test_bad_days_are_a_form_error_and_change_nothing(tenant, owner_client, days):
    response = owner_client.post(_url(tenant), {**VALID, "expiry_notice_days": days})

    assert response.status_code == 200
    assert response.context["form"].errors["expiry_notice_days"]
    tenant.product.refresh_from_db()
    assert (tenant.product.expiry_notices_enabled, tenant.product.expiry_notice_days) == (
        False, "30, 7, 1")


def test_a_read_only_member_cannot_change_the_settings(tenant, read_only_client):
    assert read_only_client.post(_url(tenant), VALID).status_code == 403
    tenant.product.refresh_from_db()
    assert tenant.product.expiry_notices_enabled is False


def _notices(tenant) -> None:
    key = tenant.key
    ExpiryNotice.objects.create(key=key, days_before=30, expires=key.expires,
                                email="first@customer.example")
    ExpiryNotice.objects.create(key=key, days_before=0, expires=key.expires,
                                email="first@customer.example")


def test_the_key_page_lists_the_notices_sent(tenant, read_only_client):
    _notices(tenant)

    page = read_only_client.get(reverse("vendor_portal:key_detail", args=[tenant.key.pk]))

    html = page.content.decode()
    assert [n.label for n in page.context["expiry_notices"]] == ["at expiry", "30 days before"]
    assert "30 days before" in html and "At expiry" in html
    assert "first@customer.example" in html


def test_a_key_without_notices_says_so(tenant, owner_client):
    page = owner_client.get(reverse("vendor_portal:key_detail", args=[tenant.key.pk]))

    assert "No expiry notice sent." in page.content.decode()


def test_another_vendor_sees_neither_the_key_page_nor_its_notices(tenant, other_vendor_client):
    _notices(tenant)

    page = other_vendor_client.get(reverse("vendor_portal:key_detail", args=[tenant.key.pk]))

    assert page.status_code == 404
    assert "first@customer.example" not in page.content.decode()
