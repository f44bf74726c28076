"""The vendor opens the floating-seat report of the demo floating key (seeded by seed_demo)
and the usage report: the charts draw, with data, and their tables match."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.licensing.models import LicenseKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-1"


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return LicenseKey.objects.get(notes="Floating, 5 concurrent")


def _chart_points(page, chart_id: str) -> list[list]:
    """The data Chart.js actually holds for each dataset of the canvas."""
    # A function, not an expression string: Playwright polls a string with eval, which the
    # page's CSP (no 'unsafe-eval') refuses.
    page.wait_for_function(
        "id => document.querySelector(`canvas[data-chart=\"${id}\"]`)?.chart !== undefined",
        arg=chart_id)
    return page.evaluate(
        f"document.querySelector('canvas[data-chart=\"{chart_id}\"]').chart"
        ".data.datasets.map(d => d.data)")


def test_floating_usage_chart_of_the_demo_key_renders_with_data(page, demo, screenshot):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)

    page.get_by_role("link", name="Reports & logs").click()
    page.get_by_role("navigation", name="Reports").get_by_role(
        "link", name="Floating seats").click()
    page.fill("input[name=key]", demo.key)
    page.select_option("select[name=resolution]", "day")
    page.get_by_role("button", name="Show").click()

    canvas = page.locator("canvas[data-chart='floating-seats']")
    canvas.wait_for()
    peak, limit, refused = _chart_points(page, "floating-seats")
    assert max(peak) >= 3 and sum(peak) > 0
    assert set(limit) == {demo.max_no_of_machines} and len(refused) == len(peak)
    box = canvas.bounding_box()
    assert box["width"] > 400 and box["height"] > 200
    figure = page.locator("[data-figure=peak]").inner_text()
    assert int(figure) == max(peak)
    screenshot(page, "reports-floating-demo-key")

    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Usage").click()
    devices = _chart_points(page, "active-devices")
    assert sum(devices[0]) > 0
    assert page.locator("canvas[data-chart]").count() == 4
    screenshot(page, "reports-usage")


def _by_key_table(page):
    return page.locator("section", has=page.get_by_role("heading", name="By key")).locator(
        "table")


def test_floating_report_names_products_and_every_key_link_opens(page, demo, screenshot):
    """Each "By key" row names its product ("Unknown product 3105" for the generated log's
    keys, whose products are not in the catalogue) and its key link narrows the report."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)
    page.goto("/reports/floating/")

    rows = _by_key_table(page).locator("tbody tr")
    rows.first.wait_for()
    products = [rows.nth(n).locator("td").first.inner_text() for n in range(rows.count())]
    assert demo.product.name in products
    assert any(name.startswith("Unknown product 31") for name in products)
    assert not any(name.isdigit() for name in products)
    screenshot(page, "reports-floating-by-key-products")

    links = [(rows.nth(n).locator("td").first.inner_text(),
              rows.nth(n).locator("td a").get_attribute("href"),
              rows.nth(n).locator("td a").inner_text()) for n in range(rows.count())]
    for product, href, key in links:
        page.goto("/reports/floating/" + href)
        assert page.locator(".errorlist").count() == 0, (product, key)
        only = _by_key_table(page).locator("tbody tr")
        assert only.count() == 1 and only.locator("td a").inner_text() == key
        if product.startswith("Unknown product"):
            assert page.locator("select[name=product] option:checked").inner_text() == product
            unknown = (product, key)
    page.goto("/reports/floating/" + next(h for p, h, k in links if (p, k) == unknown))
    screenshot(page, "reports-floating-unknown-product-key")
