"""Every path the installed official Python client (`licensing` on PyPI) can call is served.

The paths are read from the client's own source (licensing/methods.py): each
HelperMethods.send_request("<path>", ...) and each AI.__get_usage_analytics("<path>", ...), in
the client's exact spelling (leading slashes, trailing slashes, casing). A new client version
that adds a method makes these tests list it."""

from __future__ import annotations

import ast
import inspect
import json

import licensing.methods
import pytest
from django.urls import Resolver404, resolve
from licensing.internal import HelperMethods

from apps.api import errors, views
from apps.api.registry import lookup

REQUEST_FUNCTIONS = {"send_request", "__get_usage_analytics"}


def client_paths() -> list[str]:
    """The literal paths of every request in licensing/methods.py, in source order."""
    tree = ast.parse(inspect.getsource(licensing.methods))
    paths = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in REQUEST_FUNCTIONS and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            paths.append(node.args[0].value)
    return sorted(set(paths), key=paths.index)


def test_the_client_source_is_read():
    """Guards the parser: a client whose calls it no longer finds would make the tests below
    pass on nothing."""
    paths = client_paths()
    assert len(paths) >= 45
    for known in ("key/activate", "/key/UnblockKey", "ai/GetKeyDevices",
                  "/message/getmessages/", "/userauth/login/"):
        assert known in paths


def _served(path: str) -> str | None:
    """None when the path reaches a registered method; else why not."""
    full = "/api/" + path  # the client prefixes its server_address, which ends in /api/
    try:
        match = resolve(full)
    except Resolver404:
        return f"{full}: no URL pattern"
    if match.func is not views.dispatch:
        return f"{full}: not the Web API dispatcher"
    if lookup(match.kwargs["controller"], match.kwargs["method"]) is None:
        return f"{full}: no registered method"
    return None


def test_every_client_path_resolves_to_a_registered_method():
    missing = [reason for path in client_paths() if (reason := _served(path))]

    assert missing == [], "not served:\n" + "\n".join(missing)


def test_every_client_path_answers_on_a_live_server(server):
    """The client's own transport (HelperMethods.send_request, the fixture points it at the live
    server) with the all-permission token: never "Unknown method.", never a server error."""
    wrong = []
    for path in client_paths():
        try:
            body = json.loads(HelperMethods.send_request(path, {"token": server.token}))
        except Exception as exc:  # an HTTP error or a page that is not JSON
            wrong.append(f"{path}: {exc!r}")
            continue
        if body.get("message") in (errors.UNKNOWN_METHOD, errors.SERVER_ERROR,
                                   errors.ACCESS_DENIED):
            wrong.append(f"{path}: {body['message']}")

    assert wrong == [], "answered wrongly:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", ["key/activate", "/key/UnblockKey", "/message/getmessages/",
                                  "/product/getproducts/"])
def test_the_clients_spellings_reach_the_dispatcher(path):
    """Double and trailing slashes and lower case, as the client sends them."""
    match = resolve("/api/" + path)
    assert match.func is views.dispatch
    assert lookup(match.kwargs["controller"], match.kwargs["method"]) is not None
