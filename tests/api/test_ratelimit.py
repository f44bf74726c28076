"""Key and token guessing is braked per IP address."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from apps.api import errors
from apps.audit.log import Actor
from apps.core import ratelimit
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_create
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)
from tests.rediscache import needs_redis, on_redis

pytestmark = pytest.mark.usefixtures("one_rate_window")


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def _activate(client: Client, token: str, product_id: int, key: str, ip: str) -> dict:
    return client.post("/api/key/Activate", {
        "token": token, "ProductId": product_id, "Key": key, "MachineCode": "m",
    }, REMOTE_ADDR=ip).json()


def _product_key_token():
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    real = make_key(product, max_no_of_machines=5)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="t",
                            permissions=API_METHODS)
    return product, real, token


@override_settings(API_MAX_FAILURES_PER_WINDOW=5, API_FAILURE_WINDOW_SECONDS=60)
def test_an_ip_guessing_keys_is_refused_even_for_a_real_key(db):
    product, real, token = _product_key_token()
    client = Client()
    for n in range(5):
        body = _activate(client, token, product.pk, f"AAAAA-AAAAA-AAAAA-AAAA{chr(65 + n)}",
                         "198.51.100.7")
        assert body["message"] == errors.KEY_NOT_FOUND

    refused = _activate(client, token, product.pk, real.key, "198.51.100.7")
    other_ip = _activate(client, token, product.pk, real.key, "198.51.100.8")

    assert refused == {"result": 1, "message": errors.TOO_MANY_REQUESTS}
    assert other_ip["result"] == 0


@needs_redis  # leases are taken on Redis only
@override_settings(API_MAX_FAILURES_PER_WINDOW=5, API_FAILURE_WINDOW_SECONDS=60)
def test_a_guesser_whose_good_calls_hold_a_lease_is_refused_all_the_same(db):
    """Good calls first: on Redis the second one reserves a lease of the IP's and token's
    budgets (apps.core.ratelimit.hit_leased), which must not carry the IP past its block."""
    with on_redis(f"api-lease-test-{os.getpid()}"):
        _guess_after_good_calls()


def _guess_after_good_calls() -> None:
    product, real, token = _product_key_token()
    client = Client()
    for _ in range(3):
        assert _activate(client, token, product.pk, real.key, "198.51.100.9")["result"] == 0
    assert ratelimit._units  # leases are held
    for n in range(5):
        body = _activate(client, token, product.pk, f"BBBBB-BBBBB-BBBBB-BBBB{chr(65 + n)}",
                         "198.51.100.9")
        assert body["message"] == errors.KEY_NOT_FOUND

    assert _activate(client, token, product.pk, real.key, "198.51.100.9") == {
        "result": 1, "message": errors.TOO_MANY_REQUESTS}


@override_settings(API_MAX_FAILURES_PER_WINDOW=3, API_FAILURE_WINDOW_SECONDS=60)
def test_bad_tokens_count_as_failures(db):
    client = Client()
    for _ in range(3):
        body = client.post("/api/key/GetKey", {"token": "bogus"},
                           REMOTE_ADDR="203.0.113.5").json()
        assert body["message"] == errors.UNABLE_TO_AUTHENTICATE
    body = client.post("/api/key/GetKey", {"token": "bogus"}, REMOTE_ADDR="203.0.113.5").json()
    assert body["message"] == errors.TOO_MANY_REQUESTS
