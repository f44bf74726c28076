"""A key of period 0 has no time limit (the Web API activates it whatever its expiry date):
its badge says "No expiry" wherever a key's status badge is shown, never "Expired". And the
key list's per-product number is labelled as the Web API's ID, not confused with the id in
the key page's address."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.licensing import selectors
from apps.licensing.models import LicenseKey
from tests.factories import make_key

BADGES = ["vendor_portal/partials/key_status.html", "customer_portal/partials/key_status.html",
          "reseller_portal/partials/key_status.html"]


def _badges(html: str) -> list[str]:
    return re.findall(r'<span class="badge[^"]*"[^>]*>([^<]+)</span>', html)


@pytest.fixture
def keys(tenant) -> dict[str, LicenseKey]:
    lapsed = make_key(tenant.product)
    LicenseKey.objects.filter(pk=lapsed.pk).update(expires=timezone.now() - dt.timedelta(days=1))
    return {"no-limit": make_key(tenant.product, period=0),
            "blocked-no-limit": make_key(tenant.product, period=0, block=True),
            "lapsed": LicenseKey.objects.get(pk=lapsed.pk),
            "running": make_key(tenant.product, period=30)}


def test_period_zero_has_no_expiry_and_is_never_expired(keys):
    assert not keys["no-limit"].has_expiry and not keys["no-limit"].is_expired
    assert keys["no-limit"].expires <= timezone.now()  # the date alone would say expired
    assert keys["lapsed"].is_expired and not keys["running"].is_expired
    assert set(LicenseKey.objects.expired()) == {keys["lapsed"]}


@pytest.mark.parametrize("template", BADGES)
def test_every_portals_badge_says_no_expiry_for_period_zero(keys, template):
    shown = {name: _badges(render_to_string(template, {"key": key}))[0]
             for name, key in keys.items()}
    assert shown == {"no-limit": "No expiry", "blocked-no-limit": "Blocked",
                     "lapsed": "Expired", "running": "Active"}


def test_key_list_status_filters_count_period_zero_as_active(tenant, keys):
    def listed(status: str) -> set[str]:
        by_pk = {k.pk: name for name, k in keys.items()}
        return {by_pk[k.pk] for k in selectors.key_list(product=tenant.product, status=status)
                if k.pk in by_pk}

    assert listed("expired") == {"lapsed"}
    assert listed("active") == {"no-limit", "running"}
    counts = selectors.dashboard_counts(vendor=tenant.vendor)
    assert counts["active_keys"] == LicenseKey.objects.filter(
        product__vendor=tenant.vendor, block=False).count() - 1  # all but "lapsed"


def test_vendor_key_list_and_page_show_no_expiry(tenant, keys, owner_client):
    listing = owner_client.get(reverse("vendor_portal:key_list", args=[tenant.product.pk]))
    row = re.search(rf"<tr>(?:(?!</tr>).)*{keys['no-limit'].key}.*?</tr>",
                    listing.content.decode(), re.S).group(0)
    detail = owner_client.get(reverse("vendor_portal:key_detail", args=[keys["no-limit"].pk]))

    assert _badges(row) == ["No expiry"] and ">never</span>" in row
    assert "Expired" not in row
    assert "No expiry" in detail.content.decode()


def test_key_list_labels_the_per_product_number_as_the_web_api_id(tenant, keys, owner_client):
    content = owner_client.get(reverse("vendor_portal:key_list",
                                       args=[tenant.product.pk])).content.decode()
    key = keys["running"]

    header = re.search(r"<thead>(.*?)</thead>", content, re.S).group(1)
    assert re.search(r"<abbr title=\"[^\"]*ID in the Web API[^\"]*\">No\.</abbr>", header)
    assert "<th>ID</th>" not in header
    row = re.search(rf"<tr>\s*<td class=\"mono\">(\d+)</td>\s*<td class=\"mono\"><a href=\""
                    rf"([^\"]+)\">{key.key}</a>", content)
    assert int(row.group(1)) == key.serial
    assert row.group(2) == reverse("vendor_portal:key_detail", args=[key.pk])
