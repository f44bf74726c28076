"""The customer portal's navigation marks the section of the page, by its full view name."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.customer_portal.navigation import SECTIONS, URL_NAMES
from tests.nav import current_links, has_nav, section_problems

# One page of each section (a detail page where there is one) -> the link it marks.
PAGES = {
    "licenses": ("customer_portal:license_detail", lambda p: [p.key.pk], ["Licenses"]),
    "devices": ("customer_portal:device_list", lambda p: [], ["Manage activations"]),
    "floating": ("customer_portal:floating_usage", lambda p: [], ["Floating usage"]),
    "users": ("customer_portal:app_user_list", lambda p: [], ["Users"]),
    "applications": ("customer_portal:app_authorization_list", lambda p: [], ["Applications"]),
}


def test_every_customer_portal_url_belongs_to_exactly_one_section():
    assert section_problems("customer_portal", URL_NAMES, SECTIONS) == []


def test_every_section_is_checked_below():
    assert PAGES.keys() == set(SECTIONS.values())


@pytest.mark.parametrize("section", PAGES)
def test_a_page_marks_its_own_section_and_nothing_else(portal, customer_admin_client, section):
    view_name, args, expected = PAGES[section]
    response = customer_admin_client.get(reverse(view_name, args=args(portal)))
    assert response.status_code == 200
    assert current_links(response, "Customer portal") == expected
    assert not has_nav(response, "Main")  # the vendor's navigation is not the customer's
