"""The access-token form in a browser: method groups with an "all" box, the key lock -1 and the
feature lock, usable at a laptop's 1366 px and a phone's 390 px."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHOD_GROUPS
from apps.licensing.models import AccessToken
from apps.licensing.services import token_create
from tests.browser.test_layout_widths import OVERFLOW, WIDTHS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_vendor_makes_an_application_token_with_groups_and_locks(page, screenshot, tenant,
                                                                 width_name):
    width, height = WIDTHS[width_name]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(reverse("account_login"))
    sign_in(page, tenant.owner)
    page.goto(reverse("vendor_portal:token_create"))
    screenshot(page, f"token_form_{width}")

    page.get_by_label(re.compile(r"^Name:?$")).fill("Desktop app")
    data_group = page.locator(".perm-group", has=page.locator('input[value="Data"]'))
    data_group.get_by_label(f"all {len(API_METHOD_GROUPS['Data'])}").check()
    checked = data_group.locator('input[name="permissions"]:checked')
    assert checked.count() == len(API_METHOD_GROUPS["Data"]), "the all box ticks its group"
    # Unticking one member unticks the group's box, so the server does not add it back.
    page.get_by_label("data.UploadValuesToKey", exact=True).uncheck()
    assert not data_group.locator('input[name="permission_groups"]').is_checked()
    page.get_by_label("key.Activate", exact=True).check()
    page.get_by_label("Key lock -1: each call names its key").check()
    page.get_by_label("Notes", exact=True).check()
    page.get_by_label("Customer", exact=True).check()
    page.get_by_label("Trial days").fill("10")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(
        OVERFLOW)
    page.get_by_role("button", name="Create token").click()
    page.locator("#token-string").wait_for()

    token = AccessToken.objects.get(vendor=tenant.vendor, name="Desktop app")
    expected = {*API_METHOD_GROUPS["Data"], "key.Activate", "auth.KeyLock"} - {
        "data.UploadValuesToKey"}
    assert set(token.permissions) == expected
    assert token.key_lock_required and token.fields_hidden == 8 + 32
    assert token.trial_days == 10


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_token_list_shows_the_locks_and_fits_the_screen(page, screenshot, tenant, width_name):
    token_create(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner), name="Locked app",
                 permissions=["key.Activate"], key_lock_required=True, fields_hidden=8 + 512,
                 trial_days=30, max_increment=5)
    width, height = WIDTHS[width_name]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(reverse("account_login"))
    sign_in(page, tenant.owner)
    page.goto(reverse("vendor_portal:token_list"))

    row = page.get_by_role("row", name="Locked app")
    assert "-1 (named by each call)" in row.inner_text()
    assert "Hides Notes, DataObjects" in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(
        OVERFLOW)
    screenshot(page, f"token_list_{width}")
