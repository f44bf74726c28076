"""The WSGI application: the Web API's calls through a middleware stack of their own.

Every copy of a vendor's software calls /api/... at start-up; those calls use no session, no
logged-in user, no CSRF token, no messages, no static files and no allauth state, yet the
portal's stack (settings.MIDDLEWARE) would run all of it for each. settings.API_MIDDLEWARE
keeps what an API answer needs: the security headers every answer carries (HSTS, nosniff,
CSP...) and the retryable answer when the database is down. The API reference page
(/docs/api/) is a page of the portal and takes the portal's stack."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

API_PREFIX = "/api/"


class StackHandler(WSGIHandler):
    """Django's WSGI handler with a middleware stack of its own instead of
    settings.MIDDLEWARE."""

    def __init__(self, middleware: list[str]) -> None:
        self.middleware = middleware
        super().__init__()  # loads the middleware

    def load_middleware(self, is_async: bool = False) -> None:
        # Built once, when the process starts and before it serves: swapping the setting
        # for the duration of Django's own loader keeps its ordering and adaptation rules.
        portal_stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = portal_stack


def api_handler() -> StackHandler:
    """The Web API's handler: settings.API_MIDDLEWARE."""
    return StackHandler(settings.API_MIDDLEWARE)


def is_api_call(path: str) -> bool:
    return path[:len(API_PREFIX)].lower() == API_PREFIX  # any case, as apps/api/urls.py


class Application:
    """Sends /api/<...> to the API's handler and everything else to the portal's."""

    def __init__(self, portal: WSGIHandler, api: WSGIHandler) -> None:
        self.portal = portal
        self.api = api

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        handler = self.api if is_api_call(environ.get("PATH_INFO", "")) else self.portal
        return handler(environ, start_response)
