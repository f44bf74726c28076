"""A vendor deletes a key from its page (confirmation page first, then it is gone); a
customer's IT admin downloads the license file of one of their devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.licensing.models import Customer, CustomerMembership, LicenseKey
from tests.factories import (
    PASSWORD,
    ProductFactory,
    UserFactory,
    make_activation,
    make_key,
    make_vendor,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    owner = UserFactory(email="owner@northwind.example")
    vendor = make_vendor("Northwind Software", owner=owner)
    product = ProductFactory(vendor=vendor, name="Desktop Suite")
    customer = Customer.objects.create(vendor=vendor, name="Contoso", company_name="Contoso Ltd")
    key = make_key(product, customer=customer, max_no_of_machines=5)
    make_activation(key, "A1B2-LAPTOP", friendly_name="alice-laptop", ip="192.0.2.10")
    make_activation(key, "C3D4-BOB", friendly_name="bob-pc", ip="192.0.2.11")
    it_admin = UserFactory(email="it@contoso.example")
    CustomerMembership.objects.create(customer=customer, user=it_admin)
    return {"owner": owner, "product": product, "key": key, "it_admin": it_admin}


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def test_vendor_deletes_a_key_after_reading_what_goes(page, screenshot, shop):
    key = shop["key"]
    log_in(page, shop["owner"].email)
    page.goto(f"/keys/{key.pk}/")
    page.get_by_role("link", name="Delete", exact=True).click()

    page.get_by_role("heading", name=f"Delete key {key.key}?").wait_for()
    removed = page.locator("#deletion-removed").inner_text()
    assert "2 devices (activations)" in removed
    assert "object-log entr" in page.locator("#deletion-kept").inner_text()
    screenshot(page, "key_delete_confirmation")

    page.get_by_role("button", name="Delete key").click()
    page.wait_for_url(f"**/products/{shop['product'].pk}/keys/")
    assert f"Key {key.key} deleted with 2 devices (activations)" in page.inner_text("body")
    assert key.key not in page.locator("table").inner_text()
    screenshot(page, "key_deleted")
    assert not LicenseKey.objects.filter(pk=key.pk).exists()


def test_customer_it_admin_downloads_a_devices_license_file(page, screenshot, shop):
    key = shop["key"]
    log_in(page, shop["it_admin"].email)
    page.goto(f"/portal/licenses/{key.pk}/")
    row = page.locator("#devices tr", has_text="alice-laptop")
    screenshot(page, "portal_license_devices")
    row.get_by_role("link", name="License file").click()

    page.get_by_role("heading", name="License file for alice-laptop").wait_for()
    screenshot(page, "portal_license_file")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download for All clients (StringSign)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("ActivationFile")
    text = Path(download.path()).read_text()
    assert '"licenseKey"' in text and '"signature"' in text
    assert key.activations.count() == 2
