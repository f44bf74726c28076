"""Deleting a key, a customer and a product from the vendor portal: a confirmation page that
says what goes and what stays, then POST."""

from __future__ import annotations

from django.urls import reverse

from apps.accounts.models import Reseller
from apps.licensing.models import (
    Customer,
    Issuance,
    IssuanceRight,
    LicenseKey,
    LicenseTemplate,
    Product,
)
from tests.factories import make_key


def _url(name: str, pk: int) -> str:
    return reverse(f"vendor_portal:{name}", args=[pk])


def test_the_key_page_links_to_the_confirmation_page(tenant, owner_client):
    content = owner_client.get(_url("key_detail", tenant.key.pk)).content.decode()
    assert f'href="{_url("key_delete", tenant.key.pk)}"' in content


def test_the_key_confirmation_page_names_what_goes_and_what_stays(tenant, owner_client):
    response = owner_client.get(_url("key_delete", tenant.key.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "1 device (activation)" in content
    assert "1 data object" in content
    assert "object-log entr" in content
    assert LicenseKey.objects.filter(pk=tenant.key.pk).exists()


def test_posting_deletes_the_key_and_returns_to_its_product(tenant, owner_client):
    response = owner_client.post(_url("key_delete", tenant.key.pk))
    assert response.status_code == 302
    assert response["Location"] == _url("key_list", tenant.product.pk)
    assert not LicenseKey.objects.filter(pk=tenant.key.pk).exists()
    page = owner_client.get(response["Location"]).content.decode()
    assert f"Key {tenant.key.key} deleted with 1 device (activation), 1 data object." in page


def test_a_reseller_issued_key_shows_why_and_offers_no_delete_button(tenant, owner_client):
    template = LicenseTemplate.objects.create(product=tenant.product, name="T")
    reseller = Reseller.objects.create(vendor=tenant.vendor, name="Partner", email="p@x.example")
    right = IssuanceRight.objects.create(reseller=reseller, template=template, quota=2, issued=1)
    Issuance.objects.create(right=right, reseller=reseller, template=template, key=tenant.key)

    content = owner_client.get(_url("key_delete", tenant.key.pk)).content.decode()
    assert "billing report" in content
    assert "Delete key</button>" not in content
    response = owner_client.post(_url("key_delete", tenant.key.pk), follow=True)
    assert "billing report" in response.content.decode()
    assert LicenseKey.objects.filter(pk=tenant.key.pk).exists()


def test_read_only_members_get_403_and_other_vendors_404(tenant, read_only_client,
                                                           other_vendor_client):
    for name, pk in (("key_delete", tenant.key.pk), ("customer_delete", tenant.customer.pk),
                     ("product_delete", tenant.product.pk)):
        assert read_only_client.get(_url(name, pk)).status_code == 403
        assert read_only_client.post(_url(name, pk)).status_code == 403
        assert other_vendor_client.get(_url(name, pk)).status_code == 404
        assert other_vendor_client.post(_url(name, pk)).status_code == 404
    assert LicenseKey.objects.filter(pk=tenant.key.pk).exists()
    assert Customer.objects.filter(pk=tenant.customer.pk).exists()
    assert Product.objects.filter(pk=tenant.product.pk).exists()


def test_deleting_a_customer_keeps_its_keys(tenant, owner_client):
    page = owner_client.get(_url("customer_delete", tenant.customer.pk)).content.decode()
    assert "1 license key, kept without a customer" in page
    assert f'href="{_url("customer_delete", tenant.customer.pk)}"' in owner_client.get(
        _url("customer_detail", tenant.customer.pk)).content.decode()

    response = owner_client.post(_url("customer_delete", tenant.customer.pk))
    assert response["Location"] == reverse("vendor_portal:customer_list")
    assert not Customer.objects.filter(pk=tenant.customer.pk).exists()
    tenant.key.refresh_from_db()
    assert tenant.key.customer is None


def test_a_product_with_keys_is_deleted_only_with_its_name_typed(tenant, owner_client):
    make_key(tenant.product)
    url = _url("product_delete", tenant.product.pk)
    page = owner_client.get(url).content.decode()
    assert "2 license keys" in page
    assert "Delete product and 2 keys" in page

    wrong = owner_client.post(url, {"confirmed_keys": 2, "confirm_name": "nope"})
    assert wrong.status_code == 200
    assert "exactly to delete it" in wrong.content.decode()
    assert Product.objects.filter(pk=tenant.product.pk).exists()

    response = owner_client.post(url, {"confirmed_keys": 2, "confirm_name": tenant.product.name})
    assert response["Location"] == reverse("vendor_portal:product_list")
    assert not Product.objects.filter(pk=tenant.product.pk).exists()
    assert not LicenseKey.objects.filter(product_id=tenant.product.pk).exists()


def test_a_product_that_gained_a_key_since_the_page_is_not_deleted(tenant, owner_client):
    url = _url("product_delete", tenant.product.pk)
    response = owner_client.post(url, {"confirmed_keys": 0, "confirm_name": tenant.product.name},
                                 follow=True)
    assert "now has 1 keys, not 0" in response.content.decode()
    assert Product.objects.filter(pk=tenant.product.pk).exists()
