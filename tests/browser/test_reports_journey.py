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
