"""The WSGI application serves the Web API's calls through settings.API_MIDDLEWARE
(licensing_portal/handlers.py): the same security headers and outage answer as the portal's
stack, without sessions, CSRF, authentication or allauth."""

from __future__ import annotations

import io
import json
import select
import urllib.parse
import wsgiref.util

import psycopg
import pytest
from django.core.signals import request_finished, request_started
from django.db import OperationalError, close_old_connections, connection, connections

from apps.audit.log import Actor
from apps.licensing.services import token_create
from licensing_portal.handlers import is_api_call
from licensing_portal.wsgi import application
from tests.factories import ProductFactory, make_key, make_vendor

SECURITY_HEADERS = ("Content-Security-Policy", "Permissions-Policy", "X-Content-Type-Options",
                    "Referrer-Policy", "X-Frame-Options")


def call(path: str, fields: dict[str, str] | None = None) -> tuple[str, dict[str, str], bytes]:
    body = urllib.parse.urlencode(fields or {}).encode()
    environ: dict = {"REQUEST_METHOD": "POST" if fields is not None else "GET",
                     "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
                     "CONTENT_LENGTH": str(len(body)),
                     "CONTENT_TYPE": "application/x-www-form-urlencoded",
                     "REMOTE_ADDR": "127.0.0.1"}
    wsgiref.util.setup_testing_defaults(environ)
    environ["SERVER_NAME"] = "testserver"
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    # As Django's test client does: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        content = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content


def test_only_api_calls_take_the_api_stack():
    assert is_api_call("/api/key/Activate") and is_api_call("/api//data/adddataobjecttokey/")
    assert is_api_call("/API/key/Activate")
    assert not is_api_call("/docs/api/") and not is_api_call("/products/")
    assert not is_api_call("/apiary/")


@pytest.mark.django_db
def test_an_api_call_answers_with_the_portals_security_headers_and_no_session():
    status, headers, content = call("/api/key/GetKey", {"token": "x"})
    assert status.startswith("200")
    assert json.loads(content) == {"result": 1, "message": "Unable to authenticate."}
    assert all(name in headers for name in SECURITY_HEADERS)
    _, portal_headers, _ = call("/accounts/login/")
    assert {n: headers[n] for n in SECURITY_HEADERS} == {
        n: portal_headers[n] for n in SECURITY_HEADERS}
    assert "Set-Cookie" not in headers and "Cookie" not in headers.get("Vary", "")


@pytest.mark.django_db
def test_a_call_through_the_application_is_served():
    vendor = make_vendor()
    key = make_key(ProductFactory(vendor=vendor))
    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="t",
                         permissions=["key.GetKey"])[1]
    _, _, content = call("/api/key/GetKey", {"token": token, "ProductId": str(key.product_id),
                                             "Key": key.key})
    assert json.loads(content)["result"] == 0, content


@pytest.mark.django_db
def test_the_database_outage_answer_holds_on_the_api_stack(monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")
    monkeypatch.setattr("apps.api.views.token_authenticate", down)
    _, _, content = call("/api/key/GetKey", {"token": "x"})
    assert json.loads(content) == {
        "result": 1, "message": "The service is temporarily unavailable. Please try again in "
                                "a moment."}


@pytest.mark.django_db
def test_the_reference_page_is_a_page_of_the_portal():
    status, _headers, content = call("/docs/api/")
    assert status.startswith("200") and b"<html" in content


@pytest.mark.django_db
def test_sessions_and_csrf_run_for_pages_only(monkeypatch):
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.middleware.csrf import CsrfViewMiddleware

    ran: list[str] = []
    session_request = SessionMiddleware.process_request
    csrf_request = CsrfViewMiddleware.process_request
    monkeypatch.setattr(SessionMiddleware, "process_request",
                        lambda self, request: (ran.append("session"),
                                               session_request(self, request))[1])
    monkeypatch.setattr(CsrfViewMiddleware, "process_request",
                        lambda self, request: (ran.append("csrf"),
                                               csrf_request(self, request))[1])
    call("/api/key/GetKey", {"token": "x"})
    assert ran == []
    call("/accounts/login/")
    assert ran == ["session", "csrf"]


# --- Idle connections are checked without a query (handlers.idle_connections_checked) -----


def _served_call(fields: dict[str, str]) -> dict:
    """A call through the application as a server makes it: with request_started and
    request_finished connected (close_old_connections), outside any test transaction."""
    body = urllib.parse.urlencode(fields).encode()
    environ: dict = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/key/GetKey",
                     "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                     "CONTENT_TYPE": "application/x-www-form-urlencoded",
                     "REMOTE_ADDR": "127.0.0.1"}
    wsgiref.util.setup_testing_defaults(environ)
    environ["SERVER_NAME"] = "testserver"
    chunks = application(environ, lambda status, headers, exc_info=None: None)
    try:
        return json.loads(b"".join(chunks))
    finally:
        getattr(chunks, "close", lambda: None)()


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="checks PostgreSQL connections' sockets")


@pytest.fixture
def getkey(transactional_db) -> dict[str, str]:
    vendor = make_vendor()
    key = make_key(ProductFactory(vendor=vendor))
    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="t",
                         permissions=["key.GetKey"])[1]
    return {"token": token, "ProductId": str(key.product_id), "Key": key.key}


@postgres_only
def test_a_live_idle_connection_takes_no_health_check_query(getkey, monkeypatch):
    assert _served_call(getkey)["result"] == 0  # the connection is open and idle now
    assert connection.connection is not None and connection.health_check_enabled
    checks: list[int] = []
    monkeypatch.setattr(type(connections["default"]), "is_usable",
                        lambda self: checks.append(1) or True)

    assert _served_call(getkey)["result"] == 0
    assert checks == []


@postgres_only
def test_a_connection_ended_while_idle_is_replaced_before_the_call(getkey):
    assert _served_call(getkey)["result"] == 0
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                         password=settings["PASSWORD"], host=settings["HOST"],
                         port=settings["PORT"] or None, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's goodbye is on its way to the idle connection's socket.
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    assert poller.poll(5000)

    assert _served_call(getkey)["result"] == 0
    assert connection.connection.info.backend_pid != pid
