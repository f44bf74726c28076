"""Requests that hit a database outage get a retryable answer, never Django's 500 page."""

from __future__ import annotations

from unittest import mock

from django.db import InterfaceError, OperationalError
from django.test import Client, override_settings

from apps.core.middleware import API_MESSAGE


@override_settings(ROOT_URLCONF="tests.ops.broken_urls")
def test_an_api_call_gets_the_cryptolens_envelope():
    response = Client().post("/api/key/Activate", {"Key": "x"})

    assert response.status_code == 200
    assert response.json() == {"result": 1, "message": API_MESSAGE}


@override_settings(ROOT_URLCONF="tests.ops.broken_urls")
def test_a_portal_page_gets_a_503_with_retry_after():
    response = Client().get("/vendor/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Temporarily unavailable" in response.content


def test_the_real_api_answers_the_envelope_when_token_lookup_loses_the_database(db):
    # token_authenticate runs outside the dispatcher's own try/except.
    for error in (OperationalError("server closed the connection unexpectedly"),
                  InterfaceError("connection already closed")):
        with mock.patch("apps.api.views.token_authenticate", side_effect=error):
            response = Client().post("/api/key/Activate", {"token": "t", "Key": "k"})

        assert response.status_code == 200
        assert response.json() == {"result": 1, "message": API_MESSAGE}


def test_other_errors_are_left_to_django():
    from apps.core.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    assert middleware.process_exception(mock.Mock(path="/api/x"), ValueError("bug")) is None
