"""Every audience's main pages fit the screen: at a laptop's 1366 px and a phone's 390 px the
page never scrolls sideways (wide tables scroll inside their own box), with a Web API log that
holds a 128-character machine code and a 64-character key."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.audit.log import Actor
from apps.license_server.services import license_server_configuration_create
from apps.licensing.services.activation_forms import activation_form_create
from apps.usage.models import WebApiLog
from tests.customer_portal.personas import PortalWorld, portal  # noqa: F401  (fixture)
from tests.reseller_portal.personas import ResellerWorld, resellers  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"laptop": (1366, 768), "phone": (390, 844)}
LONG_MACHINE_CODE = "f3a9c0de" * 16  # 128 characters, the most the log keeps
LONG_KEY = "K" * 64
LONG_NAME = "build-agent-" + "x" * 60


# The first few elements that stick out past the right edge, or whose content spills out of
# them unclipped: what the failure shows.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const spills = e => e.scrollWidth > e.clientWidth + 1
                      && getComputedStyle(e).overflowX === 'visible';
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 1 || spills(e))
    .filter(e => !e.parentElement.closest('.table-wrap'))
    .slice(0, 4)
    .map(e => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(
      e.getBoundingClientRect().right)} px, content ${e.scrollWidth} px)`);
}"""


@pytest.fixture
def world(portal: PortalWorld, resellers: ResellerWorld):  # noqa: F811
    """The vendor of both persona worlds, with a license-server configuration, an activation
    form and Web API log rows whose machine code, key and name are as long as they may be."""
    tenant = portal.tenant
    actor = Actor.for_user(tenant.owner)
    configuration, _ = license_server_configuration_create(
        vendor=tenant.vendor, actor=actor, name="Plant floor server", customer=tenant.customer,
        valid_until=timezone.now() + dt.timedelta(days=365), keys=[tenant.key])
    tenant.product.activation_form_enabled = True
    tenant.product.save(update_fields=["activation_form_enabled"])
    form = activation_form_create(product=tenant.product, actor=actor,
                                  title="Activate Desktop Suite offline")
    now = timezone.now()
    WebApiLog.objects.bulk_create([
        WebApiLog(vendor=tenant.vendor, time=now, state=2011, method="Activate",
                  product_id=tenant.product.pk, key=tenant.key.key, machine_code="machine-1",
                  friendly_name="LAPTOP-1", ip="192.0.2.1", country="DE"),
        WebApiLog(vendor=tenant.vendor, time=now, state=2024, method="ActivateFloating",
                  product_id=tenant.product.pk, key=LONG_KEY, machine_code=LONG_MACHINE_CODE,
                  friendly_name=LONG_NAME, ip="2001:db8:85a3:1234:5678:8a2e:370:7334",
                  country="SE", floating_expires=now + dt.timedelta(minutes=5)),
    ])
    return {"portal": portal, "resellers": resellers, "configuration": configuration,
            "form": form}


def sign_in(page, user) -> None:
    """Log `user` in by handing the browser a session cookie (the login page has its own
    journey tests)."""
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "domain": urlparse(page.url).hostname,
        "path": "/", "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


def audiences(world) -> dict[str, tuple[object | None, list[str], dict[str, str]]]:
    """Per audience: who signs in, the pages to load, and those to screenshot (by name)."""
    people, sellers = world["portal"], world["resellers"]
    tenant = people.tenant
    vendor_pages = [
        reverse("vendor_portal:dashboard"), reverse("vendor_portal:product_list"),
        reverse("vendor_portal:key_list", args=[tenant.product.pk]),
        reverse("vendor_portal:key_detail", args=[tenant.key.pk]),
        reverse("vendor_portal:customer_list"),
        reverse("vendor_portal:customer_detail", args=[tenant.customer.pk]),
        reverse("vendor_portal:reseller_list"),
        reverse("vendor_portal:reseller_detail", args=[sellers.me.reseller.pk]),
        reverse("vendor_portal:usage_report"), reverse("vendor_portal:floating_report"),
        reverse("vendor_portal:webapi_log"), reverse("vendor_portal:object_log"),
        reverse("vendor_portal:anomaly_list"), reverse("vendor_portal:license_server_list"),
        reverse("vendor_portal:license_server_detail", args=[world["configuration"].pk]),
        reverse("vendor_portal:token_list"), reverse("vendor_portal:security"),
        reverse("vendor_portal:member_list"), reverse("vendor_portal:portal_link_list"),
        reverse("vendor_portal:billing_report"),
        reverse("vendor_portal:product_create"),
        reverse("vendor_portal:key_create", args=[tenant.product.pk]),
        reverse("account_email"),
    ]
    reseller_pages = [
        reverse("reseller_portal:dashboard"), reverse("reseller_portal:key_list"),
        reverse("reseller_portal:key_detail", args=[sellers.me.key.pk]),
        reverse("reseller_portal:key_issue", args=[sellers.me.right.pk]),
        reverse("reseller_portal:customer_list"),
    ]
    customer_pages = [
        reverse("customer_portal:license_list"),
        reverse("customer_portal:license_detail", args=[people.key.pk]),
        reverse("customer_portal:device_list"), reverse("customer_portal:floating_usage"),
    ]
    public_pages = [
        reverse("account_login"), reverse("account_signup"),
        reverse("account_reset_password"), reverse("api:reference"),
        reverse("activation_forms:activation_form", args=[world["form"].slug]),
    ]
    return {"vendor": (tenant.owner, vendor_pages, {
                vendor_pages[0]: "dashboard", vendor_pages[3]: "key_detail",
                vendor_pages[10]: "weblog", vendor_pages[14]: "license_server_detail"}),
            "reseller": (sellers.me.user, reseller_pages, {reseller_pages[2]: "key_detail"}),
            "customer": (people.admin, customer_pages, {customer_pages[1]: "license_detail"}),
            "public": (None, public_pages, {public_pages[0]: "login",
                                            public_pages[4]: "activation_form"})}


@pytest.mark.parametrize("audience", ["vendor", "reseller", "customer", "public"])
def test_main_pages_never_scroll_sideways(page, screenshot, world, audience):
    user, paths, shots = audiences(world)[audience]
    page.goto(reverse("account_login"))
    if user is not None:
        sign_in(page, user)
    too_wide = []
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, (path, response)
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            viewport = page.evaluate("document.documentElement.clientWidth")
            if scroll_width > viewport:
                too_wide.append((width_name, path, scroll_width, page.evaluate(OVERFLOW)))
            if path in shots:
                screenshot(page, f"layout_{audience}_{shots[path]}_{width}")
    assert too_wide == [], "\n".join(map(str, too_wide))


def test_web_api_log_cuts_long_values_and_keeps_them_whole_on_hover(page, screenshot, world):
    tenant = world["portal"].tenant
    page.goto(reverse("account_login"))
    sign_in(page, tenant.owner)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(reverse("vendor_portal:webapi_log"))

    row = page.locator("table.log-table tbody tr").first
    machine_code = row.locator(f"[title='{LONG_MACHINE_CODE}']")
    assert machine_code.inner_text() == LONG_MACHINE_CODE  # the whole value, to copy
    assert machine_code.evaluate("e => e.scrollWidth > e.clientWidth"), "not cut"
    badge = row.locator(".badge")
    assert badge.inner_text() == "2024 floating limit"
    assert badge.get_attribute("title") == "Floating activation refused: limit reached"
    assert row.locator(f"[title='{LONG_KEY}']").count() == 1
    assert page.evaluate("document.querySelector('table.log-table').getBoundingClientRect()"
                         ".right") <= 1366
    # A standard key is never cut.
    short = page.locator("table.log-table tbody tr").nth(1).locator(
        f"[title='{tenant.key.key}']")
    assert short.evaluate("e => e.scrollWidth <= e.clientWidth")

    product = page.get_by_label("Product")
    assert product.evaluate("e => e.tagName") == "SELECT"
    product.select_option(label=tenant.product.name)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"**product_id={tenant.product.pk}**")
    assert page.locator("table.log-table tbody tr").count() == 2
    screenshot(page, "weblog_filtered_by_product")


def test_phone_header_folds_the_vendor_navigation_into_a_menu(page, screenshot, world):
    page.goto(reverse("account_login"))
    sign_in(page, world["portal"].tenant.owner)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(reverse("vendor_portal:dashboard"))
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    assert not nav.is_visible() and menu.get_attribute("aria-expanded") == "false"

    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    nav.get_by_text("Settings").click()
    nav.get_by_role("link", name="Team").wait_for()
    assert page.get_by_role("button", name="Log out").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "layout_vendor_menu_open_390")
    nav.get_by_role("link", name="Team").click()
    page.wait_for_url("**/members/")

    page.set_viewport_size({"width": 1366, "height": 768})
    assert not menu.is_visible() and page.get_by_role("navigation", name="Main").is_visible()
