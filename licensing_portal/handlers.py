"""The WSGI application: the Web API's calls through a middleware stack of their own.

Every copy of a vendor's software calls /api/... at start-up; those calls use no session, no
logged-in user, no CSRF token, no messages, no static files and no allauth state, yet the
portal's stack (settings.MIDDLEWARE) would run all of it for each. settings.API_MIDDLEWARE
keeps what an API answer needs: the security headers every answer carries (HSTS, nosniff,
CSP...) and the retryable answer when the database is down. The API reference page
(/docs/api/) is a page of the portal and takes the portal's stack.

The API's handler also checks its persistent database connections without a round trip
(idle_connections_checked): CONN_HEALTH_CHECKS would send a `SELECT 1` before the first query
of every call, a second round trip for calls whose work is one statement."""

from __future__ import annotations

import select
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.http import HttpRequest, HttpResponseBase

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


class ApiHandler(StackHandler):
    """settings.API_MIDDLEWARE, and the idle connections checked locally before the call."""

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        idle_connections_checked()
        return super().get_response(request)


def idle_connections_checked() -> None:
    """Django's health check (CONN_HEALTH_CHECKS) costs a `SELECT 1` round trip before the
    first query of each request. A server that ended a connection while it sat idle (restart,
    fail-over, pg_terminate_backend, idle_session_timeout) has written its goodbye (a FATAL
    message, then end of file) to the socket, or its kernel did: so a socket with nothing to
    read is a live connection as far as a check can tell, and the check is marked done. A
    socket with something to read keeps Django's check, which replaces the connection when it
    is dead. Runs after request_started (close_old_connections), before the view."""
    for conn in connections.all(initialized_only=True):
        # health_check_*: Django's own flags (not in django-stubs).
        if (conn.connection is None or conn.health_check_done  # type: ignore[attr-defined]
                or not conn.health_check_enabled):  # type: ignore[attr-defined]
            continue
        try:
            poller = select.poll()
            poller.register(conn.connection.fileno(), select.POLLIN)
            readable = bool(poller.poll(0))
        except Exception:  # a lost connection, or a driver without a socket
            readable = True  # Django's check decides
        if not readable:
            conn.health_check_done = True  # type: ignore[attr-defined]


def api_handler() -> StackHandler:
    """The Web API's handler: settings.API_MIDDLEWARE, idle connections checked locally."""
    return ApiHandler(settings.API_MIDDLEWARE)


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
