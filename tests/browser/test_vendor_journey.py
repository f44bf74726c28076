"""A vendor's main journeys, driven through Debian's chromium against the live server."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.core import mail

from apps.accounts.models import Membership, User
from apps.licensing.models import Activation, LicenseKey
from apps.licensing.services.credentials import token_authenticate
from tests.factories import (
    PASSWORD,
    ProductFactory,
    UserFactory,
    make_activation,
    make_key,
    make_vendor,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY_PATTERN = re.compile(r"\b[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}\b")
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+/")
SIGNUP_EMAIL = "founder@vendor.example"


def sign_up_and_confirm(page, screenshot) -> None:
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", SIGNUP_EMAIL)
    page.fill("input[name=organisation]", "Northwind Software")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    screenshot(page, "signup")
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_load_state()

    assert len(mail.outbox) == 1, "sign-up must send exactly one confirmation mail"
    assert mail.outbox[0].to == [SIGNUP_EMAIL]
    link = CONFIRM_LINK.search(mail.outbox[0].body)
    assert link, mail.outbox[0].body
    page.goto(link.group(0))
    screenshot(page, "email_confirm")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    if "/accounts/login/" in page.url:
        log_in(page, SIGNUP_EMAIL)


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def create_product(page, screenshot) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products & keys").click()
    page.get_by_role("link", name="New product").click()
    page.get_by_label(re.compile(r"^Name:?$")).fill("Desktop Suite")
    page.get_by_label("F1 name").fill("Pro edition")
    screenshot(page, "product_create")
    page.get_by_role("button", name="Create product").click()
    page.get_by_role("heading", name="Desktop Suite: license keys").wait_for()


def test_signed_up_vendor_creates_a_product_and_a_key(page, screenshot):
    sign_up_and_confirm(page, screenshot)

    page.get_by_role("heading", name="Northwind Software").wait_for()
    assert urlparse(page.url).path == "/"
    screenshot(page, "dashboard")
    user = User.objects.get(email=SIGNUP_EMAIL)
    vendor = Membership.objects.get(user=user).vendor
    assert vendor.name == "Northwind Software"

    create_product(page, screenshot)
    page.get_by_role("link", name="Create keys").click()
    screenshot(page, "key_create")
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_text("Created 1 key(s).").wait_for()
    new_key = page.get_by_role("heading", level=1).inner_text().strip()
    assert KEY_PATTERN.fullmatch(new_key), new_key
    screenshot(page, "key_detail_new")

    page.get_by_role("link", name="Desktop Suite").click()
    assert page.locator("table tbody td.mono a").all_inner_texts() == [new_key]
    screenshot(page, "key_list")
    assert list(LicenseKey.objects.filter(product__vendor=vendor).values_list(
        "key", flat=True)) == [new_key]

    page.get_by_role("navigation", name="Main").get_by_text("Settings").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Security").click()
    public_key = page.locator("#public-key-xml").inner_text()
    assert public_key.startswith("<RSAKeyValue><Modulus>")
    assert public_key.rstrip().endswith("</Exponent></RSAKeyValue>")
    screenshot(page, "security")


@pytest.fixture
def demo_vendor(transactional_db):
    """A vendor owner with a product, a key and one activated device, as seed_demo makes."""
    owner = UserFactory(email="owner@demo.example")
    vendor = make_vendor("Demo Vendor", owner=owner)
    product = ProductFactory(vendor=vendor, name="Demo App")
    key = make_key(product, max_no_of_machines=3, notes="Bought at the fair")
    make_activation(key, "machine-1", friendly_name="LAPTOP-1", ip="192.0.2.1")
    make_activation(key, "machine-2", friendly_name="DESKTOP-2", ip="192.0.2.2")
    return owner, key


def test_vendor_blocks_a_key_and_deactivates_a_device(page, screenshot, demo_vendor):
    owner, key = demo_vendor
    log_in(page, owner.email)
    page.goto(f"/keys/{key.pk}/")
    screenshot(page, "key_detail")

    page.get_by_role("button", name="Block").click()
    page.get_by_text("Key blocked.").wait_for()
    assert page.locator("dt:has-text('Status') + dd .badge").all_inner_texts() == ["Blocked"]
    assert page.get_by_role("button", name="Unblock").is_visible()
    key.refresh_from_db()
    assert key.block is True

    devices = page.locator("table#devices")
    devices.get_by_role("row", name=re.compile("LAPTOP-1")).get_by_role("checkbox").check()
    page.get_by_role("button", name="Deactivate selected").click()
    page.get_by_text("1 device deactivated; its seat is free.").wait_for()
    assert devices.locator("tbody tr").all_inner_texts()[0].split("\t")[1] == "machine-2"
    assert devices.locator("tbody tr").count() == 1
    assert page.get_by_role("heading", name="Activated devices (1 of 3)").is_visible()
    assert list(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) == [
        "machine-2"]
    screenshot(page, "key_detail_after_block_and_deactivate")


def test_key_form_shows_an_error_for_zero_keys(page, screenshot, demo_vendor):
    owner, key = demo_vendor
    log_in(page, owner.email)
    page.goto(f"/products/{key.product_id}/keys/new/")
    page.locator("form.panel").evaluate("form => { form.noValidate = true; }")
    page.get_by_label("Number of keys").fill("0")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.get_by_role("button", name="Create", exact=True).click()
    assert response.value.status == 200
    assert page.get_by_role("heading", name="Create license keys").is_visible()
    assert page.locator(".errorlist").filter(
        has_text="greater than or equal to 1").is_visible()
    screenshot(page, "key_create_error")
    assert LicenseKey.objects.filter(product_id=key.product_id).count() == 1


def test_vendor_creates_an_access_token_and_sees_its_secret_once(page, screenshot,
                                                                 demo_vendor):
    owner, key = demo_vendor
    log_in(page, owner.email)
    page.get_by_role("navigation", name="Main").get_by_text("Settings").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Access tokens").click()
    page.get_by_role("link", name="New access token").click()
    page.get_by_label(re.compile(r"^Name:?$")).fill("Desktop client")
    page.get_by_label("key.Activate", exact=True).check()
    page.get_by_label("key.GetKey", exact=True).check()
    screenshot(page, "token_create")
    page.get_by_role("button", name="Create token").click()

    secret = page.locator("#token-string").inner_text().strip()
    screenshot(page, "token_created")
    token = token_authenticate(secret)
    assert token is not None, "the shown secret must authenticate against the Web API"
    assert token.name == "Desktop client"
    assert token.vendor == key.product.vendor
    assert sorted(token.permissions) == ["key.Activate", "key.GetKey"]
    page.get_by_role("link", name="Done").click()
    assert secret not in page.content()


def test_key_create_form_renders_each_field_once(page, demo_vendor):
    owner, key = demo_vendor
    log_in(page, owner.email)
    page.goto(f"/products/{key.product_id}/keys/new/")
    names = page.locator("form.panel [name]:not([type=hidden])").evaluate_all(
        "elements => elements.map(e => e.name)")
    assert sorted(names) == sorted(set(names)), "an input is rendered more than once"
