"""Secrets never reach the logs: representative API calls, logins, token creation and key
rotation run with every logger (SQL included, DEBUG on) captured at DEBUG, and no access
token, password, private key or customer secret may appear in what was logged."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives import serialization
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.audit.log import Actor
from apps.licensing import signing
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_create
from apps.licensing.services.credentials import signing_key_rotate
from apps.licensing.tokens import decode

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def everything_logged(caplog, settings):
    settings.DEBUG = True  # SQL statements are logged with their parameters only then
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.db.backends", "django.request", "django.server",
                 "allauth", "apps"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False


def _private_pem(encrypted: str) -> str:
    return signing._load_private(encrypted).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


def _leaks(caplog, secrets: dict[str, str]) -> list[str]:
    text = "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, 'sql', '')} "
                     f"{getattr(r, 'params', '')} {r.exc_text or ''}" for r in caplog.records)
    found = []
    for name, secret in secrets.items():
        # Whole PEMs never appear as one string in a log line: look for their base64 lines.
        parts = [line for line in secret.splitlines() if len(line) > 40] or [secret]
        if any(part in text for part in parts):
            found.append(name)
    return found


def test_api_calls_log_no_token_customer_secret_or_private_key(tenant, everything_logged):
    token = token_create(vendor=tenant.vendor, actor=Actor.for_system("test"), name="t",
                         permissions=API_METHODS)[1]
    client = Client()

    def call(method: str, **params) -> dict:
        return client.post(f"/api/{method}", {"token": token, **params}).json()

    assert everything_logged.records, "nothing was captured: the test would prove nothing"
    activated = call("key/Activate", ProductId=tenant.product.pk, Key=tenant.key.key,
                     MachineCode="pc-log", Sign="True", SignMethod="1", Metadata="True")
    assert activated["result"] == 0
    added = call("customer/AddCustomer", Name="Log Corp", Email="it@log.example")
    customer_secret = added["secret"]
    assert call("customer/GetCustomerLicensesBySecret", Secret=customer_secret)["result"] == 0
    call("customer/GetCustomerLicensesBySecret", Secret=customer_secret + "x")
    call("key/GetKey", ProductId=tenant.product.pk, Key="AAAAA-AAAAA-AAAAA-AAAAA")
    client.post("/api/key/GetKey", {"token": token[:-4] + "AAA=", "ProductId": 1})
    client.get("/api/key/GetKey", {"token": token, "ProductId": "x" * 5000})

    assert _leaks(everything_logged, {
        "token": token, "token secret": decode(token)[1], "customer secret": customer_secret,
        "private key": _private_pem(tenant.vendor.signing_key.private_key_encrypted),
    }) == []


def test_logins_log_no_password(tenant, everything_logged):
    tenant.owner.set_password(PASSWORD)
    tenant.owner.save()
    client = Client()
    client.post(reverse("account_login"), {"login": tenant.owner.email, "password": "nope"})
    response = client.post(reverse("account_login"),
                           {"login": tenant.owner.email, "password": PASSWORD})
    assert response.status_code == 302
    client.post(reverse("account_change_password"), {
        "oldpassword": PASSWORD, "password1": PASSWORD + "!", "password2": PASSWORD + "!"})
    Client().post(reverse("account_signup"), {
        "email": "new@log.example", "password1": PASSWORD, "password2": PASSWORD,
        "organisation": "Log Ltd"})

    assert _leaks(everything_logged, {"password": PASSWORD,
                                      "new password": PASSWORD + "!"}) == []


def test_creating_tokens_and_rotating_keys_logs_no_secret(tenant, owner_client,
                                                          everything_logged):
    response = owner_client.post(reverse("vendor_portal:token_create"),
                                 {"name": "CI", "permissions": ["key.GetKey"]})
    token = response.context["token_string"]
    new_key = signing_key_rotate(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner))

    assert _leaks(everything_logged, {
        "token": token, "token secret": decode(token)[1],
        "private key": _private_pem(new_key.private_key_encrypted)}) == []
