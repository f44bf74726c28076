"""Key and token guessing is braked per IP address."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from apps.api import errors
from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_create
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

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


@override_settings(API_MAX_FAILURES_PER_WINDOW=5, API_FAILURE_WINDOW_SECONDS=60)
def test_an_ip_guessing_keys_is_refused_even_for_a_real_key(db):
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    real = make_key(product, max_no_of_machines=5)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="t",
                            permissions=API_METHODS)
    client = Client()
    for n in range(5):
        body = _activate(client, token, product.pk, f"AAAAA-AAAAA-AAAAA-AAAA{chr(65 + n)}",
                         "198.51.100.7")
        assert body["message"] == errors.KEY_NOT_FOUND

    refused = _activate(client, token, product.pk, real.key, "198.51.100.7")
    other_ip = _activate(client, token, product.pk, real.key, "198.51.100.8")

    assert refused == {"result": 1, "message": errors.TOO_MANY_REQUESTS}
    assert other_ip["result"] == 0


@override_settings(API_MAX_FAILURES_PER_WINDOW=3, API_FAILURE_WINDOW_SECONDS=60)
def test_bad_tokens_count_as_failures(db):
    client = Client()
    for _ in range(3):
        body = client.post("/api/key/GetKey", {"token": "bogus"},
                           REMOTE_ADDR="203.0.113.5").json()
        assert body["message"] == errors.UNABLE_TO_AUTHENTICATE
    body = client.post("/api/key/GetKey", {"token": "bogus"}, REMOTE_ADDR="203.0.113.5").json()
    assert body["message"] == errors.TOO_MANY_REQUESTS
