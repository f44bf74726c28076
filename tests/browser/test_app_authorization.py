"""A customer's person approves an application in the browser (Cryptolens' user account
authorization: the .NET client opens /User/AuthorizeApp/), at a laptop's and a phone's width,
then revokes it under Applications."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client

from apps.audit.log import Actor
from apps.licensing.models import AppAuthorization, CustomerMembership
from apps.licensing.services import token_create
from tests.api.user_account_flow import DotNetApp
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"laptop": (1366, 768), "phone": (390, 844)}
LONG_MACHINE_CODE = "f3a9c0de" * 16  # 128 characters, the most a machine code has


def sign_in(page, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "domain": urlparse(page.url).hostname,
        "path": "/", "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


@pytest.mark.parametrize("width_name", WIDTHS)
def test_a_person_approves_then_revokes_an_application(page, screenshot, tenant, width_name):
    person = UserFactory()
    CustomerMembership.objects.create(customer=tenant.customer, user=person)
    token, token_string = token_create(vendor=tenant.vendor, actor=Actor.for_system("test"),
                                       name="shipped", permissions=["auth.GetChallenge",
                                                                    "auth.GetToken"])
    app = DotNetApp(token_string, token.pk, machine_code=LONG_MACHINE_CODE)
    width, height = WIDTHS[width_name]
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/accounts/login/")
    sign_in(page, person)

    page.goto(app.authorize_url())  # what the application's browser window opens
    assert "/portal/authorize-app/" in page.url
    request = page.locator("#authorize-request")
    assert "Northwind Desktop" in request.inner_text()
    assert LONG_MACHINE_CODE in request.inner_text()
    assert "List the licenses of" in request.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"app_authorize_{width}")

    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/portal/applications/")
    row = page.locator("#app-authorizations tbody tr").first
    assert "Northwind Desktop" in row.inner_text() and "Waiting" in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert AppAuthorization.objects.get().customer == tenant.customer

    app.obtain_token()  # the application collects its token
    page.reload()
    assert "Active" in page.locator("#app-authorizations tbody tr").first.inner_text()
    screenshot(page, f"app_authorization_list_{width}")

    row = page.locator("#app-authorizations tbody tr").first
    row.get_by_role("button", name="Revoke").click()  # the confirmation is accepted
    page.wait_for_url("**/portal/applications/")
    assert "Revoked" in page.locator("#app-authorizations tbody tr").first.inner_text()
    assert AppAuthorization.objects.get().revoked_at is not None
