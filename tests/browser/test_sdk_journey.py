"""The SDK vendor's journey: a developer signs an application with the real `sdk-sign` (a
subprocess) against the live server; the vendor finds the machine and the fingerprint on the
product's SDK pages, revokes the machine in the browser, and the next signature is refused.
The pages fit a laptop's and a phone's width."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sdk_signer import application_fingerprint

from apps.audit.log import Actor
from apps.licensing.models import Activation
from apps.licensing.services import token_create
from apps.licensing.services.seats import Device
from apps.sdk_licensing.certificates import Application
from apps.sdk_licensing.models import DeveloperMachine, SdkCertificate
from apps.sdk_licensing.services import sdk_application_sign
from tests.browser.test_vendor_journey import log_in
from tests.factories import ProductFactory, UserFactory, make_key, make_vendor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"wide": (1366, 900), "narrow": (390, 844)}
# The page scrolls sideways when something sticks out past the window (a wide table scrolls
# inside its own box instead).
SCROLLS_SIDEWAYS = ("() => document.documentElement.scrollWidth"
                    " > document.documentElement.clientWidth + 1")


def sdk_sign(server: str, product_id: int, token: str, key: str, application: Path
             ) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sdk_signer", "--server", server, "--product", str(product_id),
         "--token", token, "--key", key, "--machine-code", "dev-laptop-1", "--friendly-name",
         "Alice laptop", str(application)],
        capture_output=True, text=True, timeout=60, cwd=application.parent, check=False)


@pytest.fixture
def sdk_vendor(tmp_path):
    owner = UserFactory(email="sdk-vendor@demo.example")
    vendor = make_vendor("Imaging SDK Vendor", owner=owner)
    product = ProductFactory(vendor=vendor, name="Imaging SDK")
    key = make_key(product, max_no_of_machines=2, period=365)
    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="SDK signer",
                         permissions=["sdk.SignApplication"], product=product)[1]
    app = tmp_path / "photo_app"
    app.mkdir()
    (app / "__main__.py").write_text("from photo_app import filters\nfilters.run()\n")
    (app / "filters.py").write_text("def run():\n    print('blur')\n")
    return owner, product, key, token, app


def fits_both_widths(page, screenshot, name: str) -> None:
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"sdk_{name}_{width_name}")
        assert not page.evaluate(SCROLLS_SIDEWAYS), f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": WIDTHS["wide"][0], "height": WIDTHS["wide"][1]})


def test_vendor_sees_the_signature_and_revokes_the_developer_machine(
        page, live_server, screenshot, sdk_vendor):
    owner, product, key, token, app = sdk_vendor

    signed = sdk_sign(live_server.url, product.pk, token, key.key, app)
    assert signed.returncode == 0, signed.stderr
    assert app.with_name("photo_app.license-certificate").is_file()
    fingerprint = application_fingerprint(app).value

    log_in(page, owner.email)
    page.goto(f"/products/{product.pk}/keys/")
    page.get_by_role("link", name="SDK licensing").click()
    row = page.locator("#sdk-machines tbody tr", has_text="Alice laptop")
    row.wait_for()
    assert "dev-laptop-1" in row.inner_text() and key.key in row.inner_text()
    assert "stay valid until their license expires" in page.locator(
        "#sdk-revoke-rule").inner_text()
    assert f"product_id={product.pk})" in page.locator("#sdk-verifier").inner_text()
    fits_both_widths(page, screenshot, "machine_list")

    row.get_by_role("link", name="Alice laptop").click()
    page.get_by_role("heading", name="Signatures of Alice laptop").wait_for()
    assert page.locator("#sdk-signatures code.fingerprint").inner_text() == fingerprint
    assert "photo_app" in page.locator("#sdk-signatures").inner_text()
    fits_both_widths(page, screenshot, "signatures")

    page.get_by_role("link", name="SDK licensing").click()
    row.get_by_role("button", name="Revoke").click()  # the confirmation is accepted
    page.get_by_text("Revoked “Alice laptop”: it can sign no more applications.",
                     exact=False).wait_for()
    assert "Revoked" in row.locator("td").nth(6).inner_text()
    assert row.get_by_role("button", name="Allow again").is_visible()
    screenshot(page, "sdk_machine_revoked")
    assert DeveloperMachine.objects.get(machine_code="dev-laptop-1").revoked
    assert Activation.objects.filter(key=key, machine_code="dev-laptop-1").exists()

    again = sdk_sign(live_server.url, product.pk, token, key.key, app)
    assert again.returncode == 1, again.stdout
    assert "revoked" in again.stderr
    assert SdkCertificate.objects.count() == 1


def test_a_product_without_signatures_shows_how_to_set_up(page, screenshot, sdk_vendor):
    owner, product, _key, _token, _app = sdk_vendor
    log_in(page, owner.email)
    page.goto(f"/products/{product.pk}/sdk/")
    page.get_by_text("No developer machine has signed an application yet").wait_for()
    assert "sdk-sign --key <license key> <application>" in page.locator(
        "#sdk-command").inner_text()
    page.get_by_role("link", name="Access tokens").last.click()
    page.wait_for_url("**/tokens/")
    page.go_back()
    fits_both_widths(page, screenshot, "empty")


def test_sdk_pages_with_the_longest_values_fit_a_laptop_and_a_phone(page, screenshot,
                                                                     sdk_vendor):
    owner, product, key, _token, _app = sdk_vendor
    for n in range(2):
        sdk_application_sign(
            key=key, device=Device(f"{n}" + "f3a9c0de" * 15 + "f3a9c0d", "build-agent-" +
                                   "x" * 60, "2001:db8:85a3:1234:5678:8a2e:370:7334"),
            application=Application("photo_app-" + "long" * 20 + ".whl", "9f" * 32),
            actor=Actor.for_system("test"))
    log_in(page, owner.email)
    page.goto(f"/products/{product.pk}/sdk/")
    fits_both_widths(page, screenshot, "long_machine_list")
    page.goto(f"/products/{product.pk}/sdk/signatures/")
    assert page.locator("#sdk-signatures tbody tr").count() == 2
    fits_both_widths(page, screenshot, "long_signatures")
