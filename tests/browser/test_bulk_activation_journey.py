"""A vendor pastes the machine codes a customer's IT collected, previews them and commits."""

from __future__ import annotations

import pytest

from apps.licensing.models import Activation
from tests.browser.test_vendor_journey import log_in
from tests.factories import ProductFactory, UserFactory, make_activation, make_key, make_vendor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_vendor_pastes_fifty_lines_previews_and_commits(page, screenshot):
    owner = UserFactory(email="it-vendor@demo.example")
    vendor = make_vendor("Bulk Vendor", owner=owner)
    key = make_key(ProductFactory(vendor=vendor, name="Plant Control"), max_no_of_machines=50,
                   automatic_activation=False)
    make_activation(key, "pc-000")
    lines = [f"pc-{n:03d}\tHOST-{n:03d}" for n in range(50)]  # pc-000 is already active
    lines += ["pc-001\tHOST-001", "", "x" * 200]  # a duplicate, a blank and an invalid line

    log_in(page, owner.email)
    page.goto(f"/keys/{key.pk}/")
    assert page.get_by_text("Controlled").is_visible()
    page.get_by_role("link", name="Bulk activation").click()
    page.fill("textarea[name=lines]", "\n".join(lines))
    page.get_by_role("button", name="Preview").click()

    assert page.locator("#count-new").inner_text() == "49"
    assert page.locator("#count-active").inner_text() == "1"
    assert page.locator("#count-duplicate").inner_text() == "1"
    assert page.locator("#count-invalid").inner_text() == "1"
    assert Activation.objects.filter(key=key).count() == 1, "a preview writes nothing"
    screenshot(page, "bulk_activation_preview")

    page.get_by_role("button", name="Activate 49 devices").click()
    page.wait_for_url(f"**/keys/{key.pk}/")
    assert "Activated 49 device(s)." in page.content()
    assert Activation.objects.filter(key=key).count() == 50
    assert page.get_by_text("HOST-042").is_visible()
    screenshot(page, "bulk_activation_done")
