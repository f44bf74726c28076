"""The vendor navigation marks the section of the page, found by its full view name."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from apps.vendor_portal.navigation import ACCOUNT_URL_NAMES, MENUS, SECTIONS, URL_NAMES
from tests.nav import current_links, has_nav, section_problems

# One page of each section -> the links of the "Main" navigation it marks as current.
PAGES = {
    "dashboard": ("vendor_portal:dashboard", lambda t: [], ["Dashboard"]),
    "products": ("vendor_portal:key_detail", lambda t: [t.key.pk], ["Products & keys"]),
    "customers": ("vendor_portal:portal_link_list", lambda t: [], ["Customers"]),
    "resellers": ("vendor_portal:billing_report", lambda t: [], ["Resellers"]),
    "reports": ("vendor_portal:floating_report", lambda t: [], ["Reports & logs"]),
    "anomalies": ("vendor_portal:anomaly_model", lambda t: [], ["Anomalies"]),
    "license_servers": ("vendor_portal:license_server_list", lambda t: [], ["License servers"]),
    "messages": ("vendor_portal:message_list", lambda t: [], ["Messages"]),
    "orders": ("vendor_portal:price_mapping_list", lambda t: [], ["Orders"]),
    "payments": ("vendor_portal:stripe_settings", lambda t: [], ["Settings", "Payments (Stripe)"]),
    "webhooks": ("vendor_portal:webhook_endpoint_list", lambda t: [], ["Settings", "Webhooks"]),
    "tokens": ("vendor_portal:token_create", lambda t: [], ["Settings", "Access tokens"]),
    "security": ("vendor_portal:security", lambda t: [], ["Settings", "Security"]),
    "team": ("vendor_portal:member_invite", lambda t: [], ["Settings", "Team"]),
    "tools": ("vendor_portal:machine_code_tools", lambda t: [], ["Settings", "Tools"]),
}


def test_every_vendor_portal_url_belongs_to_exactly_one_section():
    assert section_problems("vendor_portal", URL_NAMES, SECTIONS) == []


def test_every_section_is_checked_below():
    assert PAGES.keys() == set(SECTIONS.values())
    assert set(MENUS) <= PAGES.keys()


@pytest.mark.parametrize("section", PAGES)
def test_a_page_marks_its_own_section_and_nothing_else(tenant, owner_client, section):
    view_name, args, expected = PAGES[section]
    response = owner_client.get(reverse(view_name, args=args(tenant)))
    assert response.status_code == 200
    assert current_links(response, "Main") == expected


def test_the_key_log_marks_products_and_keys_only(tenant, owner_client):
    # "key_log" has "log" in its name, like the log pages under Reports: sections are looked
    # up by the whole name, so it is not mistaken for one of them.
    response = owner_client.get(reverse("vendor_portal:key_log", args=[tenant.key.pk]))
    assert current_links(response, "Main") == ["Products & keys"]


def test_the_app_users_page_marks_customers_and_its_own_link_there(owner_client):
    response = owner_client.get(reverse("vendor_portal:app_user_list"))
    assert current_links(response, "Main") == ["Customers"]
    assert current_links(response, "Customers") == ["App users"]


def test_a_payment_form_page_marks_orders_and_its_own_link_there(owner_client):
    response = owner_client.get(reverse("vendor_portal:payment_form_list"))
    assert current_links(response, "Main") == ["Orders"]
    assert current_links(response, "Sales") == ["Payment forms"]


def test_the_key_usage_page_marks_products_and_keys(tenant, owner_client):
    response = owner_client.get(reverse("vendor_portal:key_usage", args=[tenant.key.pk]))
    assert current_links(response, "Main") == ["Products & keys"]


def test_a_report_page_marks_reports_in_the_main_and_the_report_navigation(owner_client):
    response = owner_client.get(reverse("vendor_portal:webapi_log"))
    assert current_links(response, "Main") == ["Reports & logs"]
    assert current_links(response, "Reports") == ["Web API log"]


@pytest.mark.parametrize("name", ["account_email", "account_change_password", "mfa_index"])
def test_a_vendor_member_keeps_the_vendor_navigation_on_account_pages(owner_client, name):
    response = owner_client.get(reverse(name))
    assert response.status_code == 200
    assert current_links(response, "Main") == ["Settings", "Security"]
    assert b"Log out" in response.content


def test_account_pages_of_someone_in_no_vendor_show_no_vendor_navigation(db, client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get(reverse("account_email"))
    assert response.status_code == 200
    assert not has_nav(response, "Main")


def test_every_account_page_listed_for_the_navigation_exists():
    for name in ACCOUNT_URL_NAMES:
        assert reverse(name)


@override_settings(DEBUG=False)
def test_a_missing_page_shows_no_vendor_navigation(owner_client):
    response = owner_client.get("/no-such-page/")
    assert response.status_code == 404
    assert not has_nav(response, "Main")


def test_the_tools_page_is_in_the_settings_menu_and_at_tools(owner_client):
    content = owner_client.get(reverse("vendor_portal:dashboard")).content.decode()
    assert f'href="{reverse("vendor_portal:machine_code_tools")}"' in content
    response = owner_client.get("/tools/")
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:machine_code_tools")
