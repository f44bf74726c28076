"""Inviting a team member on a development site: the link is shown to copy, the mail waits in
the development mailbox, and the invitee signs up with the address filled in."""

from __future__ import annotations

import re

import pytest

from apps.accounts.models import Membership, Role
from apps.core.devmail import BACKEND
from tests.factories import PASSWORD, UserFactory, make_vendor

from .conftest import DEFAULT_TIMEOUT_MS
from .test_customer_portal_journey import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWNER = "owner@northwind.example"
INVITEE = "dana@northwind.example"


@pytest.fixture
def development(settings):
    """What `make run` has: DEBUG on, no mail server, so the development mailbox."""
    settings.DEBUG, settings.EMAIL_BACKEND = True, BACKEND


def test_owner_invites_and_the_invitee_joins_through_the_development_mailbox(
        page, browser, live_server, development, screenshot):
    owner = UserFactory(email=OWNER)
    vendor = make_vendor("Northwind Software", owner=owner)
    log_in(page, OWNER)
    page.goto("/members/invite/")
    page.get_by_label("E-mail").fill(INVITEE)
    page.get_by_label("Role").select_option(Role.ADMIN)
    page.get_by_role("button", name="Send invitation").click()

    page.get_by_role("heading", name=f"Invitation sent to {INVITEE}").wait_for()
    link = page.locator("#invitation-link").inner_text().strip()
    assert re.fullmatch(rf"{live_server.url}/invitations/accept/[\w-]+/", link)
    page.get_by_role("button", name="Copy link").click()
    page.get_by_role("button", name="Copied").wait_for()
    screenshot(page, "invitation_sent")

    page.get_by_role("link", name="Open the development mailbox").click()
    page.get_by_role("heading", name="Development mailbox").wait_for()
    screenshot(page, "devmail_list")
    page.get_by_role("link", name=re.compile("invited you to Northwind Software")).click()
    assert page.get_by_role("link", name=link).is_visible()
    screenshot(page, "devmail_invitation")

    # The invitee, in another browser: the mailbox, the link, sign-up with the address.
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    invitee = context.new_page()
    invitee.on("dialog", lambda dialog: dialog.accept())
    try:
        invitee.goto("/dev/mailbox/")
        invitee.get_by_role("link", name=re.compile("invited you to Northwind Software")).click()
        invitee.get_by_role("link", name=link).click()
        invitee.get_by_text(f"Northwind Software invited {INVITEE}.").wait_for()
        invitee.get_by_role("link", name="sign up").click()
        assert invitee.locator("input[name=email]").input_value() == INVITEE
        screenshot(invitee, "invitation_signup_prefilled")
        invitee.fill("input[name=password1]", PASSWORD)
        invitee.fill("input[name=password2]", PASSWORD)
        invitee.get_by_role("button", name="Sign Up").click()
        invitee.get_by_role("link", name="Open the development mailbox").click()
        invitee.get_by_role("link", name=re.compile("Confirm")).first.click()
        screenshot(invitee, "devmail_confirmation")
        invitee.locator("#mail-body a[href*='/accounts/confirm-email/']").click()
        invitee.get_by_role("button", name="Confirm").click()
        invitee.wait_for_load_state()
        if "/accounts/login/" in invitee.url:
            log_in(invitee, INVITEE)
        invitee.goto(link)
        invitee.get_by_role("button", name="Accept invitation").click()
        invitee.get_by_text("Welcome to Northwind Software.").wait_for()
        screenshot(invitee, "invitation_accepted")
    finally:
        context.close()
    assert Membership.objects.get(vendor=vendor, user__email=INVITEE).role == Role.ADMIN

    page.goto("/members/")
    assert INVITEE in page.locator("table").first.inner_text()
