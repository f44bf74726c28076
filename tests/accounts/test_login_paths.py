"""No login URL the site serves skips two-factor authentication or allauth's lockout. The
Django admin's own login form used to accept a staff user's password alone, with no limit."""

from __future__ import annotations

import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import UserFactory

PASSWORD = "the-right-password-1"
# Every URL that takes a password, as the lockout and MFA tests below see them.
LOGIN_URLS = ["/accounts/login/", "/django-admin/login/"]


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_with_totp(db):
    user = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    assert EmailAddress.objects.filter(user=user, verified=True).exists()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def _credentials(user) -> dict[str, str]:
    # The admin's form calls the field "username", allauth's "login".
    return {"login": user.email, "username": user.email, "password": PASSWORD}


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def test_every_login_url_is_covered_by_these_tests():
    login_routes = {"/" + route for route, entry in _walk(get_resolver())
                    if route.endswith("login/") or (entry.name or "").endswith("login")}

    assert login_routes == set(LOGIN_URLS)


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_a_password_alone_never_logs_a_totp_user_in(staff_with_totp, url):
    user, _ = staff_with_totp
    client = Client()

    client.post(url, _credentials(user), follow=True)

    assert not _logged_in(client)


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_each_login_url_leads_to_the_second_factor_and_then_in(staff_with_totp, url):
    user, secret = staff_with_totp
    client = Client()
    login_page = client.get(url, follow=True)
    form_url = login_page.redirect_chain[-1][0] if login_page.redirect_chain else url

    after_password = client.post(form_url, _credentials(user))
    assert after_password.status_code == 302
    assert after_password["Location"].startswith(reverse("mfa_authenticate"))
    assert not _logged_in(client)

    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    after_code = client.post(reverse("mfa_authenticate"), {"code": code})
    assert after_code.status_code == 302
    assert _logged_in(client)
    if url.startswith("/django-admin/"):
        assert client.get("/django-admin/").status_code == 200


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_after_twelve_wrong_passwords_the_right_one_is_refused_on_each_login_url(db, url):
    user = UserFactory(email="target@example.com", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    assert EmailAddress.objects.filter(user=user, verified=True).exists()
    for n in range(12):
        Client(REMOTE_ADDR=f"198.51.100.{n}").post(
            url, {**_credentials(user), "password": f"wrong-{n}"}, follow=True)

    client = Client(REMOTE_ADDR="198.51.100.99")
    client.post(url, _credentials(user), follow=True)

    assert not _logged_in(client)


def test_a_logged_in_user_who_is_not_staff_is_refused_the_admin(db):
    client = Client()
    client.force_login(UserFactory())

    assert client.get("/django-admin/login/").status_code == 403
    assert client.get("/django-admin/").status_code in (302, 403)
