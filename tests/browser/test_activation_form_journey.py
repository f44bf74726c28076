"""Activation forms in the browser: a vendor publishes one, an anonymous end user downloads a
license file with it, and the file verifies with the official Python client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings
from licensing.methods import Helpers
from licensing.models import LicenseKey as ClientLicenseKey

from apps.audit.log import Actor
from apps.licensing.models import ActivationForm
from apps.licensing.services.activation_forms import activation_form_create
from apps.licensing.signing import public_key_xml
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, UserFactory, make_activation, make_key, make_vendor

from .conftest import DEFAULT_TIMEOUT_MS
from .test_vendor_journey import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MACHINE_CODE = "3f1c9a0e5b7d4c2a9e8f6b1d0c3a5e7f9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a"


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()  # failure counters of earlier tests must not lock this one out


@pytest.fixture
def offline_product(transactional_db):
    owner = UserFactory(email="owner@factory.example")
    vendor = make_vendor("Northwind Software", owner=owner)
    product = ProductFactory(vendor=vendor, name="Plant Controller")
    key = make_key(product, max_no_of_machines=2)
    make_activation(key, "control-room-pc", friendly_name="CONTROL-ROOM")
    return owner, key


def vendor_creates_a_form(page, screenshot, key) -> str:
    page.goto(f"/products/{key.product_id}/keys/")
    page.get_by_role("link", name="Activation forms").click()
    page.get_by_text("Activation forms are switched off for this product").wait_for()
    page.get_by_role("link", name="Product settings").click()
    page.get_by_label("Offer the public activation form for offline devices").check()
    page.get_by_role("button", name="Save product").click()
    page.get_by_role("link", name="Activation forms").click()

    page.get_by_role("link", name="New activation form").click()
    page.get_by_label(re.compile(r"^Title:?$")).fill("Activate Plant Controller offline")
    page.get_by_label(re.compile(r"^Instructions:?$")).fill(
        "Open Plant Controller, choose Help → License and copy the machine code.")
    page.get_by_label("Ask for a device name").check()
    screenshot(page, "activation_form_create")
    page.get_by_role("button", name="Create activation form").click()
    page.get_by_text("Activation form “Activate Plant Controller offline” created.").wait_for()
    assert not page.get_by_text("switched off").is_visible()
    screenshot(page, "activation_form_list")
    return page.locator("table tbody td.mono a").inner_text().strip()


def test_anonymous_user_downloads_a_license_file_from_a_vendors_form(
        page, browser, live_server, screenshot, offline_product, tmp_path):
    owner, key = offline_product
    log_in(page, owner.email)
    public_url = vendor_creates_a_form(page, screenshot, key)
    form = ActivationForm.objects.get(product=key.product)
    assert public_url == f"{live_server.url}/f/{form.slug}/"

    # The end user: another browser, no cookies, no login, no JavaScript needed.
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport={"width": 1280, "height": 800})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    visitor = context.new_page()
    visitor.goto(public_url)
    visitor.get_by_role("heading", name="Activate Plant Controller offline").wait_for()
    assert visitor.get_by_text("choose Help → License").is_visible()
    visitor.get_by_text("How to find your machine code").click()
    screenshot(visitor, "activation_form_public")

    visitor.get_by_label("License key").fill("AAAAA-BBBBB-CCCCC-DDDDD")
    visitor.get_by_label("Machine code").fill(MACHINE_CODE)
    visitor.get_by_role("button", name="Download license file").click()
    visitor.get_by_text("This license key was not found").wait_for()
    assert visitor.get_by_label("Machine code").input_value() == MACHINE_CODE
    screenshot(visitor, "activation_form_error")

    visitor.get_by_label("License key").fill(key.key)
    visitor.get_by_label("Device name").fill("LINE-3")
    with visitor.expect_download() as download_info:
        visitor.get_by_role("button", name="Download license file").click()
    download = download_info.value
    assert re.fullmatch(r"ActivationFile\d{8}\.skm", download.suggested_filename)
    saved = Path(tmp_path) / download.suggested_filename
    download.save_as(saved)
    context.close()

    loaded = ClientLicenseKey.load_from_string(
        public_key_xml(key.product.vendor.signing_key.public_key_pem), saved.read_text(),
        signature_expiration_interval=365)
    assert loaded is not None, "the licensing client rejected the downloaded file"
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code=MACHINE_CODE)
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code="control-room-pc")
    assert key.activations.get(machine_code=MACHINE_CODE).friendly_name == "LINE-3"
    assert list(WebApiLog.objects.filter(key__in=[key.key, "AAAAA-BBBBB-CCCCC-DDDDD"])
                .order_by("id").values_list("state", flat=True)) == [2020, 2011]


@override_settings(ACTIVATION_FORM_MAX_FAILURES=2)
def test_key_guessing_ends_on_the_try_again_page(page, screenshot, offline_product):
    _, key = offline_product
    key.product.activation_form_enabled = True
    key.product.save()
    form = activation_form_create(product=key.product, actor=Actor.for_system("test"),
                                  title="Activate Plant Controller offline")
    page.goto(f"/f/{form.slug}/")
    for guess in ("AAAAA-BBBBB-CCCCC-DDDDD", "AAAAA-BBBBB-CCCCC-DDDDE"):
        page.get_by_label("License key").fill(guess)
        page.get_by_label("Machine code").fill(MACHINE_CODE)
        page.get_by_role("button", name="Download license file").click()
        page.get_by_text("This license key was not found").wait_for()

    page.get_by_label("License key").fill(key.key)
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.get_by_role("button", name="Download license file").click()
    assert response.value.status == 429
    page.get_by_role("heading", name="Too many attempts, try again later").wait_for()
    screenshot(page, "activation_form_too_many_attempts")
    assert not key.activations.filter(machine_code=MACHINE_CODE).exists()


def test_a_typo_in_the_machine_code_is_explained_and_takes_no_seat(page, screenshot,
                                                                   offline_product):
    _, key = offline_product  # two seats, one taken: the typo must not take the last one
    key.product.activation_form_enabled = True
    key.product.save()
    form = activation_form_create(product=key.product, actor=Actor.for_system("test"),
                                  title="Activate Plant Controller offline")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/f/{form.slug}/")
    help_text = page.locator("#machine_code_help")
    assert "64 characters, digits 0-9 and letters a-f" in help_text.inner_text()
    assert page.get_by_label("Machine code").get_attribute("aria-describedby") == \
        "machine_code_help"

    page.get_by_label("License key").fill(key.key)
    page.get_by_label("Machine code").fill("not a code!!")
    page.get_by_role("button", name="Download license file").click()
    page.get_by_role("alert").get_by_text("This is not a machine code.").wait_for()
    assert page.get_by_label("Machine code").input_value() == "not a code!!"
    screenshot(page, "activation_form_not_a_machine_code")
    assert key.activations.count() == 1
    assert WebApiLog.objects.get(machine_code="not a code!!").state == states.ACTIVATION_FAILED

    page.get_by_label("Machine code").fill(MACHINE_CODE)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download license file").click()
    assert download_info.value.suggested_filename.endswith(".skm")
    assert key.activations.filter(machine_code=MACHINE_CODE).exists()
