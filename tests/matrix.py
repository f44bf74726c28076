"""Shared pieces of the URL x persona permission matrices (one per portal)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.db import transaction
from django.urls import URLResolver, get_resolver, reverse

from apps.audit.models import ObjectLogEntry

from .csp import page_problems

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
    if problems := page_problems(response):  # every page rendered is checked against the CSP
        return f"{name} {method}: {'; '.join(problems)}"
    return None


def get_problems(client, matrix: dict, column: int, url_of: Callable) -> list[str]:
    """GET every URL of a matrix as one persona (`column`): each status must be the row's,
    and no GET may write to the object log."""
    problems = []
    for name, row in matrix.items():
        url = url_of(name, row)
        response, logged = rolled_back(lambda: client.get(url))
        problems.append(mismatch(name, "GET", row.get[column], response, url))
        if logged:
            problems.append(f"{name} GET wrote {logged} object-log entries")
    return [p for p in problems if p]


def url_names_in(namespace: str) -> set[str | None]:
    """Every URL name the URLconf has in `namespace`, however deeply it is included."""
    names: set[str | None] = set()

    def walk(patterns, current: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or current)
            elif current == namespace:
                names.add(pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def csrf_problems(client, matrix: dict, url_of: Callable, data_of: Callable) -> list[str]:
    """POST every write row without a CSRF token; list the rows not refused (403) or that
    wrote to the object log anyway."""
    problems = []
    for name, row in matrix.items():
        if row.post is None:
            continue
        url = url_of(name, row)
        response, logged = rolled_back(lambda: client.post(url, data_of(row)))
        if response.status_code != 403 or logged:
            problems.append(f"{name}: {response.status_code}, {logged} log entries")
    return problems
