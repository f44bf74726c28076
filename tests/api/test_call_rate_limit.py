"""Every authenticated Web API call counts against its token's and its IP's budgets; past one,
the call gets Cryptolens' error envelope with Retry-After, and the official client shows it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from licensing.internal import HelperMethods
from licensing.methods import Key

from apps.api import errors
from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_create
from apps.licensing.signing import public_key_xml
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

pytestmark = pytest.mark.usefixtures("one_rate_window")

REFUSED = {"result": 1, "message": errors.TOO_MANY_REQUESTS}


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def setup(db):
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=5)

    def new_token() -> str:
        return token_create(vendor=vendor, actor=Actor.for_system("test"), name="t",
                            permissions=API_METHODS)[1]

    return vendor, product, key, new_token


def _get_key(token: str, product_id: int, key: str, ip: str):
    return Client().post("/api/key/GetKey", {"token": token, "ProductId": product_id,
                                             "Key": key}, REMOTE_ADDR=ip)


@override_settings(API_RATE_LIMIT_PER_TOKEN=(3, 60), API_RATE_LIMIT_PER_IP=(0, 60))
def test_a_token_past_its_budget_is_refused_from_any_ip_with_retry_after(setup):
    _, product, key, new_token = setup
    token = new_token()
    for n in range(3):
        assert _get_key(token, product.pk, key.key, f"198.51.100.{n}").json()["result"] == 0
    logged = WebApiLog.objects.count()

    refused = _get_key(token, product.pk, key.key, "198.51.100.99")
    other_token = _get_key(new_token(), product.pk, key.key, "198.51.100.99")

    assert refused.status_code == 200
    assert refused.json() == REFUSED
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert other_token.json()["result"] == 0
    assert WebApiLog.objects.count() == logged + 1  # the refused call wrote nothing


@override_settings(API_RATE_LIMIT_PER_TOKEN=(0, 60), API_RATE_LIMIT_PER_IP=(2, 60))
def test_an_ip_past_its_budget_is_refused_whatever_token_it_uses(setup):
    _, product, key, new_token = setup
    for _ in range(2):
        assert _get_key(new_token(), product.pk, key.key, "203.0.113.9").json()["result"] == 0

    assert _get_key(new_token(), product.pk, key.key, "203.0.113.9").json() == REFUSED
    assert _get_key(new_token(), product.pk, key.key, "203.0.113.10").json()["result"] == 0


@override_settings(API_RATE_LIMIT_PER_TOKEN=(1, 60), API_RATE_LIMIT_HTTP_STATUS=429)
def test_the_refusal_can_be_sent_as_http_429(setup):
    _, product, key, new_token = setup
    token = new_token()
    _get_key(token, product.pk, key.key, "192.0.2.1")

    refused = _get_key(token, product.pk, key.key, "192.0.2.1")

    assert refused.status_code == 429
    assert refused.json() == REFUSED
    assert int(refused["Retry-After"]) >= 1


@override_settings(API_MAX_FAILURES_PER_WINDOW=1, API_FAILURE_WINDOW_SECONDS=60)
def test_the_failed_lookup_brake_also_says_when_to_retry(db):
    client = Client()
    client.post("/api/key/GetKey", {"token": "bogus"}, REMOTE_ADDR="203.0.113.77")

    refused = client.post("/api/key/GetKey", {"token": "bogus"}, REMOTE_ADDR="203.0.113.77")

    assert refused.json() == REFUSED
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_the_default_budgets_leave_normal_clients_alone(setup, settings):
    _, product, key, new_token = setup
    token = new_token()
    assert settings.API_RATE_LIMIT_PER_TOKEN[0] >= 10_000
    assert settings.API_RATE_LIMIT_PER_IP[0] >= 10_000
    for _ in range(20):
        assert _get_key(token, product.pk, key.key, "127.0.0.1").json()["result"] == 0


@pytest.mark.parametrize("status", [200, 429])
def test_the_official_python_client_shows_the_message(live_server, setup, settings, status):
    vendor, product, key, new_token = setup
    settings.API_RATE_LIMIT_PER_TOKEN = (1, 60)
    settings.API_RATE_LIMIT_HTTP_STATUS = status
    token = new_token()
    previous = HelperMethods.server_address
    HelperMethods.server_address = live_server.url + "/api/"
    try:
        pubkey = public_key_xml(vendor.signing_key.public_key_pem)
        first, _ = Key.activate(token, pubkey, product.pk, key.key, "pc-1")
        second, message = Key.activate(token, pubkey, product.pk, key.key, "pc-1")
    finally:
        HelperMethods.server_address = previous

    assert first is not None
    assert second is None
    assert message == errors.TOO_MANY_REQUESTS
