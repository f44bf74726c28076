"""What a reseller never sees: other resellers' things, the vendor's other products, and the
vendor's own dashboard."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_vendor

from .personas import client_for

VENDOR_PAGES = ["dashboard", "product_list", "customer_list", "object_log", "member_list"]


def _reseller_pages(world) -> list[str]:
    me = world.me
    return [reverse("reseller_portal:dashboard"), reverse("reseller_portal:key_list"),
            reverse("reseller_portal:customer_list"), reverse("reseller_portal:customer_create"),
            reverse("reseller_portal:key_issue", args=[me.right.pk]),
            reverse("reseller_portal:key_detail", args=[me.key.pk])]


def test_no_reseller_page_shows_other_resellers_or_the_vendors_other_things(resellers,
                                                                          reseller_client):
    secrets = [resellers.rival.key.key, resellers.rival.customer.name,
               resellers.rival.reseller.name, resellers.vendor_key_other_product.key,
               resellers.vendor_key_other_product.product.name, resellers.tenant.key.key,
               resellers.tenant.customer.name, resellers.tenant.owner.email,
               resellers.foreign.key.key, resellers.foreign.customer.name]
    for url in _reseller_pages(resellers):
        response = reseller_client.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        assert [s for s in secrets if s in content] == [], url


@pytest.mark.parametrize("name", VENDOR_PAGES)
def test_a_reseller_who_is_no_vendor_member_is_sent_to_the_reseller_portal(
        resellers, reseller_client, name):
    response = reseller_client.get(reverse(f"vendor_portal:{name}"))
    assert response.status_code == 302
    assert response["Location"] == reverse("reseller_portal:dashboard")


def test_a_reseller_cannot_open_the_vendors_keys_or_customers_in_the_vendor_portal(
        resellers, reseller_client):
    for url in (reverse("vendor_portal:key_detail", args=[resellers.me.key.pk]),
                reverse("vendor_portal:customer_detail", args=[resellers.me.customer.pk]),
                reverse("vendor_portal:key_list", args=[resellers.tenant.product.pk])):
        response = reseller_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("reseller_portal:dashboard")


def test_a_reseller_with_a_vendor_of_their_own_gets_404_on_the_resold_vendors_objects(
        resellers):
    me = resellers.me
    make_vendor("Acme's own company", owner=me.user)
    client = client_for(me.user)
    for url in (reverse("vendor_portal:key_detail", args=[me.key.pk]),
                reverse("vendor_portal:customer_detail", args=[me.customer.pk]),
                reverse("vendor_portal:key_list", args=[resellers.tenant.product.pk])):
        assert client.get(url).status_code == 404, url
    dashboard = client.get(reverse("vendor_portal:dashboard")).content.decode()
    assert resellers.me.key.key not in dashboard
    assert client.get(reverse("reseller_portal:dashboard")).status_code == 200


def test_the_rival_reseller_gets_404_on_this_resellers_objects(resellers, rival_client):
    me = resellers.me
    for url in (reverse("reseller_portal:key_detail", args=[me.key.pk]),
                reverse("reseller_portal:key_issue", args=[me.right.pk])):
        assert rival_client.get(url).status_code == 404, url
    assert rival_client.post(reverse("reseller_portal:license_file", args=[me.key.pk])
                             ).status_code == 404
    assert rival_client.post(reverse("reseller_portal:switch_reseller", args=[me.reseller.pk])
                             ).status_code == 404
