"""allauth's rate limits are on for login, sign-up, password reset and confirmation mail."""

from __future__ import annotations

import pytest
from allauth.account import app_settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_every_account_flow_has_a_rate_limit():
    limits = app_settings.RATE_LIMITS
    for action in ("login", "login_failed", "signup", "reset_password",
                   "reset_password_from_key", "confirm_email", "change_password"):
        assert limits.get(action), action


def test_after_five_wrong_passwords_for_one_account_even_the_right_one_is_refused(db):
    user = UserFactory(email="target@example.com")
    user.set_password("the-right-password-1")
    user.save()
    url = reverse("account_login")
    for n in range(5):
        response = Client(REMOTE_ADDR=f"198.51.100.{n}").post(
            url, {"login": user.email, "password": f"wrong-{n}"})
        assert response.status_code == 200, n  # the form again, with its error

    client = Client(REMOTE_ADDR="198.51.100.99")
    blocked = client.post(url, {"login": user.email, "password": "the-right-password-1"})

    assert "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_reset_requests_for_one_address_are_limited(db):
    UserFactory(email="reset@example.com")
    url = reverse("account_reset_password")
    statuses = [Client(REMOTE_ADDR=f"203.0.113.{n}").post(
        url, {"email": "reset@example.com"}).status_code for n in range(6)]

    assert statuses[:5] == [302] * 5
    assert statuses[5] == 429


def test_sign_ups_from_one_address_are_limited(db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    client = Client(REMOTE_ADDR="192.0.2.44")
    url = reverse("account_signup")
    statuses = [client.post(url, {"email": f"s{n}@example.com", "password1": "x",
                                  "password2": "y"}).status_code for n in range(3)]

    assert statuses[2] == 429
