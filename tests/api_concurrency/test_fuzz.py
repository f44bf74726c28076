"""Property-based test of the Web API's outer shell: whatever arrives, the answer is the
Cryptolens envelope (HTTP 200, JSON, integer `result` 0 or 1, string `message`), never a 500 and
never the catch-all "Something went wrong" that marks an exception inside a handler.

Examples share one vendor, product, key and token, made once per test: pytest fixtures are not
reset between Hypothesis examples, so nothing here depends on what an earlier example did.
`transactional_db` lets every request commit as it would in production; with `db`, one failed
statement on PostgreSQL would poison the shared transaction for every later example.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apps.api.errors import SERVER_ERROR
from apps.api.registry import METHODS
from apps.licensing.api_methods import API_METHODS
from apps.licensing.audit import Actor
from apps.licensing.models import DataObject
from apps.licensing.services import token_create
from tests.factories import CustomerFactory, ProductFactory, make_activation, make_key, make_vendor

FUZZ = settings(
    max_examples=150, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PARAM_NAMES = sorted({p.name for m in METHODS.values() for p in m.params} | {"token"})
HUGE = [2**31, 2**31 - 1, 2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 10**30, -(10**30)]


@dataclass
class World:
    token: str
    product_id: int
    key: str
    data_object_id: int
    customer_id: int


@pytest.fixture
def world(transactional_db) -> World:
    vendor = make_vendor("Fuzz Ltd")
    product = ProductFactory(vendor=vendor)
    customer = CustomerFactory(vendor=vendor)
    key = make_key(product, customer=customer, max_no_of_machines=3)
    make_activation(key, "machine-1")
    data_object = DataObject.objects.create(key=key, name="usage", int_value=3)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="fuzz",
                            permissions=API_METHODS)
    return World(token, product.pk, key.key, data_object.pk, customer.pk)


def _tokens(world: World) -> st.SearchStrategy[str]:
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    forged = st.tuples(st.text(max_size=20), st.text(max_size=50)).map(
        lambda pair: b64(json.dumps(list(pair)).encode()))
    return st.one_of(
        st.just(world.token),
        st.just(world.token[:-4]),
        st.binary(max_size=64).map(b64),
        forged,
        st.just(b64(json.dumps([str(2**70), "x"]).encode())),
        st.just(b64(b'["1", 2]')),
        st.text(alphabet="ABCabc0123+/= ", max_size=60),
    )


def _values(world: World) -> st.SearchStrategy:
    scalar = st.one_of(
        _tokens(world),
        st.sampled_from([str(world.product_id), world.key, str(world.data_object_id),
                         str(world.customer_id), "usage", "machine-1"]),
        st.sampled_from(["", " ", "None", "none", "null", "True", "false", "1", "0", "-1",
                         "1.5", "1e10", "NaN", "[2010,2011]", "[1,\"a\"]", "{}", "[[]]",
                         "x" * 10_240, "é" * 10_000, "Id == 1", "notes.contains(\"a\")",
                         "\x00", "a\x00b", "' OR 1=1 --"]),
        st.integers(min_value=-5, max_value=20).map(str),
        st.sampled_from(HUGE).map(str),
        st.text(max_size=40),
    )
    return st.one_of(scalar, st.lists(scalar, min_size=1, max_size=3))


def _names() -> st.SearchStrategy[str]:
    known = st.sampled_from(PARAM_NAMES)
    return st.one_of(known, known.map(str.lower), known.map(str.upper), st.text(max_size=12))


def _paths() -> st.SearchStrategy[str]:
    registered = st.sampled_from(sorted(m.name for m in METHODS.values())).map(
        lambda name: tuple(name.split(".")))
    unknown = st.tuples(st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True),
                        st.from_regex(r"[A-Za-z]{1,20}", fullmatch=True))
    return st.tuples(
        st.one_of(registered, registered.map(lambda p: (p[0].upper(), p[1].lower())), unknown),
        st.sampled_from(["/api/", "/api//"]), st.sampled_from(["", "/"]),
    ).map(lambda t: f"{t[1]}{t[0][0]}/{t[0][1]}{t[2]}")


def _assert_envelope(response) -> dict:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert isinstance(body, dict)
    assert type(body["result"]) is int and body["result"] in (0, 1), body
    assert isinstance(body["message"], str), body
    assert body["message"] != SERVER_ERROR, "a handler raised; see the log output"
    return body


def test_any_request_gets_the_error_envelope_never_a_500(world):
    client = Client()

    @FUZZ
    @given(path=_paths(), verb=st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE"]),
           real=st.fixed_dictionaries({}, optional={
               "token": st.just(world.token), "ProductId": st.just(str(world.product_id)),
               "Key": st.just(world.key)}),
           extra=st.dictionaries(_names(), _values(world), max_size=8))
    def check(path: str, verb: str, real: dict, extra: dict) -> None:
        data = {**real, **extra}
        if verb == "GET":
            response = client.get(path, data)
        elif verb == "POST":
            response = client.post(path, data)
        else:
            response = client.generic(verb, path, json.dumps(extra))
        _assert_envelope(response)

    check()


def test_non_utf8_bodies_get_the_error_envelope(world):
    client = Client()
    methods = sorted(m.path for m in METHODS.values())

    @FUZZ
    @given(path=st.sampled_from(methods), body=st.binary(max_size=2048),
           with_token=st.booleans())
    @example(path="/api/key/Activate", body=b"\xff\xfe\xfd", with_token=False)
    @example(path="/api/key/GetKey", body=b"Key=\xc3\x28&ProductId=\xa0\xa1", with_token=True)
    @example(path="/api/key/GetKey", body=b"token=%FF%FE&Key=%C3%28", with_token=False)
    def check(path: str, body: bytes, with_token: bool) -> None:
        query = f"?token={world.token}" if with_token else ""
        response = client.post(path + query, body,
                               content_type="application/x-www-form-urlencoded")
        _assert_envelope(response)

    check()
