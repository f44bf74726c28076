"""Every Web API method in the registry, with random, oversized and non-UTF-8 parameters, with
and without valid credentials: always Cryptolens' envelope, never a 500 or the catch-all
error, and an error answer ({"result": 1}) writes nothing but its Web API log row.

(tests/api_concurrency/test_fuzz.py draws methods at random and fuzzes paths and verbs; this
one gives each method its own examples.)"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from apps.api.errors import INCORRECT_INPUT
from apps.api.registry import METHODS
from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import DataObject
from apps.licensing.services import token_create
from tests.api_concurrency.test_fuzz import _assert_envelope
from tests.factories import CustomerFactory, ProductFactory, make_activation, make_key, make_vendor

from .common import FUZZ, VALUES, check_request, raw_bodies

NAMES = sorted(METHODS)
PLACEHOLDERS = st.sampled_from(["<product>", "<key>", "<customer>", "<machine>",
                                "<data-object>", "<data-object-name>"])


@pytest.fixture
def world(db) -> dict[str, str]:
    vendor = make_vendor("Fuzz Ltd")
    product = ProductFactory(vendor=vendor)
    customer = CustomerFactory(vendor=vendor)
    key = make_key(product, customer=customer, max_no_of_machines=3)
    make_activation(key, "machine-1")
    data_object = DataObject.objects.create(key=key, name="usage", int_value=3)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="fuzz",
                            permissions=API_METHODS)
    return {"<token>": token, "<product>": str(product.pk), "<key>": key.key,
            "<customer>": str(customer.pk), "<machine>": "machine-1",
            "<data-object>": str(data_object.pk), "<data-object-name>": "usage"}


def _is_error(response) -> bool:
    return json.loads(response.content)["result"] == 1


def test_every_registered_method_is_fuzzed():
    allowed = {permission for method in METHODS.values() for permission in method.permissions}
    assert allowed == set(API_METHODS)  # every token permission's methods are among NAMES


@pytest.mark.parametrize("name", NAMES)
def test_api_method_answers_the_envelope_and_an_error_writes_nothing(name, world):
    method = METHODS[name]
    path = method.path
    own = [p.name for p in method.params] or ["Key"]
    params = st.dictionaries(st.sampled_from(own), st.one_of(VALUES, PLACEHOLDERS),
                             max_size=len(own))
    credentials = st.fixed_dictionaries({}, optional={
        "token": st.sampled_from(["<token>", "<token>", "", "x" * 5000]),
        "ProductId": st.just("<product>"), "Key": st.just("<key>")})

    @FUZZ
    @given(creds=credentials, own=params, raw=raw_bodies({n: "" for n in own}),
           how=st.sampled_from(["POST", "GET", "raw"]))
    def fuzz(creds: dict, own: dict, raw: bytes, how: str) -> None:
        data = {k: world.get(v, v) if isinstance(v, str) else v
                for k, v in {**creds, **own}.items()}
        client = Client()
        if how == "raw":
            send = lambda: client.post(  # noqa: E731
                f"{path}?token={world['<token>']}", raw,
                content_type="application/x-www-form-urlencoded")
        elif how == "GET":
            send = lambda: client.get(path, data)  # noqa: E731
        else:
            send = lambda: client.post(path, data)  # noqa: E731
        responses = []
        problems = check_request(lambda: responses.append(send()) or responses[-1], _is_error)
        _assert_envelope(responses[0])
        assert problems == [], (name, data)

    fuzz()


@pytest.mark.parametrize("states", [
    "[99999999999999999999999]", f"[{2**63}]", f"[{-(2**63) - 1}]",
    "[" * 5000 + "]" * 5000, "[" * 9 + "2010" + "]" * 9, "[" + "2010," * 1000 + "2010]",
], ids=["huge", "past-int64", "below-int64", "5000-deep", "9-deep", "1001-values"])
@pytest.mark.parametrize("how", ["GET", "POST"])
def test_web_api_log_refuses_states_out_of_range_or_too_deep(states, how, world):
    """Past a 64-bit integer, nested past the parser's depth bound, or more values than a
    filter takes: the input is incorrect, never the catch-all error."""
    send = Client().get if how == "GET" else Client().post
    response = send("/api/ai/GetWebAPILog", {"token": world["<token>"], "States": states})
    assert (response.status_code, json.loads(response.content)) == (
        200, {"result": 1, "message": INCORRECT_INPUT})


def test_web_api_log_takes_the_largest_64_bit_state(world):
    response = Client().get("/api/ai/GetWebAPILog", {
        "token": world["<token>"], "States": f"[{2**63 - 1}, {-(2**63)}, 2010]"})
    assert json.loads(response.content)["result"] == 0
