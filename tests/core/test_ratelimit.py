"""The fixed-window counters behind every rate limit, on the local cache and on Redis."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache, caches
from django.test import override_settings

from apps.core import ratelimit
from apps.core.ratelimit import Limit, hit

WINDOW_START = 6_000_000.0


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_limit_plus_one_hit_is_refused_until_the_window_ends():
    limits = [Limit("t:a", 2, 60)]
    assert hit(limits, now=WINDOW_START) == 0
    assert hit(limits, now=WINDOW_START + 1) == 0
    assert hit(limits, now=WINDOW_START + 20) == 40
    assert hit(limits, now=WINDOW_START + 60) == 0  # a new window


def test_each_limit_counts_on_its_own_and_the_longest_wait_wins():
    short, long = Limit("t:short", 1, 10), Limit("t:long", 1, 100)
    hit([short, long], now=WINDOW_START)
    assert hit([short, long], now=WINDOW_START + 5) == 95
    assert hit([Limit("t:other", 1, 10)], now=WINDOW_START + 5) == 0


def test_a_zero_limit_is_no_limit():
    assert all(hit([Limit("t:off", 0, 60)], now=WINDOW_START) == 0 for _ in range(5))


def test_a_broken_cache_lets_the_request_through(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr("apps.core.ratelimit._exchange", broken)
    assert hit([Limit("t:x", 1, 60)], now=WINDOW_START) == 0


REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (use your own Redis database)")
def test_on_redis_the_counters_are_one_round_trip():
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                               "LOCATION": REDIS_URL, "KEY_PREFIX": "ratelimit-test"}}
    with override_settings(CACHES=redis_cache):
        caches["default"].clear()
        limits = [Limit("t:redis-a", 2, 60), Limit("t:redis-b", 5, 60)]
        assert [hit(limits, now=WINDOW_START) for _ in range(3)] == [0, 0, 60]
        assert hit([], peek=[Limit("t:redis-b", 3, 60)], now=WINDOW_START) == 60
        assert hit([], peek=[Limit("t:redis-b", 4, 60)], now=WINDOW_START) == 0
        assert hit([], peek=[Limit("t:redis-none", 1, 60)], now=WINDOW_START) == 0
        client = caches["default"]._cache.get_client(write=True)
        key = caches["default"].make_and_validate_key(f"rl:t:redis-a:{int(WINDOW_START) // 60}")
        assert int(client.get(key)) == 3
        assert 0 < client.ttl(key) <= 61
        caches["default"].clear()


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (use your own Redis database)")
def test_a_redis_that_forgot_the_script_is_given_it_again():
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                               "LOCATION": REDIS_URL, "KEY_PREFIX": "ratelimit-test-noscript"}}
    with override_settings(CACHES=redis_cache):
        caches["default"].clear()
        limits = [Limit("t:noscript", 1, 60)]
        assert hit(limits, now=WINDOW_START) == 0
        caches["default"]._cache.get_client(write=True).script_flush()  # a restarted Redis
        assert hit(limits, now=WINDOW_START) == 60
        assert hit(limits, now=WINDOW_START) == 60
        caches["default"].clear()


FAIL_OPEN = "apps.core.cache.FailOpenRedisCache"


def test_with_redis_down_the_fail_open_cache_lets_requests_through():
    dead = {"default": {"BACKEND": FAIL_OPEN, "LOCATION": "redis://127.0.0.1:1/0",
                        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    with override_settings(CACHES=dead):
        assert [hit([Limit("t:down", 1, 60)], now=WINDOW_START) for _ in range(3)] == [0, 0, 0]


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (use your own Redis database)")
def test_the_production_fail_open_cache_counts_on_redis():
    redis_cache = {"default": {"BACKEND": FAIL_OPEN, "LOCATION": REDIS_URL,
                               "KEY_PREFIX": "ratelimit-test-fo"}}
    with override_settings(CACHES=redis_cache):
        caches["default"].clear()
        assert [hit([Limit("t:fo", 2, 60)], now=WINDOW_START) for _ in range(3)] == [0, 0, 60]
        caches["default"].clear()


def test_a_peeked_limit_is_read_not_counted():
    failures = Limit("t:peek", 2, 60)
    assert hit([], peek=[failures], now=WINDOW_START) == 0
    hit([failures], now=WINDOW_START)
    assert hit([Limit("t:calls", 100, 60)], peek=[failures], now=WINDOW_START) == 0
    hit([failures], now=WINDOW_START)
    assert hit([Limit("t:calls", 100, 60)], peek=[failures], now=WINDOW_START + 10) == 50


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (use your own Redis database)")
def test_on_redis_threads_counting_at_once_are_each_counted_once():
    """Each thread keeps a connection of its own (apps.core.ratelimit._connection): a shared
    one would mix up their replies."""
    redis_cache = {"default": {"BACKEND": FAIL_OPEN, "LOCATION": REDIS_URL,
                               "KEY_PREFIX": "ratelimit-test-threads"}}
    with override_settings(CACHES=redis_cache):
        caches["default"].clear()
        limits = [Limit("t:threads", 100, 60), Limit("t:threads-b", 1000, 60)]
        start = threading.Barrier(8)

        connections = set()

        def hits() -> list[int]:
            start.wait()
            waits = [hit(limits, now=WINDOW_START) for _ in range(25)]
            connections.add(id(ratelimit._own.held[2]))
            return waits

        with ThreadPoolExecutor(8) as pool:
            waits = [w for batch in pool.map(lambda _: hits(), range(8)) for w in batch]
        assert len(connections) == 8
        assert sorted(set(waits)) == [0, 60]
        assert waits.count(60) == 100  # the 101st to 200th hits
        client = caches["default"]._cache.get_client(write=True)
        key = caches["default"].make_and_validate_key(f"rl:t:threads:{int(WINDOW_START) // 60}")
        assert int(client.get(key)) == 200
        caches["default"].clear()


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (use your own Redis database)")
def test_on_redis_a_connection_the_server_closed_is_opened_again_without_failing_open(caplog):
    """Redis closes idle connections (its `timeout`) and forgets them on a restart: the next
    call still counts, rather than failing open for a few seconds."""
    redis_cache = {"default": {"BACKEND": FAIL_OPEN, "LOCATION": REDIS_URL,
                               "KEY_PREFIX": "ratelimit-test-closed"}}
    with override_settings(CACHES=redis_cache):
        caches["default"].clear()
        limits = [Limit("t:closed", 1, 60)]
        assert hit(limits, now=WINDOW_START) == 0
        host, port = ratelimit._own.held[2]._sock.getsockname()[:2]
        client = caches["default"]._cache.get_client(write=True)
        assert client.client_kill(f"{host}:{port}")
        assert hit(limits, now=WINDOW_START) == 60
        assert "unavailable" not in caplog.text
        caches["default"].clear()
