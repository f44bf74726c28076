"""Answers for requests that fail because the database cannot be reached.

While PostgreSQL restarts or fails over, a request's first query raises OperationalError (or
InterfaceError on a connection that died between requests). Without this, Django answers
with its 500 page, which the Web API's clients cannot parse. Here:

- /api/... gets the Cryptolens envelope (HTTP 200, result 1, a message saying to retry), the
  same shape as every other API error, so the official clients report a plain failure;
- every other path gets a small 503 page with Retry-After, which load balancers and browsers
  understand as "try again", rendered without templates (their context processors query the
  database too).

No request state is kept: Django closes the broken connection when the request ends
(CONN_HEALTH_CHECKS checks the next one before use), so the portal recovers by itself once the
database is back, without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
API_MESSAGE = "The service is temporarily unavailable. Please try again in a moment."
RETRY_AFTER_SECONDS = "5"
PAGE = (b"<!doctype html><title>Temporarily unavailable</title>"
        b"<h1>Temporarily unavailable</h1><p>Please try again in a moment.</p>")


class DatabaseUnavailableMiddleware:
    """Turns database connection errors raised in a view into a retryable answer instead of a
    500 page. Listed last in MIDDLEWARE so its process_exception runs first. (Django turns an
    exception raised inside another middleware into a response before it gets here; the lazy
    session and user are evaluated inside views, so their errors do arrive.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest,
                          exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            return self.answer(request, exception)
        return None

    @staticmethod
    def answer(request: HttpRequest, error: Exception) -> HttpResponse:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        logger.error("Database unavailable for %s %s: %s", request.method, request.path,
                     first_line)
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"result": 1, "message": API_MESSAGE})
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response
