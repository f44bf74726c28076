"""A customer admin's journey: join through the vendor's sign-up link, find devices by name
across licenses, free their seats; the vendor then sees them gone."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.core import mail

from apps.licensing.models import Activation, Customer, CustomerMembership
from apps.licensing.services.portal import portal_link_create
from tests.factories import (
    PASSWORD,
    ProductFactory,
    UserFactory,
    make_activation,
    make_key,
    make_vendor,
)

from .conftest import DEFAULT_TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+/")
IT_ADMIN = "it@contoso.example"
VENDOR_OWNER = "owner@northwind.example"


@pytest.fixture
def shop(transactional_db):
    """A vendor whose customer (with the IT admin's e-mail) holds two keys with devices."""
    owner = UserFactory(email=VENDOR_OWNER)
    vendor = make_vendor("Northwind Software", owner=owner)
    product = ProductFactory(vendor=vendor, name="Desktop Suite")
    customer = Customer.objects.create(vendor=vendor, name="Contoso", email=IT_ADMIN,
                                       company_name="Contoso Ltd",
                                       allow_activation_management=True)
    office = make_key(product, customer=customer, max_no_of_machines=5)
    lab = make_key(product, customer=customer, max_no_of_machines=3)
    make_activation(office, "A1B2-LAPTOP", friendly_name="alice-laptop", ip="192.0.2.10")
    make_activation(office, "C3D4-BOB", friendly_name="bob-pc", ip="192.0.2.11")
    make_activation(lab, "E5F6-DESK", friendly_name="ALICE-desktop", ip="192.0.2.12")
    _, token = portal_link_create(vendor=vendor, actor=owner, can_manage_activations=True,
                                  expires_in_days=30, name="Contoso IT")
    return {"owner": owner, "customer": customer, "office": office, "lab": lab,
            "join_path": f"/portal/join/{token}/"}


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def sign_up_through_the_link(page, screenshot, join_path: str) -> None:
    page.goto(join_path)
    page.get_by_role("heading", name="Join Northwind Software's customer portal").wait_for()
    screenshot(page, "portal_join")
    page.get_by_role("link", name="Sign up").click()
    page.fill("input[name=email]", IT_ADMIN)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_load_state()

    assert [m.to for m in mail.outbox] == [[IT_ADMIN]]
    link = CONFIRM_LINK.search(mail.outbox[0].body)
    assert link, mail.outbox[0].body
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    if "/accounts/login/" in page.url:
        log_in(page, IT_ADMIN)


def test_customer_admin_signs_up_and_frees_alices_seats(page, browser, live_server, shop,
                                                        screenshot):
    sign_up_through_the_link(page, screenshot, shop["join_path"])

    page.get_by_role("heading", name="Licenses").wait_for()
    assert urlparse(page.url).path == "/portal/"
    membership = CustomerMembership.objects.get(user__email=IT_ADMIN)
    assert membership.customer == shop["customer"] and membership.may_deactivate
    listed = page.locator("#licenses tbody td.mono a").all_inner_texts()
    assert sorted(listed) == sorted([shop["office"].key, shop["lab"].key])
    screenshot(page, "portal_license_list")

    page.get_by_role("link", name=shop["office"].key).click()
    devices = page.locator("table#devices tbody tr")
    assert devices.count() == 2
    screenshot(page, "portal_license_detail")

    page.get_by_role("navigation", name="Customer portal").get_by_role(
        "link", name="Manage activations").click()
    page.get_by_label("Search").fill("alice")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name=re.compile("2 devices matching")).wait_for()
    names = page.locator("table#devices tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(names) == ["ALICE-desktop", "alice-laptop"]
    page.get_by_label("Select alice-laptop").check()
    page.get_by_label("Select ALICE-desktop").check()
    screenshot(page, "portal_devices_search")
    page.get_by_role("button", name="Deactivate selected").click()

    page.get_by_text("2 devices deactivated").wait_for()
    assert page.get_by_label("Search").input_value() == "alice"
    assert page.get_by_text("No device matches.").is_visible()
    screenshot(page, "portal_devices_after_deactivate")
    assert list(Activation.objects.values_list("friendly_name", flat=True)) == ["bob-pc"]

    vendor_context = browser.new_context(base_url=live_server.url,
                                         viewport={"width": 1280, "height": 800})
    vendor_context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    vendor_page = vendor_context.new_page()
    try:
        log_in(vendor_page, VENDOR_OWNER)
        vendor_page.goto(f"/keys/{shop['office'].pk}/")
        table = vendor_page.locator("table#devices")
        assert "bob-pc" in table.inner_text()
        assert "alice" not in table.inner_text().lower()
        assert vendor_page.get_by_role("heading", name="Activated devices (1 of 5)").is_visible()
        assert IT_ADMIN in vendor_page.locator("table").last.inner_text()  # the object log
        screenshot(vendor_page, "vendor_key_after_portal_deactivation")
        vendor_page.goto(f"/keys/{shop['lab'].pk}/")
        assert vendor_page.locator("table#devices tbody tr").all_inner_texts() == [
            "No device has activated this key."]
    finally:
        vendor_context.close()


def test_portal_user_without_the_permission_sees_devices_read_only(page, shop, screenshot):
    reader = UserFactory(email="viewer@contoso.example")
    CustomerMembership.objects.create(customer=shop["customer"], user=reader)
    log_in(page, reader.email)
    page.goto("/portal/devices/?q=alice")
    page.get_by_role("heading", name=re.compile("2 devices matching")).wait_for()
    assert page.get_by_role("checkbox").count() == 0
    assert page.get_by_role("button", name="Deactivate selected").count() == 0
    assert page.locator("#read-only-note").is_visible()
    nav = page.get_by_role("navigation", name="Customer portal")
    assert nav.get_by_role("link", name="Devices").is_visible()
    assert page.get_by_text("Manage activations", exact=True).count() == 0
    screenshot(page, "portal_devices_read_only")


def test_vendor_invites_an_it_admin_who_may_deactivate_on_a_customer_that_did_not_allow_it(
        page, browser, live_server, shop, screenshot):
    """The invitation grants the permission: the customer page, the link page, the join page
    and the portal all say the same, and the joined admin frees a seat."""
    customer = shop["customer"]
    Customer.objects.filter(pk=customer.pk).update(allow_activation_management=False)
    log_in(page, VENDOR_OWNER)
    page.goto(f"/customers/{customer.pk}/")
    assert page.locator("#activation-management").inner_text().startswith("Off:")
    page.get_by_label("May deactivate devices").check()
    screenshot(page, "vendor_customer_invite_with_permission")
    page.get_by_role("button", name="Create invitation link").click()
    page.get_by_role("heading", name="Invitation link for Contoso created").wait_for()
    assert "with permission to deactivate devices" in page.locator(".panel").inner_text()
    join_url = page.locator("#portal-link").inner_text().strip()
    page.get_by_role("button", name="Copy link").click()
    page.get_by_role("button", name="Copied").wait_for()
    screenshot(page, "vendor_portal_link_created")
    page.get_by_role("link", name="Done").click()
    assert page.locator("#activation-management").inner_text().startswith("On:")
    screenshot(page, "vendor_customer_after_invitation")

    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1366, "height": 800})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    admin = context.new_page()
    admin.on("dialog", lambda dialog: dialog.accept())
    try:
        log_in(admin, UserFactory(email="helpdesk@contoso.example").email)
        admin.goto(join_url)
        assert "You will be allowed to deactivate devices." in \
            admin.locator("#join-permission").inner_text()
        screenshot(admin, "portal_join_invitation_with_permission")
        admin.get_by_role("button", name="Join").click()
        admin.get_by_text("May manage activations").wait_for()
        admin.get_by_role("navigation", name="Customer portal").get_by_role(
            "link", name="Manage activations").click()
        admin.get_by_label("Select bob-pc").check()
        admin.get_by_role("button", name="Deactivate selected").click()
        admin.get_by_text("1 device deactivated").wait_for()
        screenshot(admin, "portal_invited_admin_deactivated")
    finally:
        context.close()
    assert not Activation.objects.filter(friendly_name="bob-pc").exists()
