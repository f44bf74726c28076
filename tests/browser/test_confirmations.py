"""Destructive buttons ask first (data-confirm through behaviour.js): cancelling keeps what was
about to go, confirming removes it. A team member on the vendor's Team page and an e-mail address
on allauth's own page, which goes through the portal's button element."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client

from apps.accounts.models import Membership, Role
from tests.factories import UserFactory, add_member, make_vendor

from .conftest import DEFAULT_TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asking_page(browser, live_server, transactional_db) -> Iterator:
    """A page whose dialogs the test answers itself (the shared `page` accepts every one)."""
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 800})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "domain": "localhost", "path": "/",
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


def click_and_answer(page, button, *, accept: bool) -> str:
    """Click `button`, answer the confirmation it raises, and return its question."""
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", answer)
    button.click()
    page.wait_for_load_state()
    assert len(asked) == 1, "the button did not ask"
    return asked[0]


def test_removing_a_team_member_asks_and_cancelling_keeps_them(asking_page, screenshot):
    page = asking_page
    owner = UserFactory(email="owner@northwind.example")
    vendor = make_vendor("Northwind Software", owner=owner)
    member = add_member(vendor, Role.ADMIN, user=UserFactory(email="dev@northwind.example"))
    page.goto("/accounts/login/")
    sign_in(page, owner)
    page.goto("/members/")
    row = page.get_by_role("row", name="dev@northwind.example")
    screenshot(page, "team_before_remove")

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    question = click_and_answer(page, row.get_by_role("button", name="Remove"), accept=False)
    assert question == ("Remove dev@northwind.example from the team? "
                        "They lose access to this organisation at once.")
    page.reload()
    assert posts == []
    assert row.is_visible()
    assert Membership.objects.filter(pk=member.pk).exists()

    click_and_answer(page, row.get_by_role("button", name="Remove"), accept=True)
    page.get_by_role("row", name="dev@northwind.example").wait_for(state="detached")
    assert not Membership.objects.filter(pk=member.pk).exists()
    screenshot(page, "team_after_remove")


def test_removing_an_email_address_asks_and_cancelling_keeps_it(asking_page):
    page = asking_page
    user = UserFactory(email="me@contoso.example")
    EmailAddress.objects.create(user=user, email="old@contoso.example", verified=True)
    page.goto("/accounts/login/")
    sign_in(page, user)
    page.goto("/accounts/email/")
    page.get_by_label("old@contoso.example").check()

    question = click_and_answer(page, page.get_by_role("button", name="Remove"), accept=False)
    assert question.startswith("Remove the selected e-mail address from your account?")
    assert EmailAddress.objects.filter(email="old@contoso.example").exists()

    click_and_answer(page, page.get_by_role("button", name="Remove"), accept=True)
    assert not EmailAddress.objects.filter(email="old@contoso.example").exists()
