"""The vendor's key page: the two notes side by side, and a key with 1,000 devices that stays a
page long, searchable, with select-all and one confirmed deactivation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.licensing.models import Activation, LicenseTemplate
from tests.browser.test_vendor_journey import log_in
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    UserFactory,
    make_activation,
    make_key,
    make_vendor,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# 50 rows of about 40 px, the key's details, data objects and the last log entries.
MAX_PAGE_HEIGHT = 4500


def test_vendor_keeps_an_internal_note_apart_from_the_license_notes(page, screenshot):
    owner = UserFactory(email="notes-vendor@demo.example")
    vendor = make_vendor("Notes Vendor", owner=owner)
    product = ProductFactory(vendor=vendor, name="Design Suite")
    customer = CustomerFactory(vendor=vendor, name="Northwind Traders")

    log_in(page, owner.email)
    page.goto(f"/products/{product.pk}/keys/new/")
    page.locator("select[name=customer]").select_option(str(customer.pk))
    page.get_by_label("Notes (sent with the license: the Web API returns it)").fill(
        "Design Suite, 3 seats")
    page.get_by_label("Internal note (only your team sees it)").fill(
        "Northwind design team, PO NW-4471")
    page.get_by_label("Save as template").check()
    page.get_by_label("Template name").fill("Design seats")
    screenshot(page, "key_create_notes_and_internal_note")
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_text("Created 1 key(s).").wait_for()

    notes = page.locator("#key-notes")
    internal = page.locator("#key-internal-note")
    assert notes.inner_text() == "Design Suite, 3 seats"
    assert internal.inner_text() == "Northwind design team, PO NW-4471"
    assert page.locator("dd:has(#key-notes)").inner_text().endswith(
        "Sent with the license: the Web API returns it.")
    assert "Only your team sees it" in page.locator("dd:has(#key-internal-note)").inner_text()
    screenshot(page, "key_detail_notes_and_internal_note")
    template = LicenseTemplate.objects.get(product=product)
    assert (template.name, template.notes) == ("Design seats", "")

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Internal note (only your team sees it)").fill("Renewal due in March")
    page.get_by_role("button", name="Save key").click()
    page.get_by_text("Key saved.").wait_for()
    assert internal.inner_text() == "Renewal due in March"
    assert notes.inner_text() == "Design Suite, 3 seats"


@pytest.fixture
def thousand_devices(transactional_db):
    owner = UserFactory(email="fleet-vendor@demo.example")
    vendor = make_vendor("Fleet Vendor", owner=owner)
    key = make_key(ProductFactory(vendor=vendor, name="Kiosk"), max_no_of_machines=1000)
    start = timezone.now() - dt.timedelta(days=30)
    Activation.objects.bulk_create([
        Activation(key=key, machine_code=f"{n:04d}-" + "9f86d081884c7d659a2feaa0c55ad015" * 2,
                   friendly_name=f"KIOSK-{n:04d}", ip=f"10.1.{n // 250}.{n % 250 + 1}",
                   time=start + dt.timedelta(minutes=n))
        for n in range(1000)])
    make_activation(make_key(key.product), "neighbour-pc")  # another key's device
    return owner, key


def _page_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def test_a_key_with_1000_devices_is_paged_searchable_and_deactivates_a_selection(
        page, screenshot, thousand_devices):
    owner, key = thousand_devices
    log_in(page, owner.email)
    page.goto(f"/keys/{key.pk}/")

    rows = page.locator("table#devices tbody tr")
    assert page.get_by_role("heading", name="Activated devices (1000 of 1000)").is_visible()
    assert rows.count() == 50
    assert _page_height(page) < MAX_PAGE_HEIGHT
    assert page.get_by_role("button", name="Deactivate", exact=True).count() == 0
    code = page.locator("table#devices tbody tr:first-child .truncate")
    assert code.get_attribute("title") == "0000-" + "9f86d081884c7d659a2feaa0c55ad015" * 2
    assert code.evaluate("e => e.scrollWidth > e.clientWidth"), "long codes are cut on screen"
    assert page.get_by_text("Page 1 of 20 · 1000 devices").is_visible()
    screenshot(page, "key_detail_1000_devices")

    page.get_by_role("link", name="Next →").click()
    assert rows.first.inner_text().split("\t")[2] == "KIOSK-0050"

    page.get_by_label("Search devices").fill("KIOSK-01")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_text("100 devices matching “KIOSK-01”").is_visible()
    assert rows.count() == 50

    page.get_by_label("Select all devices on this page").check()
    assert page.locator("table#devices tbody input[name=activation]:checked").count() == 50
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page.get_by_role("button", name="Deactivate selected").click()
    page.get_by_text("50 devices deactivated; their seats are free.").wait_for()

    assert dialogs == ["Deactivate the selected devices? Their seats become free."]
    assert page.get_by_label("Search devices").input_value() == "KIOSK-01"
    assert page.get_by_text("50 devices matching “KIOSK-01”").is_visible()
    assert page.get_by_role("heading", name="Activated devices (950 of 1000)").is_visible()
    assert Activation.objects.filter(key=key).count() == 950
    assert not Activation.objects.filter(key=key, friendly_name__in=[
        f"KIOSK-{n:04d}" for n in range(100, 150)]).exists()
    assert Activation.objects.filter(machine_code="neighbour-pc").exists()
    screenshot(page, "key_detail_after_select_all_deactivate")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/keys/{key.pk}/")
    assert _page_height(page) < 2 * MAX_PAGE_HEIGHT
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    path = screenshot(page, "key_detail_1000_devices_phone")
    page.locator("#devices-section").scroll_into_view_if_needed()
    page.screenshot(path=str(path.with_name("key_detail_1000_devices_phone_viewport.png")))
