"""With Redis down, the cache fails open and the Web API keeps answering and logging."""

from __future__ import annotations

import socket

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from apps.audit.log import Actor
from apps.core.cache import FailOpenRedisCache
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Activation
from apps.licensing.services import token_create
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_key, make_vendor


def _closed_port() -> int:
    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_redis_cache():
    location = f"redis://127.0.0.1:{_closed_port()}/0"
    caches = {"default": {"BACKEND": "apps.core.cache.FailOpenRedisCache",
                          "LOCATION": location,
                          "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2,
                                      "retry_after_seconds": 5}}}
    with override_settings(CACHES=caches):
        yield


def test_every_cache_call_answers_as_a_miss_while_redis_is_unreachable(dead_redis_cache):
    assert cache.get("k", "default") == "default"
    assert cache.add("k", 1) is False
    cache.set("k", 1)
    assert cache.get_many(["k"]) == {}
    assert cache.incr("k", 3) == 3
    assert cache.has_key("k") is False
    assert cache.delete("k") is False


def test_after_a_failure_redis_is_not_tried_again_for_a_while(dead_redis_cache):
    from django.core.cache import caches

    backend = caches["default"]
    assert isinstance(backend, FailOpenRedisCache)
    backend.get("k")
    calls = []
    backend._cache.get = lambda *args: calls.append(args)  # would be the next Redis call

    assert backend.get("k", "miss") == "miss"
    assert calls == []


def test_the_api_activates_and_logs_with_redis_down(db, dead_redis_cache):
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=2)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="t",
                            permissions=API_METHODS)

    answers = [Client().post("/api/key/Activate", {
        "token": token, "ProductId": product.pk, "Key": key.key, "MachineCode": code,
    }).json() for code in ("m-1", "m-2", "m-3")]

    assert [a["result"] for a in answers] == [0, 0, 1]
    assert Activation.objects.filter(key=key).count() == 2
    assert WebApiLog.objects.filter(vendor=vendor, key=key.key).count() == 3
