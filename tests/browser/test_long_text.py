"""Long unbroken text (a 200-character channel or message, a 100-character user name or
e-mail address) wraps inside its table cell at a laptop's 1366 px: the page never scrolls
sideways. And the access-token form's long method names never run into the next column."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.log import Actor
from apps.licensing.services import app_user_register, message_create
from tests.browser.test_layout_widths import OVERFLOW, sign_in
from tests.customer_portal.personas import PortalWorld, portal  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 768}
LONG_CHANNEL = "channel-" + "c" * 92  # 100 characters, the most a channel holds
LONG_CONTENT = "VersionTwoIsOut" * 14  # 210 characters without a space
LONG_USERNAME = "user" + "n" * 96
LONG_EMAIL = "someone." + "e" * 70 + "@example-company.com"


@pytest.fixture
def long_texts(portal: PortalWorld):  # noqa: F811
    tenant = portal.tenant
    system = Actor.for_system("test")
    message_create(vendor=tenant.vendor, actor=system, content=LONG_CONTENT,
                   channel=LONG_CHANNEL)
    app_user_register(vendor=tenant.vendor, actor=system, username=LONG_USERNAME,
                      password="pw", customer=tenant.customer, email=LONG_EMAIL)
    # A user of the application that belongs to no customer.
    app_user_register(vendor=tenant.vendor, actor=system, username="x" + LONG_USERNAME[1:],
                      password="pw", customer=None, email="y" + LONG_EMAIL[1:])
    portal.admin.email = LONG_EMAIL
    portal.admin.save(update_fields=["email"])
    return portal


def _assert_fits(page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(
        OVERFLOW)


VIEWS = {"messages": "message_list", "customer_detail": "customer_detail",
         "app_users": "app_user_list"}


@pytest.mark.parametrize("name", list(VIEWS))
def test_vendor_tables_wrap_long_unbroken_text(page, screenshot, long_texts, name):
    tenant = long_texts.tenant
    args = [tenant.customer.pk] if name == "customer_detail" else []
    path = reverse(f"vendor_portal:{VIEWS[name]}", args=args)
    page.set_viewport_size(LAPTOP)
    page.goto(reverse("account_login"))
    sign_in(page, tenant.owner)
    response = page.goto(path)
    assert response is not None and response.status == 200
    screenshot(page, f"long_text_{name}_1366")
    _assert_fits(page)


def test_customer_portal_users_list_wraps_long_names(page, screenshot, long_texts):
    page.set_viewport_size(LAPTOP)
    page.goto(reverse("account_login"))
    sign_in(page, long_texts.admin)
    response = page.goto(reverse("customer_portal:app_user_list"))
    assert response is not None and response.status == 200
    assert page.get_by_text(LONG_USERNAME).is_visible()
    screenshot(page, "long_text_customer_portal_users_1366")
    _assert_fits(page)


# Each permission's box: the label starts on the checkbox's line and ends inside its own
# grid cell (the next column starts where the cell ends).
PERMISSION_PROBLEMS = """() => [...document.querySelectorAll('.perm-group li')].flatMap(li => {
  const box = li.querySelector('input').getBoundingClientRect();
  const label = li.querySelector('label');
  const cell = li.getBoundingClientRect();
  const first = label.getClientRects()[0];
  const problems = [];
  if (label.scrollWidth > label.clientWidth + 1
      || label.getBoundingClientRect().right > cell.right + 1) problems.push('overlaps');
  if (Math.abs(first.top - box.top) > box.height) problems.push('wraps away from its box');
  return problems.map(p => `${label.textContent}: ${p}`);
})"""


def test_token_form_keeps_long_permission_names_in_their_column(page, screenshot, tenant):
    page.set_viewport_size(LAPTOP)
    page.goto(reverse("account_login"))
    sign_in(page, tenant.owner)
    page.goto(reverse("vendor_portal:token_create"))
    screenshot(page, "long_text_token_form_1366")
    assert page.get_by_label("data.IncrementIntValueToMachineCode", exact=True).count() == 1
    assert page.evaluate(PERMISSION_PROBLEMS) == []
    help_text = page.locator("#id_key_lock_required_helptext, .helptext").filter(
        has_text="auth.KeyLock")
    assert help_text.count() >= 1, "the key lock -1 help names auth.KeyLock"
    _assert_fits(page)


def test_another_vendors_app_users_never_show_in_the_browser(page, long_texts, other_tenant):
    app_user_register(vendor=other_tenant.vendor, actor=Actor.for_system("test"),
                      username="theirs-only", password="pw", customer=None)
    page.set_viewport_size(LAPTOP)
    page.goto(reverse("account_login"))
    sign_in(page, long_texts.tenant.owner)
    page.goto(reverse("vendor_portal:customer_list"))
    page.get_by_role("navigation", name="Customers").get_by_role("link", name="App users").click()
    page.wait_for_url("**" + reverse("vendor_portal:app_user_list"))
    assert page.get_by_text(LONG_USERNAME).is_visible()
    assert page.get_by_text("theirs-only").count() == 0
