"""The forms anyone can post to: the public activation form and allauth's login, sign-up and
password-reset forms, with random, oversized and non-UTF-8 input: never a 500, and a refusal
writes nothing (the activation form's Web API log row aside)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.activation_forms.conftest import open_form

from .common import fuzz_form

PASSWORD = "a-long-enough-password-9"


def _fuzz_form(url: str, known: dict) -> None:
    def client() -> Client:
        cache.clear()  # test the forms, not the rate limits (they have their own tests)
        return Client(REMOTE_ADDR="203.0.113.50")

    fuzz_form(url, known, client)


def test_activation_form(tenant):
    form = open_form(tenant.product, ask_friendly_name=True)
    _fuzz_form(reverse("activation_forms:activation_form", args=[form.slug]),
               {"key": tenant.key.key, "machine_code": "pc-9", "friendly_name": "PC 9"})


@pytest.mark.parametrize("name, known", [
    ("account_login", {"login": "owner@example.com", "password": PASSWORD}),
    ("account_signup", {"email": "new@example.com", "password1": PASSWORD,
                        "password2": PASSWORD, "organisation": "New Ltd"}),
    ("account_reset_password", {"email": "owner@example.com"}),
])
def test_account_forms(tenant, name, known):
    _fuzz_form(reverse(name), known)
