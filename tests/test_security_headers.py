"""Security headers. Every page of every portal is checked against the CSP by the URL x
persona matrices (tests/matrix.py calls tests/csp.py on each page they render); this file
covers the pages outside them, the production cookie and transport settings, and the check
itself."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from apps.licensing.models import ActivationForm
from tests.activation_forms.conftest import open_form
from tests.csp import page_problems
from tests.test_deploy_settings import SECRET, manage


def _check(response, status: int = 200) -> None:
    assert response.status_code == status
    assert page_problems(response) == []
    assert response["Permissions-Policy"].startswith("camera=()")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password",
                                  "api:reference"])
def test_public_pages_carry_the_csp_and_no_inline_code(db, name):
    _check(Client().get(reverse(name)))


def test_the_public_activation_form_carries_the_csp(tenant):
    form: ActivationForm = open_form(tenant.product)
    _check(Client().get(reverse("activation_forms:activation_form", args=[form.slug])))


def test_not_found_page_carries_the_csp(db):
    _check(Client().get("/no-such-page/"), status=404)


@pytest.mark.parametrize("name", ["account_email", "account_change_password", "mfa_index",
                                  "account_reauthenticate"])
def test_account_pages_of_a_logged_in_owner_carry_the_csp(tenant, owner_client, name):
    _check(owner_client.get(reverse(name)))


def test_api_answers_carry_the_headers_too(db):
    response = Client().post("/api/key/GetKey", {"token": "x"})
    assert json.loads(response.content)["result"] == 1
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_the_policy_is_strict(settings):
    policy = dict(part.strip().split(" ", 1) for part in
                  settings.CONTENT_SECURITY_POLICY.split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "unsafe" not in settings.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>", '<button onclick="go()">x</button>', '<p style="x">y</p>',
    "<style>p{}</style>", '<a href="javascript:go()">x</a>',
])
def test_the_page_check_finds_inline_code(settings, html):
    response = HttpResponse(f"<html><body>{html}</body></html>")
    response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
    assert page_problems(response) != []


def test_the_page_check_allows_external_scripts_and_json_script(settings):
    response = HttpResponse('<script src="/static/js/a.js" defer></script>'
                            '<script id="d" type="application/json">{"a": 1}</script>')
    response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
    assert page_problems(response) == []


def test_production_sends_secure_cookies_hsts_and_the_csp():
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, "
            "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_SSL_REDIRECT, "
            "s.SECURE_CONTENT_TYPE_NOSNIFF, s.SESSION_COOKIE_SAMESITE, "
            "'apps.core.security_headers.SecurityHeadersMiddleware' in s.MIDDLEWARE)")
    result = manage("shell", "-c", code, DEBUG="0", SECRET_KEY=SECRET,
                    ALLOWED_HOSTS="licensing.example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["True"] * 7 + ["Lax", "True"]
