"""The fixed-window counters behind every rate limit, on the local cache and on Redis."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache, caches
from django.test import override_settings

from apps.core import ratelimit
from apps.core.ratelimit import Limit, hit
from tests.rediscache import FAIL_OPEN, PLAIN, REDIS_URL, needs_redis, on_redis

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


def _counter(name: str, window: int = 60) -> tuple[object, str]:
    """The Redis client and the key of `name`'s counter in the window of WINDOW_START."""
    client = caches["default"]._cache.get_client(write=True)
    return client, caches["default"].make_and_validate_key(
        f"rl:{name}:{int(WINDOW_START) // window}")


@needs_redis
def test_on_redis_the_counters_are_one_round_trip():
    with on_redis("ratelimit-test", PLAIN):
        limits = [Limit("t:redis-a", 2, 60), Limit("t:redis-b", 5, 60)]
        assert [hit(limits, now=WINDOW_START) for _ in range(3)] == [0, 0, 60]
        assert hit([], peek=[Limit("t:redis-b", 3, 60)], now=WINDOW_START) == 60
        assert hit([], peek=[Limit("t:redis-b", 4, 60)], now=WINDOW_START) == 0
        assert hit([], peek=[Limit("t:redis-none", 1, 60)], now=WINDOW_START) == 0
        client, key = _counter("t:redis-a")
        assert int(client.get(key)) == 3
        assert 0 < client.ttl(key) <= 61


@needs_redis
def test_a_redis_that_forgot_the_script_is_given_it_again():
    with on_redis("ratelimit-test-noscript", PLAIN):
        limits = [Limit("t:noscript", 1, 60)]
        assert hit(limits, now=WINDOW_START) == 0
        caches["default"]._cache.get_client(write=True).script_flush()  # a restarted Redis
        assert hit(limits, now=WINDOW_START) == 60
        assert hit(limits, now=WINDOW_START) == 60


def test_with_redis_down_the_fail_open_cache_lets_requests_through():
    dead = {"default": {"BACKEND": FAIL_OPEN, "LOCATION": "redis://127.0.0.1:1/0",
                        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    with override_settings(CACHES=dead):
        assert [hit([Limit("t:down", 1, 60)], now=WINDOW_START) for _ in range(3)] == [0, 0, 0]


@needs_redis
def test_the_production_fail_open_cache_counts_on_redis():
    with on_redis("ratelimit-test-fo"):
        assert [hit([Limit("t:fo", 2, 60)], now=WINDOW_START) for _ in range(3)] == [0, 0, 60]


def test_a_peeked_limit_is_read_not_counted():
    failures = Limit("t:peek", 2, 60)
    assert hit([], peek=[failures], now=WINDOW_START) == 0
    hit([failures], now=WINDOW_START)
    assert hit([Limit("t:calls", 100, 60)], peek=[failures], now=WINDOW_START) == 0
    hit([failures], now=WINDOW_START)
    assert hit([Limit("t:calls", 100, 60)], peek=[failures], now=WINDOW_START + 10) == 50


@needs_redis
def test_on_redis_threads_counting_at_once_are_each_counted_once():
    """Each thread keeps a connection of its own (apps.core.ratelimit._connection): a shared
    one would mix up their replies."""
    with on_redis("ratelimit-test-threads"):
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
        client, key = _counter("t:threads")
        assert int(client.get(key)) == 200


@needs_redis
def test_on_redis_a_connection_the_server_closed_is_opened_again_without_failing_open(caplog):
    """Redis closes idle connections (its `timeout`) and forgets them on a restart: the next
    call still counts, rather than failing open for a few seconds."""
    with on_redis("ratelimit-test-closed"):
        limits = [Limit("t:closed", 1, 60)]
        assert hit(limits, now=WINDOW_START) == 0
        host, port = ratelimit._own.held[2]._sock.getsockname()[:2]
        client = caches["default"]._cache.get_client(write=True)
        assert client.client_kill(f"{host}:{port}")
        assert hit(limits, now=WINDOW_START) == 60
        assert "unavailable" not in caplog.text


# --- Leases (hit_leased): high limits counted without a round trip per call ------------------

@pytest.fixture
def redis_counters():
    """The Redis cache of production, emptied, and a count of the round trips made to it."""
    if not REDIS_URL:
        pytest.skip("needs REDIS_URL (use your own Redis database)")
    with on_redis("ratelimit-test-lease"):
        ratelimit.forget_leases()
        trips = []
        real = ratelimit._redis_counters

        def counting(cache, requests, steps):
            trips.append(steps)
            return real(cache, requests, steps)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ratelimit, "_redis_counters", counting)
            yield trips
        ratelimit.forget_leases()


def test_a_high_limit_is_counted_by_leases_of_a_thousandth(redis_counters):
    limits = [Limit("t:lease", 10_000, 60), Limit("t:lease-ip", 50_000, 60)]
    assert [ratelimit.hit_leased(limits, now=WINDOW_START) for _ in range(25)] == [0] * 25
    # The first call counts each counter exactly; the second reserves leases of 10 and 50;
    # the token's is refilled on calls 12 and 22.
    assert redis_counters == [[1, 1], [10, 50], [10], [10]]
    client, key = _counter("t:lease")
    assert int(client.get(key)) == 31  # Redis counts every reserved unit
    assert 0 < client.ttl(key) <= 61
    _, ip_key = _counter("t:lease-ip")
    assert int(client.get(ip_key)) == 51


def test_callers_seen_once_reserve_nothing_for_the_shared_budget(redis_counters):
    """Start-up calls come from many IPs, once each: a lease per IP would spend the token's
    budget on units nobody uses."""
    token = Limit("t:lease-token", 10_000, 60)
    for n in range(30):
        ip = Limit(f"t:lease-ip-{n}", 50_000, 60)
        assert ratelimit.hit_leased([token, ip], now=WINDOW_START) == 0
    client, key = _counter("t:lease-token")
    assert 30 <= int(client.get(key)) <= 30 + 9  # at most one lease unspent
    assert all(int(client.get(_counter(f"t:lease-ip-{n}")[1])) == 1 for n in range(30))


def test_a_leased_limit_is_never_exceeded_by_what_other_processes_reserved(redis_counters):
    limits = [Limit("t:lease-edge", 4_000, 60)]
    client, key = _counter("t:lease-edge")
    client.set(key, 3_998)  # other processes' calls and leases
    waits = [ratelimit.hit_leased(limits, now=WINDOW_START + 30) for _ in range(4)]
    assert waits == [0, 0, 30, 30]  # the two units left, then refused until the window ends
    assert int(client.get(key)) == 3_998 + 1 + 4 * 3  # refused calls reserve too: harmless


def test_threads_spending_leases_at_once_let_exactly_the_limit_through(redis_counters):
    limits = [Limit("t:lease-threads", 3_000, 60)]
    client, key = _counter("t:lease-threads")
    client.set(key, 2_900)
    start = threading.Barrier(8)

    def hits() -> list[int]:
        start.wait()
        return [ratelimit.hit_leased(limits, now=WINDOW_START) for _ in range(50)]

    with ThreadPoolExecutor(8) as pool:
        waits = [w for batch in pool.map(lambda _: hits(), range(8)) for w in batch]
    assert waits.count(0) == 100
    assert waits.count(60) == 300
    assert len(redis_counters) < 400  # leases were spent


def test_no_lease_while_a_peeked_counter_is_not_zero(redis_counters):
    failures = Limit("t:lease-failures", 60, 60)
    hit([failures], now=WINDOW_START)  # one failed look-up from this IP
    calls = [Limit("t:lease-calls", 50_000, 60)]
    for _ in range(5):
        assert ratelimit.hit_leased(calls, peek=[failures], now=WINDOW_START) == 0
    assert len(redis_counters) == 1 + 5  # the failure's, then a round trip per call
    client, key = _counter("t:lease-calls")
    assert int(client.get(key)) == 5  # one unit each


def test_a_failure_counted_here_is_read_by_the_next_call_that_peeks(redis_counters):
    failures = Limit("t:lease-void", 2, 60)
    calls = [Limit("t:lease-void-calls", 50_000, 60)]
    for _ in range(2):  # the second call reserves a lease of 50
        assert ratelimit.hit_leased(calls, peek=[failures], now=WINDOW_START) == 0
    hit([failures], now=WINDOW_START)
    hit([failures], now=WINDOW_START)  # the IP is now blocked
    assert ratelimit.hit_leased(calls, peek=[failures], now=WINDOW_START + 10) == 50
    assert len(redis_counters) == 5


def test_a_block_made_by_another_process_stops_this_one_within_its_lease(redis_counters):
    """The price of leases (see apps.core.ratelimit): at most the rest of one lease."""
    failures = Limit("t:lease-other", 2, 60)
    calls = [Limit("t:lease-other-calls", 10_000, 60)]
    for _ in range(2):  # the second call reserves a lease of 10: 9 units left
        assert ratelimit.hit_leased(calls, peek=[failures], now=WINDOW_START) == 0
    client, key = _counter("t:lease-other")
    client.set(key, 2)  # another process counted the failures that block the IP
    waits = [ratelimit.hit_leased(calls, peek=[failures], now=WINDOW_START) for _ in range(12)]
    assert waits == [0] * 9 + [60] * 3


@pytest.mark.parametrize("limit", [0, 1_999, 5])
def test_limits_too_small_for_a_lease_are_counted_exactly(redis_counters, limit):
    calls = [Limit("t:lease-small", limit, 60)]
    waits = [ratelimit.hit_leased(calls, now=WINDOW_START) for _ in range(8)]
    assert redis_counters == ([[1]] * 8 if limit else [])  # a limit of 0 is off: no trip
    assert waits == ([0] * 8 if limit != 5 else [0] * 5 + [60] * 3)


def test_on_the_local_cache_leased_limits_are_counted_exactly():
    local = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                         "LOCATION": "ratelimit-test-lease-local"}}
    with override_settings(CACHES=local):
        calls = [Limit("t:lease-local", 10_000, 60)]
        for _ in range(3):
            assert ratelimit.hit_leased(calls, now=WINDOW_START) == 0
        assert caches["default"].get(f"rl:t:lease-local:{int(WINDOW_START) // 60}") == 3
