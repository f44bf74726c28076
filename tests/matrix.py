"""Shared pieces of the URL x persona permission matrices (one per portal)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.db import transaction
from django.urls import reverse

from apps.licensing.models import ObjectLogEntry

LOGIN = "login"  # 302 to the login page with ?next=<the requested path>


def rolled_back(send: Callable):
    """Send a request inside a savepoint and undo what it wrote; return (response, logged)."""
    with transaction.atomic():
        before = ObjectLogEntry.objects.count()
        response = send()
        logged = ObjectLogEntry.objects.count() - before
        transaction.set_rollback(True)
    return response, logged


def login_redirect(url: str) -> str:
    return f"{reverse('account_login')}?next={quote(url, safe='/')}"


def mismatch(name: str, method: str, expected, response, url: str) -> str | None:
    """None when the response is what the matrix expects, else a line saying what differs."""
    if expected == LOGIN:
        if response.status_code == 302 and response["Location"] == login_redirect(url):
            return None
        where = response.get("Location", "")
        return f"{name} {method}: expected login redirect, got {response.status_code} {where}"
    if response.status_code != expected:
        return f"{name} {method}: expected {expected}, got {response.status_code}"
    return None
