"""The development mailbox: with DEBUG on and no mail server, sent mail is kept and readable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from apps.core.devmail import BACKEND, mailbox_enabled
from apps.core.models import SentMail

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def devmail(settings):
    settings.DEBUG, settings.EMAIL_BACKEND = True, BACKEND
    return settings


def _backend_for(**env: str) -> str:
    """EMAIL_BACKEND as the real settings compute it from this environment."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("EMAIL_") and k not in ("DEBUG", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.EMAIL_BACKEND)"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "licensing_portal.settings",
             "PORTAL_ENV_FILE": "/nonexistent", "SECRET_KEY": "x" * 50, **env},
        cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_development_without_a_mail_server_uses_the_mailbox():
    assert _backend_for(DEBUG="1") == BACKEND


def test_a_mail_server_or_production_gets_smtp():
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    assert _backend_for(DEBUG="1", EMAIL_HOST="smtp.example.com") == smtp
    assert _backend_for(DEBUG="0") == smtp
    assert _backend_for(DEBUG="1", EMAIL_BACKEND=smtp) == smtp


def test_the_backend_prints_and_keeps_the_mail(devmail, db, capsys):
    mail.send_mail("Welcome", "Open http://testserver/x/ now", "from@example.com",
                   ["to@example.com"], connection=mail.get_connection(BACKEND))
    kept = SentMail.objects.get()
    assert (kept.subject, kept.from_email, kept.recipients) == (
        "Welcome", "from@example.com", ["to@example.com"])
    assert kept.body == "Open http://testserver/x/ now"
    assert "Subject: Welcome" in capsys.readouterr().out


def test_the_mailbox_lists_the_mail_and_shows_it_with_clickable_links(devmail, client, db):
    mail.send_mail("Confirm your address", "Confirm: http://testserver/accounts/confirm/abc/",
                   None, ["new@example.com"], connection=mail.get_connection(BACKEND))
    kept = SentMail.objects.get()
    listing = client.get(reverse("vendor_portal:devmail_list"))
    assert listing.status_code == 200
    detail_url = reverse("vendor_portal:devmail_detail", args=[kept.pk])
    assert f'<a href="{detail_url}">Confirm your address</a>' in listing.content.decode()
    assert "new@example.com" in listing.content.decode()
    detail = client.get(detail_url).content.decode()
    assert '<a href="http://testserver/accounts/confirm/abc/"' in detail


@pytest.mark.parametrize(("debug", "backend"), [
    (False, BACKEND), (True, "django.core.mail.backends.locmem.EmailBackend")])
def test_without_debug_or_the_backend_there_is_no_mailbox(settings, client, db, debug,
                                                          backend):
    settings.DEBUG, settings.EMAIL_BACKEND = debug, backend
    kept = SentMail.objects.create(subject="Secret", from_email="a@example.com",
                                   to="b@example.com", body="token")
    assert not mailbox_enabled()
    assert client.get(reverse("vendor_portal:devmail_list")).status_code == 404
    assert client.get(reverse("vendor_portal:devmail_detail", args=[kept.pk])
                      ).status_code == 404


def test_signing_up_says_where_the_confirmation_is(devmail, client, db):
    response = client.post(reverse("account_signup"), {
        "email": "new@example.com", "password1": "a-long-enough-password-9",
        "password2": "a-long-enough-password-9", "organisation": ""}, follow=True)
    page = response.content.decode()
    assert f'<a href="{reverse("vendor_portal:devmail_list")}">Open the development mailbox</a>' \
        in page
    assert SentMail.objects.get().recipients == ["new@example.com"]


def test_without_the_mailbox_the_sign_up_message_has_no_link(client, db):
    response = client.post(reverse("account_signup"), {
        "email": "new@example.com", "password1": "a-long-enough-password-9",
        "password2": "a-long-enough-password-9", "organisation": ""}, follow=True)
    assert "development mailbox" not in response.content.decode()
