"""A reseller's main journey, driven through Debian's chromium against the live server: invited
by a vendor, signs up, accepts, issues the five keys granted and is refused the sixth."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.core import mail

from apps.accounts.models import Reseller
from apps.audit.log import Actor
from apps.licensing.models import Issuance, LicenseKey
from apps.licensing.services.resellers import (
    QUOTA_USED_UP,
    billing_report,
    reseller_invite,
    right_grant,
    template_create,
)
from tests.factories import PASSWORD, ProductFactory, UserFactory, make_vendor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY_PATTERN = re.compile(r"\b[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}\b")
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+/")
RESELLER_EMAIL = "partner@reseller.example"


@pytest.fixture
def invited(live_server, django_capture_on_commit_callbacks):
    """A vendor with a template, a reseller invited by e-mail and granted 5 licenses."""
    owner = UserFactory(email="owner@northwind.example")
    vendor = make_vendor("Northwind Software", owner=owner)
    product = ProductFactory(vendor=vendor, name="Desktop Suite", f1_name="Pro edition")
    template = template_create(product=product, actor=Actor.for_user(owner),
                               name="Pro, 1 year", period=365, f1=True, max_no_of_machines=2)
    with django_capture_on_commit_callbacks(execute=True):
        reseller = reseller_invite(
            vendor=vendor, actor=owner, name="Partner", company="Partner GmbH",
            email=RESELLER_EMAIL,
            accept_url_template=f"{live_server.url}/reseller/accept/{{token}}/")
    right_grant(reseller=reseller, template=template, quota=5, actor=Actor.for_user(owner))
    link = re.search(r"https?://\S+/reseller/accept/\S+/", mail.outbox[-1].body).group(0)
    mail.outbox.clear()
    return vendor, reseller, link


def sign_up_from_the_invitation(page, screenshot, link: str, email: str = RESELLER_EMAIL
                                ) -> None:
    page.goto(link)
    assert urlparse(page.url).path == "/accounts/login/"
    page.get_by_text("Sign up with that address first").wait_for()
    screenshot(page, "reseller_accept_login_note")

    page.get_by_role("link", name="sign up").click()
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    assert page.input_value("input[name=organisation]") == ""
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")  # the mail is sent by then
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [email]
    page.goto(CONFIRM_LINK.search(mail.outbox[0].body).group(0))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    screenshot(page, "reseller_after_signup")


def issue_one(page, *, customer: str | None = None) -> str:
    if customer:
        page.get_by_label("Customer").select_option(label=customer)
    page.get_by_role("button", name="Issue key").click()
    page.get_by_text(re.compile(r"^Issued [A-Z-]{23}\.$")).wait_for()
    key = page.get_by_role("heading", level=1).inner_text().strip()
    assert KEY_PATTERN.fullmatch(key), key
    return key


def test_invited_reseller_issues_five_keys_and_is_refused_the_sixth(page, screenshot, invited):
    vendor, reseller, link = invited
    sign_up_from_the_invitation(page, screenshot, link)

    # Signing up from the login page kept the invitation as the place to come back to.
    page.get_by_role("heading", name="Resell for Northwind Software").wait_for()
    assert urlparse(page.url).path == urlparse(link).path
    screenshot(page, "reseller_accept")
    page.get_by_role("button", name="Accept invitation").click()
    page.get_by_text("You are now a reseller of Northwind Software.").wait_for()
    assert urlparse(page.url).path == "/reseller/"
    assert Reseller.objects.get(pk=reseller.pk).user.email == RESELLER_EMAIL
    screenshot(page, "reseller_dashboard_new")

    # A customer of the reseller's own, for the first key.
    portal_nav = page.get_by_role("navigation", name="Reseller portal")
    portal_nav.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="New customer").click()
    page.get_by_label("Name").fill("Contoso Ltd")
    page.get_by_label("E-mail").fill("it@contoso.example")
    page.get_by_label("Share with the vendor's other resellers").check()
    screenshot(page, "reseller_customer_form")
    page.get_by_role("button", name="Create customer").click()
    page.get_by_text("Customer Contoso Ltd created.").wait_for()
    screenshot(page, "reseller_customer_list")

    portal_nav.get_by_role("link", name="Rights").click()
    page.locator("table#rights").get_by_role("link", name="Issue key").click()
    screenshot(page, "reseller_issue_form")
    keys = [issue_one(page, customer="Contoso Ltd")]
    screenshot(page, "reseller_key_detail")
    for _ in range(3):
        page.get_by_role("link", name=re.compile(r"^Issue another")).click()
        keys.append(issue_one(page))

    # Two browser tabs on the last license: the first gets it, the second a clear refusal.
    issue_url = page.get_by_role("link", name="Issue another (1 left)").get_attribute("href")
    second_tab = page.context.new_page()
    second_tab.goto(issue_url)
    page.goto(issue_url)
    keys.append(issue_one(page))
    second_tab.get_by_role("button", name="Issue key").click()
    second_tab.get_by_role("alert").get_by_text(QUOTA_USED_UP).wait_for()
    assert second_tab.locator("#remaining b").inner_text() == "0"
    screenshot(second_tab, "reseller_issue_refused")
    second_tab.close()

    portal_nav.get_by_role("link", name="Rights").click()
    right_row = page.locator("table#rights tbody tr").first
    assert right_row.locator("td").all_inner_texts()[2:7] == ["5", "5", "0", "no end date",
                                                              "Used up"]
    assert right_row.get_by_role("link", name="Issue key").count() == 0
    screenshot(page, "reseller_dashboard_used_up")

    portal_nav.get_by_role("link", name="Issued keys").click()
    assert sorted(page.locator("table#keys tbody td.mono a").all_inner_texts()) == sorted(keys)
    screenshot(page, "reseller_key_list")

    assert len(set(keys)) == 5
    assert set(LicenseKey.objects.filter(reseller=reseller).values_list("key", flat=True)) == \
        set(keys)
    assert LicenseKey.objects.get(key=keys[0]).customer.name == "Contoso Ltd"
    assert Issuance.objects.filter(reseller=reseller).count() == 5
    assert [(row["reseller__name"], row["template__name"], row["count"])
            for row in billing_report(vendor=vendor)] == [("Partner", "Pro, 1 year", 5)]


# --- The vendor's side through the vendor portal: template, invitation, grant, billing. ---

VENDOR_EMAIL = "owner@contoso-soft.example"
# allauth rate-limits confirmation mails per address (cache, across tests): a new address.
SECOND_RESELLER_EMAIL = "sales@partner-two.example"


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def vendor_creates_a_template(page, screenshot, product_name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    page.get_by_role("link", name=product_name).first.click()
    page.get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="New template").click()
    page.get_by_label(re.compile(r"^Name:?$")).fill("Pro, 1 year")
    page.get_by_label("Period (days)").fill("365")
    page.get_by_label("F1: Pro edition").check()
    page.get_by_label("Maximum number of machines").fill("2")
    page.get_by_label("Data objects").fill("seats=2")
    screenshot(page, "vendor_template_form")
    page.get_by_role("button", name="Create template").click()
    page.get_by_text("Template “Pro, 1 year” created.").wait_for()
    screenshot(page, "vendor_template_list")


def vendor_invites_and_grants(page, screenshot) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Resellers").click()
    page.get_by_role("link", name="Invite a reseller").click()
    page.get_by_label(re.compile(r"^Name:?$")).fill("Partner")
    page.get_by_label("Company").fill("Partner GmbH")
    page.get_by_label("E-mail").fill(SECOND_RESELLER_EMAIL)
    page.get_by_label("Phone").fill("+49 30 1234")
    screenshot(page, "vendor_reseller_invite")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text(f"Invitation sent to {SECOND_RESELLER_EMAIL}.").wait_for()
    page.get_by_role("link", name="Done").click()  # from the link shown to copy

    grant = page.locator("form#grant")
    grant.get_by_label("License template").select_option(label="Pro, 1 year")
    grant.get_by_label("Licenses").fill("5")
    grant.get_by_role("button", name="Grant").click()
    page.get_by_text("Granted 5 licenses of “Pro, 1 year”.").wait_for()
    cells = page.locator("table#rights tbody tr").first.locator("td").all_inner_texts()
    assert cells[2:7] == ["5", "0", "5", "no end date", "Active"]
    screenshot(page, "vendor_reseller_detail")
    link = re.search(r"https?://\S+/reseller/accept/\S+/", mail.outbox[-1].body).group(0)
    mail.outbox.clear()
    return link


def test_vendor_invites_grants_five_and_bills_five(browser, live_server, page, screenshot):
    owner = UserFactory(email=VENDOR_EMAIL)
    vendor = make_vendor("Contoso Software", owner=owner)
    ProductFactory(vendor=vendor, name="Desktop Suite", f1_name="Pro edition")
    log_in(page, VENDOR_EMAIL)
    vendor_creates_a_template(page, screenshot, "Desktop Suite")
    link = vendor_invites_and_grants(page, screenshot)

    reseller_context = browser.new_context(base_url=live_server.url,
                                           viewport={"width": 1280, "height": 800})
    reseller_context.set_default_timeout(10_000)
    tab = reseller_context.new_page()
    sign_up_from_the_invitation(tab, screenshot, link, SECOND_RESELLER_EMAIL)
    tab.get_by_role("button", name="Accept invitation").click()
    tab.get_by_text("You are now a reseller of Contoso Software.").wait_for()
    tab.locator("table#rights").get_by_role("link", name="Issue key").click()
    keys = [issue_one(tab)]
    for _ in range(3):
        tab.get_by_role("link", name=re.compile(r"^Issue another")).click()
        keys.append(issue_one(tab))
    issue_url = tab.get_by_role("link", name="Issue another (1 left)").get_attribute("href")
    stale = reseller_context.new_page()
    stale.goto(issue_url)
    tab.goto(issue_url)
    keys.append(issue_one(tab))
    stale.get_by_role("button", name="Issue key").click()  # the sixth
    stale.get_by_role("alert").get_by_text(QUOTA_USED_UP).wait_for()
    reseller_context.close()
    assert len(set(keys)) == 5

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Resellers").click()
    page.get_by_role("link", name="Billing report").click()
    rows = page.locator("table#billing tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").all_inner_texts()[::3] == ["Partner", "Pro, 1 year"]
    assert rows.first.locator("td").last.inner_text() == "5"
    assert page.locator("#billing-total").inner_text() == "5"
    screenshot(page, "vendor_billing_report")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Resellers").click()
    page.get_by_role("link", name="Partner").click()
    cells = page.locator("table#rights tbody tr").first.locator("td").all_inner_texts()
    assert cells[2:7] == ["5", "5", "0", "no end date", "Used up"]
    assert sorted(page.locator("table#keys tbody td.mono a").all_inner_texts()) == sorted(keys)
    screenshot(page, "vendor_reseller_detail_used_up")
    page.get_by_role("main").get_by_role("link", name="Object log").click()
    assert page.get_by_role("cell", name="issue refused", exact=True).count() == 1
    assert page.get_by_role("cell", name="key issued", exact=True).count() == 5
    screenshot(page, "vendor_reseller_log")
