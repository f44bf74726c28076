"""The reseller portal's navigation marks the section of the page, by its full view name."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.reseller_portal.navigation import SECTIONS, URL_NAMES
from tests.nav import current_links, has_nav, section_problems

# One page of each section (not its list page where there is another) -> the link it marks.
PAGES = {
    "rights": ("reseller_portal:key_issue", lambda r: [r.me.right.pk], ["Rights"]),
    "keys": ("reseller_portal:key_detail", lambda r: [r.me.key.pk], ["Issued keys"]),
    "customers": ("reseller_portal:customer_create", lambda r: [], ["Customers"]),
}


def test_every_reseller_portal_url_belongs_to_exactly_one_section():
    assert section_problems("reseller_portal", URL_NAMES, SECTIONS) == []


def test_every_section_is_checked_below():
    assert PAGES.keys() == set(SECTIONS.values())


@pytest.mark.parametrize("section", PAGES)
def test_a_page_marks_its_own_section_and_nothing_else(resellers, reseller_client, section):
    view_name, args, expected = PAGES[section]
    response = reseller_client.get(reverse(view_name, args=args(resellers)))
    assert response.status_code == 200
    assert current_links(response, "Reseller portal") == expected
    assert not has_nav(response, "Main")
